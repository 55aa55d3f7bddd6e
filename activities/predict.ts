import { imputeMatrix } from '../lib/features.js';
import { predictTwoStage } from '../lib/forest/two-stage.js';
import { selectRows } from './io/rows.js';
import { PredictParams, predictionsTable, probabilitiesTable } from '../schemas/model.js';
import { readFeatureRows } from './io/feature-matrix.js';
import {
  featuresTranslation,
  loadModel,
  modelNeighbourReference,
  predictionTables,
  type PredictionExtras,
} from './io/model.js';
import { neighbourScores } from '../lib/uncertainty/neighbours.js';
import { prepareTranslation } from './translation.js';
import { predictDraws, sourceDrawFeatures, xrayDrawFeatures } from './montecarlo.js';
import { sourcesTable } from '../schemas/tables.js';
import { DataDirContext } from '../schemas/params.js';
import { defineStage, yieldToEventLoop } from './stage.js';
import { sourcesFingerprint } from './io/model.js';

/**
 * `predict`: applies a trained two-stage model to a features artifact (every row, or
 * one stratified fold's held-out rows), imputing with the model's training medians.
 * Per source: final class, confidence of the deciding stage, uncertain flag; the full
 * probability vector and the Stage-1 probabilities in table `probabilities`. The
 * features may come from another translation than the model's training features (the
 * `deployment` protocol): the fold's training sources must then be the same, which is
 * checked, so no held-out source was trained on. Posterior draws are never predicted:
 * each source is scored on its translation (draw 0).
 */
export const predictStage = defineStage({
  name: 'predict',
  version: 3,
  params: PredictParams,
  inputs: {
    roles: {
      model: { from: ['train'] },
      features: { from: ['features'] },
      sources: { from: ['ingest'], optional: true },
    },
  },
  context: DataDirContext,
  tables: { data: predictionsTable, probabilities: probabilitiesTable },
  async run(ctx, p) {
    const { model, medians, trainedOn } = await loadModel(ctx.store, ctx.inputs.model);
    const data = await readFeatureRows(ctx.store, ctx.inputs.features);
    if (data.featureNames.join('|') !== model.featureNames.join('|')) {
      throw new Error(
        `predict: the features (${data.featureNames.length}: ${data.featureNames.join(', ')}) are not the model's ` +
          `(${model.featureNames.length}: ${model.featureNames.join(', ')})`,
      );
    }
    if (p.fold !== null) {
      const here = sourcesFingerprint(selectRows(data.ids, data.labels, p.fold, 'train').map((i) => data.ids[i]!));
      if (trainedOn !== here)
        throw new Error(
          `predict: the features' sources split into other folds than the model's training features (the two translations ` +
            `kept different sources), so held-out rows may have been trained on`,
        );
    }
    const pick = selectRows(data.ids, data.labels, p.fold, 'predict');
    const m = imputeMatrix(
      pick.map((i) => data.values[i]!),
      medians,
    );
    const fold = p.fold === null ? null : 'k' in p.fold ? p.fold.index : p.fold.part;
    const single = predictTwoStage(model, m);
    // how unlike its training sources each source is (lib/uncertainty/neighbours.ts)
    const reference = await modelNeighbourReference(ctx.store, ctx.inputs.model, p.ood_neighbours);
    const ood = neighbourScores(reference, m);
    let preds = single;
    let extras: PredictionExtras[] = single.map((_, i) => ({
      mc_draws: 0,
      significance: null,
      ood_score: ood[i]!,
      class_set: null,
      ood: null,
    }));
    if (p.mc.draws > 0) {
      if (!ctx.inputs.sources)
        throw new Error('predict: Monte-Carlo draws (mc.draws > 0) need the sources input (the raw measurements)');
      // X-ray-only features have no translation: their draws are of the fluxes alone
      const translation = data.spec.xray_only
        ? null
        : await prepareTranslation(
            ctx.context.data_dir,
            (await featuresTranslation(ctx.store, ctx.inputs.features)).settings,
          );
      const byId = new Map((await ctx.store.readTable(sourcesTable, ctx.inputs.sources)).map((s) => [s.id, s]));
      const drawRows: (number | null)[][][] = [];
      for (const [j, i] of pick.entries()) {
        const src = byId.get(data.ids[i]!);
        if (!src) throw new Error(`predict: source ${data.ids[i]} of the features is not in the sources input`);
        if (j % 50 === 0) ctx.progress(j, pick.length, `Monte-Carlo draws ${j}/${pick.length}`);
        drawRows.push(
          translation ? sourceDrawFeatures(translation, src, data.spec, p.mc) : xrayDrawFeatures(src, data.spec, p.mc),
        );
        // a source's draws take tens of milliseconds: let the heartbeat timer run between them (Temporal)
        if (j % 10 === 9) await yieldToEventLoop();
      }
      const mc = await predictDraws(model, medians, single, drawRows, ctx.trees);
      preds = mc.preds;
      extras = mc.extras.map((x, i) => ({ ...x, ood_score: ood[i]!, class_set: null, ood: null }));
    }
    const { rows, proba } = predictionTables(
      model,
      preds,
      pick.map((i) => ({ id: data.ids[i]!, label: data.labels[i]!, fold })),
      extras,
    );
    return {
      table: predictionsTable,
      rows,
      extraTables: { probabilities: { table: probabilitiesTable, rows: proba } },
      notes: {
        predicted: rows.length,
        final_classes: model.finalClasses,
        absent_classes: model.absentClasses,
        uncertain: rows.filter((r) => r.uncertain).length,
        mc_draws: p.mc.draws,
      },
    };
  },
});
