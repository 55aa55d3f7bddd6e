import { join } from 'node:path';
import { dedupe } from '../lib/sky/dedup.js';
import { groupBy } from '../lib/group.js';
import { crossMatch } from '../lib/sky/crossmatch.js';
import { InputError } from '../lib/errors.js';
import {
  CrossmatchParams,
  DedupParams,
  LabelsParams,
  ProvenanceParams,
  labelAgreementTable,
  labelProvenanceTable,
  labelRowsTable,
  labelStatusTable,
  type LabelAgreementRow,
  type LabelProvenanceRow,
  type LabelStatusRow,
  matchesTable,
  skippedRowsTable,
  type LabelRow,
  type MatchRow,
  type SkippedRow,
} from '../schemas/labels.js';
import { DataDirContext, NoContext } from '../schemas/params.js';
import { CrossmatchFacts, DedupFacts, ProvenanceFacts } from '../schemas/facts.js';
import { agreementOf, matchProvenance, type ProvenanceSource } from '../lib/sky/provenance.js';
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
  async run(ctx, p) {
    let raw: RawLabel[];
    let skipped: SkippedRow[] = [];
    if (p.format === 'muwclass') {
      const src = ctx.inputs.sources;
      if (!src) throw new Error(`labels ${p.name}: the MUWCLASS catalog is read from the ingested sources (input 'sources')`);
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
      notes: { rows: rows.length, skipped: skipped.length, by_class: countBy(rows.map((r) => r.class_raw)) },
    };
  },
});

/** The distinct values of merged rows (each possibly `|`-joined already), sorted and `|`-joined; null when none. */
function joinedDistinct(values: readonly (string | null)[]): string | null {
  const all = [...new Set(values.flatMap((v) => (v === null ? [] : v.split('|'))))].sort();
  return all.length > 0 ? all.join('|') : null;
}

function countBy(values: readonly (string | null)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v ?? 'null'] = (out[v ?? 'null'] ?? 0) + 1;
  return out;
}

/**
 * `dedup`: the label rows of every catalog, deduplicated within each class by
 * union-find (paper section 2.2); SNRs with the tighter radius and X-ray positions
 * preferred. Rows out of scope (class NULL) are deduplicated by their catalogue label.
 */
