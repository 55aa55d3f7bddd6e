import { InputError } from '../lib/errors.js';
import { FileContext, IngestParams } from '../schemas/params.js';
import { sourcesTable, type SourceRow } from '../schemas/tables.js';
import { measurementField, textField, type CsvTable } from './io/formats/csv.js';
import { checkClass, COLUMN_KINDS, type NoDataCounts } from './io/validate.js';
import { MUWCLASS_ID, MUWCLASS_NUMERIC_COLUMNS, readMuwclass, REFERENCE_COLUMNS, referenceRow } from './io/muwclass.js';
import { verifyRawFile } from './io/raw-file.js';
import { defineStage } from './stage.js';

const REQUIRED = [
  'CSCv2_RA',
  'CSCv2_DEC',
  'True_Class',
  'Class_ref',
  'Catalog_name',
  'CSCv2_flags',
  ...MUWCLASS_NUMERIC_COLUMNS.map(([, c]) => c),
  ...REFERENCE_COLUMNS,
];

/**
 * `ingest`: the MUWCLASS training table -> `sources`. Labels are mapped to the XClass
 * classes by the configured map; labels mapped to null (YSO, NS) are kept with
 * `in_scope = false`. The competitor's predictions are not read here (see `reference`).
 */
export const ingestStage = defineStage({
  name: 'ingest',
  version: 3,
  params: IngestParams,
  inputs: { roles: {} },
  context: FileContext,
  tables: { data: sourcesTable },
  async run(ctx, params) {
    const { path } = ctx.context;
    await verifyRawFile(params.catalog, path);
    const file = params.catalog.name;
    const table = await readMuwclass(path, file, REQUIRED);
    const rows: SourceRow[] = [];
    const noData = params.no_data ?? [];
    const noDataCounts: NoDataCounts = {};
    const outOfScope: Record<string, number> = {};
    for (let i = 0; i < table.records.length; i++) {
      const line = table.lines[i]!;
      const rawLabel = textField(table, i, 'True_Class');
      if (rawLabel === null)
        throw new InputError({ file, row: line, column: 'True_Class', value: '' }, 'expected a class label');
      checkClass({ file, row: line, column: 'True_Class' }, rawLabel, params.label_map);
      const label = params.label_map[rawLabel] ?? null;
      if (label === null) outOfScope[rawLabel] = (outOfScope[rawLabel] ?? 0) + 1;
      const ra = requiredPosition(table, i, 'CSCv2_RA', 'ra_deg');
      const dec = requiredPosition(table, i, 'CSCv2_DEC', 'dec_deg');
      const row: Record<string, unknown> = {
        id: textField(table, i, MUWCLASS_ID)!,
        ra_deg: ra,
        dec_deg: dec,
        label,
        label_raw: rawLabel,
        in_scope: label !== null,
        label_ref: textField(table, i, 'Class_ref'),
        counterpart_name: textField(table, i, 'Catalog_name'),
        origin_catalog: 'MUWCLASS_TD_2022',
        origin_line: line,
        xray_flags: textField(table, i, 'CSCv2_flags'),
        // the MUWCLASS table has neither Pan-STARRS photometry nor spectral types
        spectral_type: null,
        ps1_g_mag: null,
        ps1_g_err_mag: null,
        ps1_r_mag: null,
        ps1_r_err_mag: null,
        ps1_i_mag: null,
        ps1_i_err_mag: null,
        ps1_z_mag: null,
        ps1_z_err_mag: null,
        ps1_y_mag: null,
        ps1_y_err_mag: null,
      };
      for (const [out, col, kind] of MUWCLASS_NUMERIC_COLUMNS)
        row[out] = measurementField(table, i, col, kind, noData, noDataCounts);
      // the competitor's columns are stored by `reference`; checked here so a bad one leaves no artifact from this file
      if (params.no_data) referenceRow(table, i, { pipeline: '', labelMap: params.label_map, noData, counts: {} });
      rows.push(row as SourceRow);
      if (i % 1000 === 0) ctx.progress(i, table.records.length);
    }
    const byLabel: Record<string, number> = {};
    for (const r of rows) byLabel[r.label_raw] = (byLabel[r.label_raw] ?? 0) + 1;
    return {
      table: sourcesTable,
      rows,
      rawFiles: [params.catalog],
      notes: {
        rows_read: table.records.length,
        by_label_raw: byLabel,
        out_of_scope: outOfScope,
        no_data_by_column: noDataCounts,
      },
    };
  },
});

function requiredPosition(table: CsvTable, i: number, column: string, kind: 'ra_deg' | 'dec_deg'): number {
  const v = measurementField(table, i, column, kind, [], {});
  if (v === null)
    throw new InputError(
      { file: table.file, row: table.lines[i], column, value: '' },
      `expected ${COLUMN_KINDS[kind].expected}`,
    );
  return v;
}
