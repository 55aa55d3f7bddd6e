import type { ArtifactStore } from '../../artifacts/store.js';
import { sha256Hex } from '../../artifacts/hash.js';
import type { FeatureSpec } from '../../schemas/features.js';
import { TrainFacts } from '../../schemas/facts.js';
import { deserializeTwoStage, type TwoStageModel, type TwoStagePrediction } from '../../lib/forest/two-stage.js';
import { ForestParams, TwoStageParams } from '../../schemas/forest.js';
import type { PredictionRow, ProbabilityRow } from '../../schemas/model.js';
import type { ArtifactRef } from '../../schemas/step.js';
import { modelFeaturesTable, TrainParams } from '../../schemas/model.js';
import { fitNeighbourReference, type NeighbourReference } from '../../lib/uncertainty/neighbours.js';
import { imputeMatrix } from '../../lib/features.js';
import { readFeatureRows } from './feature-matrix.js';
import { selectRows } from './rows.js';
import { SedParams } from '../../schemas/sed.js';

/** The binary two-stage model inside a `train` artifact. */
export const MODEL_FILE = 'model.bin';

export interface LoadedModel {
  model: TwoStageModel;
  /** Stage-1 training medians in feature order: how missing values are filled */
  medians: (number | null)[];
  /** how the training features were made, so targets get the same */
  spec: FeatureSpec;
  /** fingerprint of the sources it was trained on */
  trainedOn: string;
}

/**
 * A trained model with what travels with it: imputation medians and the feature spec.
 * Decoded once per process and shared (a model serves a fold's predictions under every
 * protocol); callers must not change it.
 */
export function loadModel(store: ArtifactStore, ref: ArtifactRef): Promise<LoadedModel> {
  return store.derived(ref, 'two-stage model', [MODEL_FILE, 'data.parquet'], () => decodeModel(store, ref));
}

async function decodeModel(store: ArtifactStore, ref: ArtifactRef): Promise<LoadedModel> {
  const file = await store.readFile(ref.stage, ref.id, MODEL_FILE);
  const model = deserializeTwoStage(file);
  // the params inside the model file are checked like any params read back (defaults of older models filled in)
  model.params = TwoStageParams.parse(model.params);
  model.stage1.params = ForestParams.parse(model.stage1.params);
  if (model.stage2) model.stage2.params = ForestParams.parse(model.stage2.params);
  const info = await store.readTable(modelFeaturesTable, ref);
  const medians = info
    .filter((r) => r.stage === 'stage1')
    .sort((a, b) => a.column - b.column)
    .map((r) => r.impute_median);
  const facts = await store.readFacts(TrainFacts, ref);
  return { model, medians, spec: facts.feature_spec, trainedOn: facts.training_sources_sha256 };
}

/** Sums of floating-point probabilities can exceed 1 by an ulp. */
function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}

/** What a prediction carries beyond the two-stage vector: Monte-Carlo summary, OOD score, conformal set, the uncertain rule's verdict. */
export interface PredictionExtras {
  mc_draws: number;
  /** Monte-Carlo only: the single-value final vector and the 16-84% intervals of the final and Stage-1 vectors */
  single?: Float64Array;
  final_lo?: Float64Array;
  final_hi?: Float64Array;
  stage1_lo?: Float64Array;
  stage1_hi?: Float64Array;
  significance: number | null;
  ood_score: number | null;
  class_set: string | null;
  ood: boolean | null;
  /** the uncertain rule's verdict when one was applied (else the prediction's own flag, the method's confidence rule) */
  uncertain?: { uncertain: boolean; reason: string | null };
}

const NO_EXTRAS: PredictionExtras = { mc_draws: 0, significance: null, ood_score: null, class_set: null, ood: null };

