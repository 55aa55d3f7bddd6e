import { FileContext, ReferenceParams } from '../schemas/params.js';
import { referencePredictionsTable, type ReferencePredictionRow } from '../schemas/tables.js';
import { numberField, textField } from './io/csv.js';
import { InputError } from '../lib/errors.js';
import { MUWCLASS_ID, readMuwclass } from './io/muwclass.js';
import { verifyRawFile } from './io/raw-file.js';
import { defineStage } from './stage.js';

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

/**
 * `reference`: the competitor's own predictions from the MUWCLASS table (`Class`,
 * `Class_prob`, `CT`, `P_*`) -> `reference_predictions`. They are kept out of
 * `sources` so they can never become features. Depends on `ingest`, so a catalog that
 * fails ingest leaves no artifact from this file at all.
 */
export const referenceStage = defineStage({
  name: 'reference',
  version: 1,
  params: ReferenceParams,
  inputs: ['sources'],
  async run(ctx, params) {
    const { path } = FileContext.parse(ctx.context);
    await verifyRawFile(params.catalog, path);
    const required = ['Class', 'Class_prob', 'e_Class_prob', 'CT', ...PROBABILITY_COLUMNS.map(([, c]) => c)];
    const table = await readMuwclass(path, params.catalog.name, required);
    // predictions are kept only for sources that ingest accepted, so both tables share ids
    const sourceIds = new Set((await ctx.store.readTable(ctx.inputs['sources']!.stage, ctx.inputs['sources']!.id)).map((r) => r['id'] as string));
    const rows: ReferencePredictionRow[] = table.records.map((_, i) => {
      const predicted = textField(table, i, 'Class');
      if (predicted === null) throw new InputError({ file: table.file, row: table.lines[i], column: 'Class', value: '' }, 'expected the reference pipeline class');
      const id = textField(table, i, MUWCLASS_ID)!;
      if (!sourceIds.has(id)) throw new InputError({ file: table.file, row: table.lines[i], column: MUWCLASS_ID, value: id }, 'source id not in the ingested sources');
      const row: Record<string, unknown> = {
        id,
        pipeline: params.pipeline,
        predicted_class: predicted,
        predicted_prob: numberField(table, i, 'Class_prob'),
        predicted_prob_err: numberField(table, i, 'e_Class_prob'),
        confidence_threshold: numberField(table, i, 'CT'),
      };
      for (const [out, col] of PROBABILITY_COLUMNS) row[out] = numberField(table, i, col);
      return row as ReferencePredictionRow;
    });
    return { table: referencePredictionsTable, rows, rawFiles: [params.catalog], notes: { rows_read: rows.length } };
  },
});