export const dedupStage = defineStage({
  name: 'dedup',
  version: 2,
  params: DedupParams,
  inputs: { roles: {}, pattern: { re: /^catalog_\d+$/, from: 'labels' } },
  context: NoContext,
  facts: DedupFacts,
  async run(ctx, p) {
    const all: LabelRow[] = [];
    for (const [, ref] of Object.entries(ctx.inputs).sort(([a], [b]) => (a < b ? -1 : 1)))
      for (const row of await ctx.store.readTable(labelRowsTable, ref)) all.push(row);
    const byClass = groupBy(all, (r) => r.class ?? `raw:${r.class_raw}`);
    const out: LabelRow[] = [];
    for (const [key, rows] of [...byClass.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const snr = key === 'SNR';
      const groups = dedupe(
        rows.map((r) => ({ ra_deg: r.ra_deg, dec_deg: r.dec_deg, names: [r.name, ...r.alt_names.split('|')].filter((s) => s !== ''), is_xray: r.is_xray })),
        { radius_arcsec: snr ? p.snr_radius_arcsec : p.radius_arcsec, always_merge_arcsec: p.always_merge_arcsec, prefer_xray: snr },
      );
      for (const g of groups) {
        const members = g.members.map((i) => rows[i]!);
        const names = [...new Set(members.flatMap((m) => [m.name, ...m.alt_names.split('|')]).filter((s) => s !== '' && s !== g.name))].sort();
        out.push({
          name: g.name,
          alt_names: names.join('|'),
          ra_deg: g.ra_deg,
          dec_deg: g.dec_deg,
          class: members[0]!.class,
          class_raw: members[0]!.class_raw,
          catalog: [...new Set(members.map((m) => m.catalog))].sort().join('|'),
          reference: [...new Set(members.map((m) => m.reference))].sort().join('|'),
          line: Math.min(...members.map((m) => m.line)),
          is_xray: members.some((m) => m.is_xray),
          period_s: members.find((m) => m.period_s !== null)?.period_s ?? null,
          subclass: joinedDistinct(members.map((m) => m.subclass)),
          csc_name: joinedDistinct(members.map((m) => m.csc_name)),
          gaia_id: joinedDistinct(members.map((m) => m.gaia_id)),
          twomass_id: joinedDistinct(members.map((m) => m.twomass_id)),
          members: members.reduce((s, m) => s + m.members, 0),
        });
      }
    }
    out.sort((a, b) => (a.class ?? '').localeCompare(b.class ?? '') || a.name.localeCompare(b.name) || a.ra_deg - b.ra_deg);
    return {
      table: labelRowsTable,
      rows: out,
      facts: {
        before: countBy(all.map((r) => r.class ?? `raw:${r.class_raw}`)),
        after: countBy(out.map((r) => r.class ?? `raw:${r.class_raw}`)),
      } satisfies DedupFacts,
    };
  },
});

/**
 * `crossmatch`: label positions against the X-ray sources (paper section 2.3). The
 * bundled X-ray table is the MUWCLASS one (CSC 2.0 positions with their 95% position
 * error as sigma_eff and S/N as significance). Per label: the best X-ray source, its
 * separation, nu and grade; notes count matches and class agreement.
 */
export const crossmatchStage = defineStage({
  name: 'crossmatch',
  version: 1,
  params: CrossmatchParams,
  inputs: { roles: { labels: { from: ['labels', 'dedup'] }, xray: { from: ['ingest'] } } },
  context: NoContext,
  facts: CrossmatchFacts,
  async run(ctx, p) {
    const labels = await ctx.store.readTable(labelRowsTable, ctx.inputs.labels);
    const xray = await ctx.store.readTable(sourcesTable, ctx.inputs.xray);
    const usable = xray.filter((s) => s.pos_err_95_arcsec !== null && s.significance !== null);
    const matches = crossMatch(
      labels,
      usable.map((s) => ({ ra_deg: s.ra_deg, dec_deg: s.dec_deg, sigma_eff_arcsec: s.pos_err_95_arcsec!, significance: s.significance! })),
      { min_significance: p.min_significance, min_radius_arcsec: p.min_radius_arcsec, radius_sigmas: p.radius_sigmas },
    );
    const rows: MatchRow[] = labels.map((l, i) => {
      const m = matches[i];
      const x = m ? usable[m.xray]! : null;
      return {
        name: l.name,
        class: l.class,
        catalog: l.catalog,
        ra_deg: l.ra_deg,
        dec_deg: l.dec_deg,
        xray_id: x?.id ?? null,
        xray_label: x?.label_raw ?? null,
        sep_arcsec: m?.sep_arcsec ?? null,
        sigma_eff_arcsec: x?.pos_err_95_arcsec ?? null,
        nu: m?.nu ?? null,
        quality: m?.quality ?? 'none',
        alternatives: m?.alternatives ?? 0,
      };
    });
    const byClass: Record<string, { labels: number; matched: number; secure: number; ambiguous: number; agree: number }> = {};
    rows.forEach((r, i) => {
      const k = r.class ?? 'out_of_scope';
      const c = (byClass[k] ??= { labels: 0, matched: 0, secure: 0, ambiguous: 0, agree: 0 });
      c.labels++;
      if (r.quality !== 'none') c.matched++;
      if (r.quality === 'secure') c.secure++;
      if (r.quality === 'ambiguous') c.ambiguous++;
      // agreement: the X-ray source's own MUWCLASS label is the label catalogue's class
      if (r.quality !== 'none' && r.xray_label === labels[i]!.class_raw) c.agree++;
    });
    return { table: matchesTable, rows, facts: { by_class: byClass, xray_sources: usable.length } satisfies CrossmatchFacts };
  },
});

/**
 * `provenance`: for every training source (in scope, labelled), every catalogue that
 * labels it, matched by the CSC 2.0 name a catalogue gives, else by position with the
 * method's cross-match rules (lib/sky/provenance.ts); each source's agreement (another
 * catalogue confirms its label, contradicts it, or none labels it) and the agreement
 * table, training label x each catalogue's label. Nothing is relabelled: the training
 * stage decides from this what to do with conflicts (config labels.conflicts).
 */
export const provenanceStage = defineStage({
  name: 'provenance',
  version: 2,
  params: ProvenanceParams,
  inputs: { roles: { sources: { from: ['ingest'] } }, pattern: { re: /^catalog_\d+$/, from: 'labels' } },
  context: NoContext,
  facts: ProvenanceFacts,
  async run(ctx, p) {
    const { sources: srcRef, ...catalogRefs } = ctx.inputs;
    const all = await ctx.store.readTable(sourcesTable, srcRef);
    // every X-ray source with a position error is a match candidate; only training sources receive labels
    const xray: ProvenanceSource[] = all
      .filter((s) => s.pos_err_95_arcsec !== null && s.significance !== null)
      .map((s) => ({
        id: s.id,
        label: s.in_scope ? s.label : null,
        ra_deg: s.ra_deg,
        dec_deg: s.dec_deg,
        sigma_eff_arcsec: s.pos_err_95_arcsec!,
        significance: s.significance!,
      }));
    const training = all.filter((s) => s.in_scope && s.label !== null);
    const labels: LabelRow[] = [];
    for (const [, ref] of Object.entries(catalogRefs).sort(([a], [b]) => (a < b ? -1 : 1)))
      for (const row of await ctx.store.readTable(labelRowsTable, ref)) if (row.catalog !== p.training_catalog) labels.push(row);
    const matches = matchProvenance(labels, xray, p);
    const byId = groupBy(matches, (m) => xray[m.source]!.id);
    const provenance: LabelProvenanceRow[] = [];
    const status: LabelStatusRow[] = [];
    const cells = new Map<string, number>();
    const byLabel: ProvenanceFacts['by_label'] = {};
    const cell = (label: string, catalog: string, catalogLabel: string) => {
      const k = `${label}\u0000${catalog}\u0000${catalogLabel}`;
      cells.set(k, (cells.get(k) ?? 0) + 1);
    };
    for (const s of [...training].sort((a, b) => a.id.localeCompare(b.id))) {
      const label = s.label!;
      provenance.push({
        id: s.id,
        label,
        catalog: p.training_catalog,
        name: s.counterpart_name ?? s.id,
        class: label,
        class_raw: s.label_raw,
        subclass: null,
        match_by: 'muwclass',
        sep_arcsec: null,
        nu: null,
        reference: s.label_ref ?? '',
      });
      const own = (byId.get(s.id) ?? []).map((m) => ({ m, l: labels[m.label]! }));
      // one catalogue may list a source twice (two rows within its radius): each row is kept, the agreement counts each catalogue once
      for (const { m, l } of own)
        provenance.push({
          id: s.id,
          label,
          catalog: l.catalog,
          name: l.name,
          class: l.class,
          class_raw: l.class_raw,
          subclass: l.subclass,
          match_by: m.by,
          sep_arcsec: m.sep_arcsec,
          nu: m.nu,
          reference: l.reference,
        });
      const agreement = agreementOf(
        label,
        own.map(({ l }) => l),
      );
      const catalogs = [...new Set(own.map(({ l }) => l.catalog))].sort();
      const shown = [...new Set(own.map(({ l }) => `${l.catalog}:${l.class ?? l.class_raw}${l.subclass ? `/${l.subclass}` : ''}`))].sort();
      status.push({ id: s.id, label, catalogs: catalogs.join('|'), labels: shown.join('|'), agreement });
      const b = (byLabel[label] ??= { sources: 0, agree: 0, conflict: 0, unconfirmed: 0 });
      b.sources++;
      b[agreement]++;
      if (catalogs.length === 0) cell(label, 'none', '');
      for (const c of catalogs)
        for (const cls of [...new Set(own.filter(({ l }) => l.catalog === c).map(({ l }) => l.class ?? l.class_raw))].sort()) cell(label, c, cls);
    }
    const agreementRows: LabelAgreementRow[] = [...cells].map(([k, sources]) => {
      const [label, catalog, catalog_label] = k.split('\u0000') as [string, string, string];
      return { label, catalog, catalog_label, sources };
    });
    agreementRows.sort((a, b) => a.label.localeCompare(b.label) || a.catalog.localeCompare(b.catalog) || a.catalog_label.localeCompare(b.catalog_label));
    const covered = [...new Set(labels.flatMap((l) => (l.class === null ? [] : [l.class])))].sort();
    return {
      table: labelProvenanceTable,
      rows: provenance,
      extraTables: { status: { table: labelStatusTable, rows: status }, agreement: { table: labelAgreementTable, rows: agreementRows } },
      notes: {
        matched_by_name: matches.filter((m) => m.by === 'name').length,
        matched_by_position: matches.filter((m) => m.by === 'position').length,
        conflicts: status.filter((r) => r.agreement === 'conflict').map((r) => `${r.id} ${r.label}: ${r.labels}`),
      },
      facts: { by_label: byLabel, covered_classes: covered } satisfies ProvenanceFacts,
    };
  },
});
