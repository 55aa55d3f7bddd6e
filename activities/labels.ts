import { join } from 'node:path';
import { countBy } from '../lib/group.js';
import { InputError } from '../lib/errors.js';
import { LabelsParams, labelRowsTable, skippedRowsTable, type LabelRow, type SkippedRow } from '../schemas/labels.js';
import { DataDirContext } from '../schemas/params.js';
import { readLabelCatalog, type RawLabel } from './io/label-catalogs.js';
import { verifyRawFile } from './io/raw-file.js';
import { defineStage } from './stage.js';
import { sourcesTable } from '../schemas/tables.js';

/**
 * `labels`: one labelled catalog -> normalised label rows (name, position, class,
 * catalog, reference), every row it could not use reported with its line and reason.
 * The catalog's labels map to XClass classes through the configured label map (NULL:
 * kept, out of scope).
 */
export const labelsStage = defineStage({
  name: 'labels',
  version: 2,
  params: LabelsParams,
  // the MUWCLASS table's labels come from its validated `sources` artifact (one parser, and
  // a table that fails ingest leaves nothing behind); the other catalogs are read here
  inputs: { roles: { sources: { from: ['ingest'], optional: true } } },
  context: DataDirContext,
  tables: { data: labelRowsTable, skipped: skippedRowsTable },
  async run(ctx, p) {
    let raw: RawLabel[];
    let skipped: SkippedRow[] = [];
    if (p.format === 'muwclass') {
      const src = ctx.inputs.sources;
      if (!src)
        throw new Error(`labels ${p.name}: the MUWCLASS catalog is read from the ingested sources (input 'sources')`);
      const sources = await ctx.store.readTable(sourcesTable, src);
      raw = sources.map((s) => ({
        name: s.counterpart_name ?? s.id,
        alt_names: [s.id],
        ra_deg: s.ra_deg,
        dec_deg: s.dec_deg,
        class_raw: s.label_raw,
        reference: s.label_ref ?? p.reference,
        line: s.origin_line,
        is_xray: true, // the table's positions are the Chandra ones
        period_s: null,
        subclass: null,
        ids: { csc: s.id, gaia: null, twomass: null },
      }));
    } else {
      const { data_dir } = ctx.context;
      const path = join(data_dir, p.catalog.name);
      await verifyRawFile(p.catalog, path);
      const readme = p.readme ? join(data_dir, p.readme.name) : undefined;
      if (p.readme) await verifyRawFile(p.readme, readme!);
      ({ labels: raw, skipped } = await readLabelCatalog(
        path,
        { name: p.name, file: p.catalog.name, format: p.format, class: p.class, reference: p.reference },
        p.catalog.name,
        readme,
      ));
    }
    const rows: LabelRow[] = [];
    for (const r of raw) {
      if (!Object.hasOwn(p.label_map, r.class_raw)) {
        throw new InputError(
          { file: p.catalog.name, row: r.line, column: 'class', value: r.class_raw },
          `unknown label, expected one of ${Object.keys(p.label_map).join(', ')} (config labels.map)`,
        );
      }
      rows.push({
        name: r.name,
        alt_names: r.alt_names.join('|'),
        ra_deg: r.ra_deg,
        dec_deg: r.dec_deg,
        class: p.label_map[r.class_raw] ?? null,
        class_raw: r.class_raw,
        catalog: p.name,
        reference: r.reference,
        line: r.line,
        is_xray: r.is_xray,
        period_s: r.period_s,
        subclass: r.subclass,
        csc_name: r.ids.csc,
        gaia_id: r.ids.gaia,
        twomass_id: r.ids.twomass,
        members: 1,
      });
    }
    return {
      table: labelRowsTable,
      rows,
      extraTables: { skipped: { table: skippedRowsTable, rows: skipped } },
      rawFiles: [p.catalog, ...(p.readme ? [p.readme] : [])],
      notes: { rows: rows.length, skipped: skipped.length, by_class: countBy(rows, (r) => r.class_raw) },
    };
  },
});