/** The `predictions` rows and long-form `probabilities` rows of two-stage predictions. */
export function predictionTables(
  model: TwoStageModel,
  preds: readonly TwoStagePrediction[],
  sources: readonly { id: string; label: string | null; fold: number | null }[],
  extras: readonly PredictionExtras[] = [],
): { rows: PredictionRow[]; proba: ProbabilityRow[] } {
  const rows: PredictionRow[] = [];
  const proba: ProbabilityRow[] = [];
  const at = (a: Float64Array | undefined, k: number) => (a ? clamp01(a[k]!) : null);
  preds.forEach((pr, j) => {
    const { id, label, fold } = sources[j]!;
    const x = extras[j] ?? NO_EXTRAS;
    const verdict = x.uncertain ?? {
      uncertain: pr.uncertain,
      reason: pr.uncertain ? `confidence ${pr.confidence.toFixed(3)} < ${model.params.uncertain_below}` : null,
    };
    rows.push({
      id,
      label,
      final_class: pr.finalClass,
      confidence: clamp01(pr.confidence),
      uncertain: verdict.uncertain,
      decided_by: pr.decidedBy,
      fold,
      mc_draws: x.mc_draws,
      significance: x.significance,
      ood_score: x.ood_score,
      class_set: x.class_set,
      ood: x.ood,
      uncertain_reason: verdict.reason,
    });
    model.finalClasses.forEach((c, k) =>
      proba.push({
        id,
        stage: 'final',
        class: c,
        p: clamp01(pr.proba[k]!),
        p_lo: at(x.final_lo, k),
        p_hi: at(x.final_hi, k),
      }),
    );
    model.groups.forEach((g, k) =>
      proba.push({
        id,
        stage: 'stage1',
        class: g,
        p: clamp01(pr.stage1Proba[k]!),
        p_lo: at(x.stage1_lo, k),
        p_hi: at(x.stage1_hi, k),
      }),
    );
    if (x.single)
      model.finalClasses.forEach((c, k) =>
        proba.push({ id, stage: 'single', class: c, p: clamp01(x.single![k]!), p_lo: null, p_hi: null }),
      );
  });
  return { rows, proba };
}

/**
 * The SED translation a model's training sources went through (train <- features <-
 * sed in its lineage): targets are translated with the same settings, so training and
 * targets share one path.
 */
export async function modelTranslation(
  store: ArtifactStore,
  ref: ArtifactRef,
): Promise<{ settings: SedParams; ref: ArtifactRef }> {
  return featuresTranslation(store, (await trainingFeatures(store, ref)).features);
}

/** A model's training features (its train step's input) and the rows it took from them (its fold). */
async function trainingFeatures(
  store: ArtifactStore,
  ref: ArtifactRef,
): Promise<{ features: ArtifactRef<'features'>; fold: TrainParams['fold'] }> {
  const train = await store.readMeta(ref.stage, ref.id);
  const featuresId = train.inputs['features'];
  if (featuresId === undefined) throw new Error(`model ${ref.id.slice(0, 12)} has no features input`);
  return { features: { stage: 'features', id: featuresId }, fold: TrainParams.parse(train.params).fold };
}

/** The SED translation behind a features artifact (features <- sed in its lineage). */
export async function featuresTranslation(
  store: ArtifactStore,
  ref: ArtifactRef,
): Promise<{ settings: SedParams; ref: ArtifactRef }> {
  const features = await store.readMeta('features', ref.id);
  const sedId = features.inputs['sed'];
  if (sedId === undefined) throw new Error(`features ${ref.id.slice(0, 12)} has no sed input`);
  const sed = await store.readMeta('sed', sedId);
  return { settings: SedParams.parse(sed.params), ref: { stage: 'sed', id: sedId } };
}

/** A model's own training rows as read (missing values kept): its train step's features and fold, draw 0. */
export function modelTrainingRows(
  store: ArtifactStore,
  ref: ArtifactRef,
): Promise<{ ids: string[]; rows: (number | null)[][] }> {
  return store.derived(ref, 'training rows', [MODEL_FILE, 'data.parquet'], async () => {
    const { features, fold } = await trainingFeatures(store, ref);
    const data = await readFeatureRows(store, features);
    const pick = selectRows(data.ids, data.labels, fold, 'train');
    return { ids: pick.map((i) => data.ids[i]!), rows: pick.map((i) => data.values[i]!) };
  });
}

/**
 * The OOD reference of a model: its own training rows (the train step's features and
 * fold, draw 0, imputed with its medians), scaled, with their typical k-th-neighbour
 * distance (lib/uncertainty/neighbours.ts). Built once per process and model.
 */
export function modelNeighbourReference(
  store: ArtifactStore,
  ref: ArtifactRef,
  k: number,
): Promise<NeighbourReference> {
  return store.derived(ref, `ood reference k=${k}`, [MODEL_FILE, 'data.parquet'], async () => {
    const { medians } = await loadModel(store, ref);
    const { rows } = await modelTrainingRows(store, ref);
    return fitNeighbourReference(imputeMatrix(rows, medians), k);
  });
}

/** Fingerprint of a fold's training selection (before any label policy): predict checks its held-out rows against it. */
export function sourcesFingerprint(ids: readonly string[]): string {
  return sha256Hex([...ids].sort().join('\n'));
}
