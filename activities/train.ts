import { imputationValues, imputeMatrix } from '../lib/features.js';
import { featureImportances } from '../lib/forest/forest.js';
import type { Forest } from '../lib/forest/types.js';
import { fitTwoStage, serializeTwoStage } from '../lib/forest/two-stage.js';
import { selectRows } from './io/rows.js';
import { modelFeaturesTable, TrainParams, type ModelFeatureRow } from '../schemas/model.js';
import { readFeatureRows } from './io/feature-matrix.js';
import { MODEL_FILE, sourcesFingerprint } from './io/model.js';
import { NoContext } from '../schemas/params.js';
import { TrainFacts } from '../schemas/facts.js';
import { defineStage } from './stage.js';
import type { ArtifactStore } from '../artifacts/store.js';
import type { ArtifactRef } from '../schemas/step.js';
import { ProvenanceFacts } from '../schemas/facts.js';
import { labelStatusTable } from '../schemas/labels.js';
import { trainedUnder } from '../lib/sky/provenance.js';

/**
 * The fold's training rows under a label policy (params label_policy, the provenance
 * input): the rows whose label provenance the policy accepts (lib/sky/provenance.ts).
 * Without a policy, every row of the fold.
 */
async function withLabelPolicy(
  ctx: { store: ArtifactStore; inputs: { provenance?: ArtifactRef<'provenance'> } },
  p: TrainParams,
  rows: number[],
  ids: readonly string[],
): Promise<number[]> {
  const ref = ctx.inputs.provenance;
  if (!p.label_policy && !ref) return rows;
  if (!p.label_policy || !ref)
    throw new Error(
      `train: params label_policy and input provenance go together (got ${p.label_policy ?? 'no policy'}, ${ref ? 'an input' : 'no input'})`,
    );
  const facts = await ctx.store.readFacts(ProvenanceFacts, ref);
  const covered = new Set(facts.covered_classes);
  const status = new Map((await ctx.store.readTable(labelStatusTable, ref, 'status')).map((r) => [r.id, r]));
  return rows.filter((i) => {
    const s = status.get(ids[i]!);
    if (!s) throw new Error(`train: source ${ids[i]} has no label provenance in ${ref.stage}/${ref.id}`);
    return trainedUnder(p.label_policy!, s.label, s.agreement, covered);
  });
}

/** The rows of `all` not in `kept`. */
function leftOut(all: readonly number[], kept: readonly number[]): number[] {
  const k = new Set(kept);
  return all.filter((i) => !k.has(i));
}

/**
 * `train`: the two-stage random forest on a features artifact, on every row or on all
 * but one stratified fold. Imputation medians are computed from the training rows
 * only and travel with the model (table rows with `impute_median`), so prediction
 * applies exactly the same filling. When the features hold SED posterior draws, the
 * model is trained on the draws of the training sources (each source's draws bootstrapped
 * together), not on the single translation.
 */
export const trainStage = defineStage({
  name: 'train',
  version: 3,
  params: TrainParams,
  inputs: { roles: { features: { from: ['features'] }, provenance: { from: ['provenance'], optional: true } } },
  context: NoContext,
  tables: { data: modelFeaturesTable },
  facts: TrainFacts,
  async run(ctx, p) {
    const data = await readFeatureRows(ctx.store, ctx.inputs.features);
    const fold = selectRows(data.ids, data.labels, p.fold, 'train');
    const train = await withLabelPolicy(ctx, p, fold, data.ids);
    const fromDraws = data.draws.length > 0;
    let rows: (number | null)[][];
    let labels: string[];
    let groups: Int32Array | undefined;
    if (fromDraws) {
      const inTrain = new Set(train);
      const picked = data.draws.filter((d) => inTrain.has(d.source));
      rows = picked.map((d) => d.values);
      labels = picked.map((d) => data.labels[d.source]!);
      groups = Int32Array.from(picked, (d) => d.source);
    } else {
      rows = train.map((i) => data.values[i]!);
      labels = train.map((i) => data.labels[i]!);
    }
    // training medians; the distance features' missing values below their range (lib/features.ts imputationValues)
    const medians = imputationValues(data.featureNames, rows);
    const m = imputeMatrix(rows, medians);
    ctx.progress(0, 2, 'fitting');
    const model = await fitTwoStage(m, labels, data.featureNames, p.model, ctx.trees, groups);
    ctx.progress(1, 2, 'fitted');
    // per stage and feature: Gini importance; Stage 1's features carry their imputation medians
    const featureRows = (stage: 'stage1' | 'stage2', forest: Forest, imputed: boolean): ModelFeatureRow[] => {
      const imp = featureImportances(forest);
      return forest.featureNames.map((feature, column) => ({
        stage,
        feature,
        column,
        importance_mean: imp.mean[column]!,
        importance_std: imp.std[column]!,
        impute_median: imputed ? (medians[column] ?? null) : null,
        n_imputed: imputed ? m.imputed[column]! : null,
      }));
    };
    const out = featureRows('stage1', model.stage1, true);
    if (model.stage2) out.push(...featureRows('stage2', model.stage2, false));
    const byClass: Record<string, number> = {};
    for (const l of labels) byClass[l] = (byClass[l] ?? 0) + 1;
    return {
      table: modelFeaturesTable,
      rows: out,
      extraFiles: { [MODEL_FILE]: serializeTwoStage(model) },
      facts: {
        feature_spec: data.spec,
        training_sources_sha256: sourcesFingerprint(fold.map((i) => data.ids[i]!)),
      } satisfies TrainFacts,
      notes: {
        training_sources: train.length,
        ...(p.label_policy
          ? { label_policy: p.label_policy, left_out_by_label_policy: leftOut(fold, train).map((i) => data.ids[i]!) }
          : {}),
        training_rows_from_draws: fromDraws,
        training_rows: labels.length,
        training_rows_by_class: byClass,
        final_classes: model.finalClasses,
        absent_classes: model.absentClasses,
        all_missing_features: data.featureNames.filter((_, c) => medians[c] === null),
        ...model.notes,
      },
    };
  },
});
