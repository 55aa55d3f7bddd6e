import type { ArtifactStore } from '../../artifacts/store.js';
import type { FeatureSpec } from '../../schemas/features.js';
import { TrainFacts } from '../../schemas/facts.js';
import { deserializeTwoStage, type TwoStageModel, type TwoStagePrediction } from '../../lib/forest/two-stage.js';
import { ForestParams, TwoStageParams } from '../../schemas/forest.js';
import type { PredictionRow, ProbabilityRow } from '../../schemas/model.js';
import type { ArtifactRef } from '../../schemas/step.js';
import { modelFeaturesTable } from '../../schemas/model.js';
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

/** The `predictions` rows and long-form `probabilities` rows of two-stage predictions. */
export function predictionTables(
  model: TwoStageModel,
  preds: readonly TwoStagePrediction[],
  sources: readonly { id: string; label: string | null; fold: number | null }[],
): { rows: PredictionRow[]; proba: ProbabilityRow[] } {
  const rows: PredictionRow[] = [];
  const proba: ProbabilityRow[] = [];
  preds.forEach((pr, j) => {
    const { id, label, fold } = sources[j]!;
    rows.push({ id, label, final_class: pr.finalClass, confidence: clamp01(pr.confidence), uncertain: pr.uncertain, decided_by: pr.decidedBy, fold });
    model.finalClasses.forEach((c, k) => proba.push({ id, stage: 'final', class: c, p: clamp01(pr.proba[k]!) }));
    model.groups.forEach((g, k) => proba.push({ id, stage: 'stage1', class: g, p: clamp01(pr.stage1Proba[k]!) }));
  });
  return { rows, proba };
}

/**
 * The SED translation a model's training sources went through (train <- features <-
 * sed in its lineage): targets are translated with the same settings, so training and
 * targets share one path.
 */
export async function modelTranslation(store: ArtifactStore, ref: ArtifactRef): Promise<{ settings: SedParams; ref: ArtifactRef }> {
  const train = await store.readMeta(ref.stage, ref.id);
  const featuresId = train.inputs['features'];
  if (featuresId === undefined) throw new Error(`model ${ref.id.slice(0, 12)} has no features input`);
  const features = await store.readMeta('features', featuresId);
  const sedId = features.inputs['sed'];
  if (sedId === undefined) throw new Error(`features ${featuresId.slice(0, 12)} has no sed input`);
  const sed = await store.readMeta('sed', sedId);
  return { settings: SedParams.parse(sed.params), ref: { stage: 'sed', id: sedId } };
}
