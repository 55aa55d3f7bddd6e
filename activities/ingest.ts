import { InputError } from '../lib/errors.js';
import { FileContext, IngestParams } from '../schemas/params.js';
import { sourcesTable, type SourceRow } from '../schemas/tables.js';
import { measurementField, textField, type CsvTable } from './io/csv.js';
import { checkClass, COLUMN_KINDS, type ColumnKind, type NoDataCounts } from './io/validate.js';
import { MUWCLASS_ID, readMuwclass, REFERENCE_COLUMNS, referenceRow } from './io/muwclass.js';
import { verifyRawFile } from './io/raw-file.js';
import { defineStage } from './stage.js';

/** `sources` column <- MUWCLASS column and its kind (range, no-data markers), for the numeric measurements (units in the data README). */
const NUMERIC_COLUMNS = [
  ['pos_err_95_arcsec', 'CSCv2_PU', 'pos_err_arcsec'],
  ['significance', 'CSCv2_S/N', 'significance'],
  ['flux_s_cgs', 'Fs', 'flux_cgs'],
  ['flux_s_err_cgs', 'e_Fs', 'flux_err_cgs'],
  ['flux_m_cgs', 'Fm', 'flux_cgs'],
  ['flux_m_err_cgs', 'e_Fm', 'flux_err_cgs'],
  ['flux_h_cgs', 'Fh', 'flux_cgs'],
  ['flux_h_err_cgs', 'e_Fh', 'flux_err_cgs'],
  ['flux_b_cgs', 'Fb', 'flux_cgs'],
  ['flux_b_err_cgs', 'e_Fb', 'flux_err_cgs'],
  ['var_p_intra', 'P_intra', 'probability'],
  ['var_p_inter', 'P_inter', 'probability'],
  ['gaia_g_mag', 'Gmag', 'mag'],
  ['gaia_g_err_mag', 'e_Gmag', 'mag_err'],
  ['gaia_bp_mag', 'BPmag', 'mag'],
  ['gaia_bp_err_mag', 'e_BPmag', 'mag_err'],
  ['gaia_rp_mag', 'RPmag', 'mag'],
  ['gaia_rp_err_mag', 'e_RPmag', 'mag_err'],
  ['tmass_j_mag', 'Jmag', 'mag'],
  ['tmass_j_err_mag', 'e_Jmag', 'mag_err'],
  ['tmass_h_mag', 'Hmag', 'mag'],
  ['tmass_h_err_mag', 'e_Hmag', 'mag_err'],
  ['tmass_ks_mag', 'Kmag', 'mag'],
  ['tmass_ks_err_mag', 'e_Kmag', 'mag_err'],
  ['wise_w1_mag', 'W1mag', 'mag'],
  ['wise_w1_err_mag', 'e_W1mag', 'mag_err'],
  ['wise_w2_mag', 'W2mag', 'mag'],
  ['wise_w2_err_mag', 'e_W2mag', 'mag_err'],
  ['wise_w3_mag', 'W3mag', 'mag'],
  ['wise_w3_err_mag', 'e_W3mag', 'mag_err'],
  ['parallax_mas', 'Plx', 'parallax_mas'],
  ['parallax_err_mas', 'e_Plx', 'parallax_err_mas'],
  ['pm_total_masyr', 'PM', 'pm_masyr'],
  ['dist_geo_pc', 'rgeo', 'distance_pc'],
  ['dist_geo_lo_pc', 'b_rgeo', 'distance_pc'],
  ['dist_geo_hi_pc', 'B_rgeo', 'distance_pc'],
] as const satisfies readonly (readonly [keyof SourceRow, string, ColumnKind])[];

const REQUIRED = [
  'CSCv2_RA',
  'CSCv2_DEC',
  'True_Class',
  'Class_ref',
  'Catalog_name',
  'CSCv2_flags',
  ...NUMERIC_COLUMNS.map(([, c]) => c),
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
      if (rawLabel === null) throw new InputError({ file, row: line, column: 'True_Class', value: '' }, 'expected a class label');
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
      for (const [out, col, kind] of NUMERIC_COLUMNS) row[out] = measurementField(table, i, col, kind, noData, noDataCounts);
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
      notes: { rows_read: table.records.length, by_label_raw: byLabel, out_of_scope: outOfScope, no_data_by_column: noDataCounts },
    };
  },
});

function requiredPosition(table: CsvTable, i: number, column: string, kind: 'ra_deg' | 'dec_deg'): number {
  const v = measurementField(table, i, column, kind, [], {});
  if (v === null) throw new InputError({ file: table.file, row: table.lines[i], column, value: '' }, `expected ${COLUMN_KINDS[kind].expected}`);
  return v;
}
