import { measurementField, readCsv, requireColumns, textField, type CsvTable } from './csv.js';
import { checkClass, type NoDataCounts } from './validate.js';
import type { ReferencePredictionRow } from '../../schemas/tables.js';
import { InputError } from '../../lib/errors.js';

/** The MUWCLASS training table's identifier column (Yang et al. 2022, td.dat). */
export const MUWCLASS_ID = 'CSCv2_name';

/**
 * Reads the MUWCLASS table and checks what every consumer relies on: the required
 * columns exist and source ids are present and unique.
 */
export async function readMuwclass(path: string, displayName: string, requiredColumns: readonly string[]): Promise<CsvTable> {
  const table = await readCsv(path, displayName);
  requireColumns(table, [MUWCLASS_ID, ...requiredColumns]);
  const seen = new Map<string, number>();
  table.records.forEach((r, i) => {
    const id = r[MUWCLASS_ID];
    const line = table.lines[i]!;
    if (id === null || id === undefined) throw new InputError({ file: displayName, row: line, column: MUWCLASS_ID, value: '' }, 'expected a source id');
    const before = seen.get(id);
    if (before !== undefined)
      throw new InputError({ file: displayName, row: line, column: MUWCLASS_ID, value: id }, `duplicate source id (first on line ${before})`);
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
export const REFERENCE_COLUMNS = ['Class', 'Class_prob', 'e_Class_prob', 'CT', ...PROBABILITY_COLUMNS.map(([, c]) => c)];

/**
 * One row's competitor prediction, validated: the class a label the map knows (when a
 * map is given), probabilities in 0-1, no-data sentinels counted. `ingest` runs it on
 * every row too, so a bad prediction column rejects the table before any artifact is
 * made from it.
 */
export function referenceRow(
  table: CsvTable,
  i: number,
  opts: { pipeline: string; labelMap: Readonly<Record<string, unknown>> | null; noData: readonly number[]; counts: NoDataCounts },
): ReferencePredictionRow {
  const predicted = textField(table, i, 'Class');
  if (predicted === null) throw new InputError({ file: table.file, row: table.lines[i], column: 'Class', value: '' }, 'expected the reference pipeline class');
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
