import { InputError } from '../lib/errors.js';
import { FileContext, IngestParams } from '../schemas/params.js';
import { sourcesTable, type SourceRow } from '../schemas/tables.js';
import { numberField, textField } from './io/csv.js';
import { MUWCLASS_ID, readMuwclass } from './io/muwclass.js';
import { verifyRawFile } from './io/raw-file.js';
import { defineStage } from './stage.js';

/** `sources` column <- MUWCLASS column, for the numeric measurements (units in the data README). */
const NUMERIC_COLUMNS = [
  ['pos_err_95_arcsec', 'CSCv2_PU'],
  ['significance', 'CSCv2_S/N'],
  ['flux_s_cgs', 'Fs'],
  ['flux_s_err_cgs', 'e_Fs'],
  ['flux_m_cgs', 'Fm'],
  ['flux_m_err_cgs', 'e_Fm'],
  ['flux_h_cgs', 'Fh'],
  ['flux_h_err_cgs', 'e_Fh'],
  ['flux_b_cgs', 'Fb'],
  ['flux_b_err_cgs', 'e_Fb'],
  ['var_p_intra', 'P_intra'],
  ['var_p_inter', 'P_inter'],
  ['gaia_g_mag', 'Gmag'],
  ['gaia_g_err_mag', 'e_Gmag'],
  ['gaia_bp_mag', 'BPmag'],
  ['gaia_bp_err_mag', 'e_BPmag'],
  ['gaia_rp_mag', 'RPmag'],
  ['gaia_rp_err_mag', 'e_RPmag'],
  ['tmass_j_mag', 'Jmag'],
  ['tmass_j_err_mag', 'e_Jmag'],
  ['tmass_h_mag', 'Hmag'],
  ['tmass_h_err_mag', 'e_Hmag'],
  ['tmass_ks_mag', 'Kmag'],
  ['tmass_ks_err_mag', 'e_Kmag'],
  ['wise_w1_mag', 'W1mag'],
  ['wise_w1_err_mag', 'e_W1mag'],
  ['wise_w2_mag', 'W2mag'],
  ['wise_w2_err_mag', 'e_W2mag'],
  ['wise_w3_mag', 'W3mag'],
  ['wise_w3_err_mag', 'e_W3mag'],
  ['parallax_mas', 'Plx'],
  ['parallax_err_mas', 'e_Plx'],
  ['pm_total_masyr', 'PM'],
  ['dist_geo_pc', 'rgeo'],
  ['dist_geo_lo_pc', 'b_rgeo'],
  ['dist_geo_hi_pc', 'B_rgeo'],
] as const satisfies readonly (readonly [keyof SourceRow, string])[];

const FLUX_COLUMNS = new Set(['Fs', 'e_Fs', 'Fm', 'e_Fm', 'Fh', 'e_Fh', 'Fb', 'e_Fb']);

const REQUIRED = ['CSCv2_RA', 'CSCv2_DEC', 'True_Class', 'Class_ref', 'Catalog_name', 'CSCv2_flags', ...NUMERIC_COLUMNS.map(([, c]) => c)];

/**
 * `ingest`: the MUWCLASS training table -> `sources`. Labels are mapped to the XClass
 * classes by the configured map; labels mapped to null (YSO, NS) are kept with
 * `in_scope = false`. The competitor's predictions are not read here (see `reference`).
 */
export const ingestStage = defineStage({
  name: 'ingest',
  version: 2,
  params: IngestParams,
  inputs: [],
  async run(ctx, params) {
    const { path } = FileContext.parse(ctx.context);
    await verifyRawFile(params.catalog, path);
    const file = params.catalog.name;
    const table = await readMuwclass(path, file, REQUIRED);
    const rows: SourceRow[] = [];
    const outOfScope: Record<string, number> = {};
    for (let i = 0; i < table.records.length; i++) {
      const line = table.lines[i]!;
      const rawLabel = textField(table, i, 'True_Class');
      if (rawLabel === null) throw new InputError({ file, row: line, column: 'True_Class', value: '' }, 'expected a class label');
      if (!Object.hasOwn(params.label_map, rawLabel)) {
        throw new InputError({ file, row: line, column: 'True_Class', value: rawLabel }, `unknown label, expected one of ${Object.keys(params.label_map).join(', ')} (config labels.map)`);
      }
      const label = params.label_map[rawLabel] ?? null;
      if (label === null) outOfScope[rawLabel] = (outOfScope[rawLabel] ?? 0) + 1;
      const ra = requiredNumber(table, i, 'CSCv2_RA', (v) => v >= 0 && v < 360, 'expected right ascension in degrees, 0 <= RA < 360');
      const dec = requiredNumber(table, i, 'CSCv2_DEC', (v) => v >= -90 && v <= 90, 'expected declination in degrees, -90 <= Dec <= 90');
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
      for (const [out, col] of NUMERIC_COLUMNS) {
        const v = numberField(table, i, col);
        if (v !== null && FLUX_COLUMNS.has(col) && v < 0) throw new InputError({ file, row: line, column: col, value: v }, 'expected a non-negative flux in erg/s/cm^2');
        row[out] = v;
      }
      rows.push(row as SourceRow);
      if (i % 1000 === 0) ctx.progress(i, table.records.length);
    }
    const byLabel: Record<string, number> = {};
    for (const r of rows) byLabel[r.label_raw] = (byLabel[r.label_raw] ?? 0) + 1;
    return {
      table: sourcesTable,
      rows,
      rawFiles: [params.catalog],
      notes: { rows_read: table.records.length, by_label_raw: byLabel, out_of_scope: outOfScope },
    };
  },
});

function requiredNumber(table: Parameters<typeof numberField>[0], i: number, column: string, ok: (v: number) => boolean, expected: string): number {
  const v = numberField(table, i, column);
  if (v === null || !ok(v)) throw new InputError({ file: table.file, row: table.lines[i], column, value: table.records[i]![column] ?? '' }, expected);
  return v;
}
