import { imputeMatrix } from '../lib/features.js';
import { deserializeTwoStage, predictTwoStage } from '../lib/forest/two-stage.js';
import { selectRows } from './io/rows.js';
import { PredictParams, predictionsTable, probabilitiesTable, type ModelFeatureRow, type PredictionRow, type ProbabilityRow } from '../schemas/model.js';
import { readFeatureRows } from './io/feature-matrix.js';
import { defineStage } from './stage.js';
import { MODEL_FILE } from './train.js';

/**
 * `predict`: applies a trained two-stage model to a features artifact (every row, or
 * one stratified fold's held-out rows), imputing with the model's training medians.
 * Per source: final class, confidence of the deciding stage, uncertain flag; the full
 * probability vector and the Stage-1 probabilities in table `probabilities`.
 */
export const predictStage = defineStage({
  name: 'predict',
  version: 1,
  params: PredictParams,
  inputs: ['model', 'features'],
  async run(ctx, p) {
    const modelRef = ctx.inputs['model']!;
    const model = deserializeTwoStage(await ctx.store.readFile(modelRef.stage, modelRef.id, MODEL_FILE));
    const info = (await ctx.store.readTable(modelRef.stage, modelRef.id)) as ModelFeatureRow[];
    const data = await readFeatureRows(ctx.store, ctx.inputs['features']!);
    if (data.featureNames.join('|') !== model.featureNames.join('|')) {
      throw new Error(`predict: the features (${data.featureNames.length}: ${data.featureNames.join(', ')}) are not the model's (${model.featureNames.length}: ${model.featureNames.join(', ')})`);
    }
    const medians = info.filter((r) => r.stage === 'stage1').sort((a, b) => a.column - b.column).map((r) => r.impute_median);
    const pick = selectRows(data.ids, data.labels, p.fold, 'predict');
    const m = imputeMatrix(pick.map((i) => data.values[i]!), medians);
    const preds = predictTwoStage(model, m);
    const rows: PredictionRow[] = [];
    const proba: ProbabilityRow[] = [];
    preds.forEach((pr, j) => {
      const i = pick[j]!;
      const id = data.ids[i]!;
      rows.push({ id, label: data.labels[i]!, final_class: pr.finalClass, confidence: clamp01(pr.confidence), uncertain: pr.uncertain, decided_by: pr.decidedBy, fold: p.fold === null ? null : 'k' in p.fold ? p.fold.index : p.fold.part });
      model.finalClasses.forEach((c, k) => proba.push({ id, stage: 'final', class: c, p: clamp01(pr.proba[k]!) }));
      model.groups.forEach((g, k) => proba.push({ id, stage: 'stage1', class: g, p: clamp01(pr.stage1Proba[k]!) }));
    });
    return {
      table: predictionsTable,
      rows,
      extraTables: { probabilities: { table: probabilitiesTable, rows: proba } },
      notes: { predicted: rows.length, final_classes: model.finalClasses, absent_classes: model.absentClasses, uncertain: rows.filter((r) => r.uncertain).length },
    };
  },
});

/** Sums of floating-point probabilities can exceed 1 by an ulp. */
function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}
