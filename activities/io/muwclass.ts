import { measurementField, readCsv, requireColumns, textField, type CsvTable } from './formats/csv.js';
import { checkClass, type ColumnKind, type NoDataCounts } from './validate.js';
import type { ReferencePredictionRow, SourceRow } from '../../schemas/tables.js';
import { InputError } from '../../lib/errors.js';

/** The MUWCLASS training table's identifier column (Yang et al. 2022, td.dat). */
export const MUWCLASS_ID = 'CSCv2_name';

/** `sources` column <- MUWCLASS column and its kind (range, no-data markers), for the numeric measurements (units in the data README). */
export const MUWCLASS_NUMERIC_COLUMNS = [
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

/** The MUWCLASS column of a `sources` column, for the numeric measurements. */
export const MUWCLASS_COLUMN_OF: Partial<Record<keyof SourceRow, string>> = Object.fromEntries(
  MUWCLASS_NUMERIC_COLUMNS.map(([out, col]) => [out, col]),
);

/**
 * Reads the MUWCLASS table and checks what every consumer relies on: the required
 * columns exist and source ids are present and unique.
 */
export async function readMuwclass(
  path: string,
  displayName: string,
  requiredColumns: readonly string[],
): Promise<CsvTable> {
  const table = await readCsv(path, displayName);
  requireColumns(table, [MUWCLASS_ID, ...requiredColumns]);
  const seen = new Map<string, number>();
  table.records.forEach((r, i) => {
    const id = r[MUWCLASS_ID];
    const line = table.lines[i]!;
    if (id === null || id === undefined)
      throw new InputError({ file: displayName, row: line, column: MUWCLASS_ID, value: '' }, 'expected a source id');
    const before = seen.get(id);
    if (before !== undefined)
      throw new InputError(
        { file: displayName, row: line, column: MUWCLASS_ID, value: id },
        `duplicate source id (first on line ${before})`,
      );
    seen.set(id, line);
  });
  return table;
}

const PROBABILITY_COLUMNS = [
  ['p_agn', 'P_AGN'],
  ['p_cv', 'P_CV'],
  ['p_hm_star', 'P_HM-STAR'],
  ['p_hmxb', 'P_HMXB'],
  ['p_lm_star', 'P_LM-STAR'],
  ['p_lmxb', 'P_LMXB'],
  ['p_ns', 'P_NS'],
  ['p_yso', 'P_YSO'],
] as const satisfies readonly (readonly [keyof ReferencePredictionRow, string])[];

/** The competitor's prediction columns of the MUWCLASS table (`Class`, `Class_prob`, `CT`, `P_*`). */
export const REFERENCE_COLUMNS = [
  'Class',
  'Class_prob',
  'e_Class_prob',
  'CT',
  ...PROBABILITY_COLUMNS.map(([, c]) => c),
];

/**
 * One row's competitor prediction, validated: the class a label the map knows (when a
 * map is given), probabilities in 0-1, no-data sentinels counted. `ingest` runs it on
 * every row too, so a bad prediction column rejects the table before any artifact is
 * made from it.
 */
export function referenceRow(
  table: CsvTable,
  i: number,
  opts: {
    pipeline: string;
    labelMap: Readonly<Record<string, unknown>> | null;
    noData: readonly number[];
    counts: NoDataCounts;
  },
): ReferencePredictionRow {
  const predicted = textField(table, i, 'Class');
  if (predicted === null)
    throw new InputError(
      { file: table.file, row: table.lines[i], column: 'Class', value: '' },
      'expected the reference pipeline class',
    );
  if (opts.labelMap) checkClass({ file: table.file, row: table.lines[i]!, column: 'Class' }, predicted, opts.labelMap);
  const prob = (column: string) => measurementField(table, i, column, 'probability', opts.noData, opts.counts);
  const row: Record<string, unknown> = {
    id: textField(table, i, MUWCLASS_ID)!,
    pipeline: opts.pipeline,
    predicted_class: predicted,
    predicted_prob: prob('Class_prob'),
    predicted_prob_err: prob('e_Class_prob'),
    confidence_threshold: measurementField(table, i, 'CT', 'nonnegative', opts.noData, opts.counts),
  };
  for (const [out, col] of PROBABILITY_COLUMNS) row[out] = prob(col);
  return row as ReferencePredictionRow;
}
