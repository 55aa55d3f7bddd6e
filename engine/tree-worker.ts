// Worker-thread entry (piscina) of the tree pool: grows one batch of trees, predicts a
// range of rows with a forest it was sent once (lib/forest), translates a part of a
// table's observations (lib/sed), draws a part of classify's targets (lib/classify) and
// predicts and summarises them (lib/forest, lib/uncertainty), or scores a range of rows'
// OOD distances (lib/uncertainty); each pure.
import { deserializeForest, predictProbaRows } from '../lib/forest/forest.js';
import type { Forest } from '../lib/forest/types.js';
import {
  translateLabelFree,
  type LabelFreeOptions,
  type Translation,
  type TranslationPlan,
  type UncertaintyOptions,
} from '../lib/sed/translate.js';
import type { Observation } from '../lib/sed/fit.js';
import { fullModelDraws, type DrawTarget, type TargetTranslation } from '../lib/classify/targets.js';
import { Rng } from '../lib/rng.js';
import { imputeMatrix, type FeatureSpec } from '../lib/features.js';
import { deserializeTwoStage, predictTwoStage, type TwoStageModel } from '../lib/forest/two-stage.js';
import { summariseDrawPredictions, type DrawOutcome } from '../lib/uncertainty/montecarlo.js';
import { scoreRows, type NeighbourReference } from '../lib/uncertainty/neighbours.js';

export { growBatch as default } from '../lib/forest/grow-batch.js';

/** One range of rows to predict with a serialized forest (shared memory), known by `key` after the first task. */
export interface PredictTask {
  key: string;
  forest: Uint8Array;
  x: Float64Array;
  nSamples: number;
  nFeatures: number;
  from: number;
  to: number;
}

/** The forests this thread has decoded, most recently used last (at most two: a two-stage model). */
const forests = new Map<string, Forest>();

/** What `cache` holds under `key`, else `decode()` kept there; the least recently used dropped beyond two. */
function recent<T>(cache: Map<string, T>, key: string, decode: () => T): T {
  let value = cache.get(key);
  if (value !== undefined) cache.delete(key);
  else value = decode();
  cache.set(key, value);
  if (cache.size > 2) cache.delete(cache.keys().next().value!);
  return value;
}

export function predictRows(task: PredictTask): Float64Array {
  const forest = recent(forests, task.key, () => deserializeForest(task.forest));
  return predictProbaRows(
    forest,
    { x: task.x, nSamples: task.nSamples, nFeatures: task.nFeatures },
    task.from,
    task.to,
  );
}

/** A part of a table's observations to translate label-free, with the plan (without spectra: portablePlan). */
export interface TranslateTask {
  plan: TranslationPlan;
  observations: Observation[];
  labelFree: LabelFreeOptions;
  sigma: UncertaintyOptions;
}

export function translateRows(task: TranslateTask): Translation[] {
  const opts = { priors: task.labelFree.priors, draws: 0 };
  return task.observations.map((o) => translateLabelFree(task.plan, o, opts, task.sigma, null));
}

/** A part of classify's targets to draw for the full model (the plan in `env` without spectra). */
export interface DrawTask {
  env: TargetTranslation;
  spec: FeatureSpec;
  mc: { draws: number; translation: 'exact' | 'linear' };
  targets: DrawTarget[];
}

function drawTargets(task: DrawTask): (number | null)[][][] {
  return task.targets.map((t) =>
    fullModelDraws(task.env, t.s, t.byFilter, t.fixed, task.spec, task.mc, new Rng(t.seed)),
  );
}

/** A part of classify's targets to draw and predict with the full model (serialized in shared memory, known by `key` after the first task). */
export interface DrawPredictTask extends DrawTask {
  model: { key: string; bytes: Uint8Array };
  medians: readonly (number | null)[];
}

/** The two-stage models this thread has decoded, most recently used last (at most two). */
const models = new Map<string, TwoStageModel>();

/**
 * The part's draws through the model on this thread, summarised per target: what
 * predictDraws makes of drawTargets' rows, without sending the rows back (10^6 of them
 * for 10^4 sources). Each draw row is imputed and predicted alone, so the numbers are the
 * same whatever the part.
 */
export function drawPredictTargets(task: DrawPredictTask): DrawOutcome[] {
  const model = recent(models, task.model.key, () => deserializeTwoStage(task.model.bytes));
  const rows = drawTargets(task);
  const all = predictTwoStage(model, imputeMatrix(rows.flat(), task.medians));
  return summariseDrawPredictions(
    model,
    all,
    rows.map((r) => r.length),
  );
}

/** A range of scaled rows to score against an OOD reference (points and rows in shared memory). */
export interface ScoreTask {
  ref: NeighbourReference;
  rows: Float64Array;
  from: number;
  to: number;
}

export function scoreRange(task: ScoreTask): Float64Array {
  return scoreRows(task.ref, task.rows, task.from, task.to);
}
