/**
 * The step contract: what a pipeline stage takes and gives, shared by activities (which
 * implement it), workflows (which wire and call it) and the engines. Types only, plus
 * plain constants: the Temporal workflow bundle imports this file, so it imports
 * nothing at run time (no zod, no Node).
 */
import type { DataDirContext, FileContext, IngestParams, NoContext, ReferenceParams } from './params.js';
import type { ClassifyContext, ClassifyParams } from './catalog.js';
import type { CrossmatchParams, DedupParams, LabelsParams, ProvenanceParams } from './labels.js';
import type { SedParams } from './sed.js';
import type { FeaturesParams } from './features.js';
import type { PredictParams, TrainParams } from './model.js';
import type { EvaluateParams } from './evaluation.js';
import type { EvaluateRole } from './protocols.js';

/** Every stage, in pipeline order. Each is a Temporal activity of this name. */
export const STAGE_NAMES = [
  'ingest',
  'reference',
  'labels',
  'dedup',
  'crossmatch',
  'provenance',
  'sed',
  'features',
  'train',
  'predict',
  'evaluate',
  'classify',
] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export function isStageName(name: string): name is StageName {
  return (STAGE_NAMES as readonly string[]).includes(name);
}

/** The params of each stage: part of the artifact's identity (zod schemas in schemas/). */
export interface StageParams {
  ingest: IngestParams;
  reference: ReferenceParams;
  labels: LabelsParams;
  dedup: DedupParams;
  crossmatch: CrossmatchParams;
  provenance: ProvenanceParams;
  sed: SedParams;
  features: FeaturesParams;
  train: TrainParams;
  predict: PredictParams;
  evaluate: EvaluateParams;
  classify: ClassifyParams;
}

export type { EvaluateRole, HeldOutPart } from './protocols.js';

/**
 * The inputs of each stage: input role -> the stage whose artifact fills it. An
 * optional role is an optional property; a stage that takes one input per catalog or
 * per fold names its roles by a pattern.
 */
export interface StageInputs {
  ingest: Record<never, never>;
  reference: { sources: 'ingest' };
  /** the MUWCLASS catalog's labels come from its ingested sources; other catalogs are read from their files */
  labels: { sources?: 'ingest' };
  dedup: { [role: `catalog_${number}`]: 'labels' };
  crossmatch: { labels: 'labels' | 'dedup'; xray: 'ingest' };
  /** the training sources and every label catalog's rows */
  provenance: { sources: 'ingest' } & { [role: `catalog_${number}`]: 'labels' };
  sed: { sources: 'ingest' };
  /** `sed` absent only for the X-ray-only feature set */
  features: { sources: 'ingest'; sed?: 'sed' };
  /** `provenance`: which catalogues agree with each label (params label_policy) */
  train: { features: 'features'; provenance?: 'provenance' };
  /** `sources`: the raw measurements, for Monte-Carlo draws (params mc.draws > 0) */
  predict: { model: 'train'; features: 'features'; sources?: 'ingest' };
  /** the competitor's predictions (optional) and one prediction per protocol and held-out part */
  evaluate: { reference?: 'reference' } & { [role in EvaluateRole]?: 'predict' };
  /** `calibration`: the evaluation of the model's cross-validation (conformal thresholds, the OOD threshold, class-mix corrections) */
  classify: { model: 'train'; calibration?: 'evaluate'; xray_model?: 'train'; xray_calibration?: 'evaluate' };
}

/**
 * Facts a stage needs to find things on this machine that do not change its output
 * (where a raw file or the data folder is): never part of the artifact's identity.
 */
export interface StageContexts {
  ingest: FileContext;
  reference: FileContext;
  labels: DataDirContext;
  dedup: NoContext;
  crossmatch: NoContext;
  provenance: NoContext;
  sed: DataDirContext;
  features: NoContext;
  train: NoContext;
  predict: DataDirContext;
  evaluate: NoContext;
  classify: ClassifyContext;
}

/** A stored artifact: the stage that made it and its content-derived id. */
export interface ArtifactRef<S extends StageName = StageName> {
  stage: S;
  id: string;
}

/** The artifacts filling a stage's input roles. */
export type StageInputRefs<S extends StageName> = {
  [R in keyof StageInputs[S]]: ArtifactRef<StageInputs[S][R] & StageName>;
};

/** What a stage activity is told about the step it runs (not part of the output's identity). */
export interface StepInfo<S extends StageName = StageName> {
  /** the step's key in the DAG, e.g. `cv/fold-1/train` */
  key: string;
  context: StageContexts[S];
}

export interface StepOutcome {
  artifactId: string;
  cacheHit: boolean;
  /** time the stage itself took (0 for a cache hit) */
  wallMs: number;
  /** a branch's inner steps: their outputs (named `branch#step` by dependants) and records */
  outputs?: Record<string, ArtifactRef>;
  inner?: StepRecord[];
}

/** One stage as an activity: typed params and input artifacts in, the output artifact out. */
export type StageActivity<S extends StageName> = (
  params: StageParams[S],
  inputs: StageInputRefs<S>,
  step: StepInfo<S>,
) => Promise<StepOutcome>;

/** The activities a worker registers, one per stage, each under the stage's name. */
export type StageActivities = { [S in StageName]: StageActivity<S> };

/** A step as the scheduler hands it over: inputs resolved to artifacts, still untyped data. */
export interface StepRequest {
  key: string;
  stage: string;
  params: Record<string, unknown>;
  inputs: Record<string, ArtifactRef>;
  context: Record<string, unknown>;
}

/**
 * Calls the activity of a step's stage. The DAG's steps were type-checked when the
 * builder declared them; here they are data again (a history, a worker thread), so the
 * activity validates params and inputs before it does any work.
 */
export function callStage(activities: StageActivities, req: StepRequest): Promise<StepOutcome> {
  if (!isStageName(req.stage))
    return Promise.reject(
      new Error(`step ${req.key}: unknown stage '${req.stage}' (known: ${STAGE_NAMES.join(', ')})`),
    );
  const activity = activities[req.stage] as unknown as (
    params: unknown,
    inputs: unknown,
    step: StepInfo,
  ) => Promise<StepOutcome>;
  return activity(req.params, req.inputs, { key: req.key, context: req.context as StepInfo['context'] });
}

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface StepRecord {
  key: string;
  stage: string;
  /** the ablation whose settings the step used; null: the baseline or a step they share */
  variant: string | null;
  status: StepStatus;
  artifactId: string | null;
  cacheHit: boolean | null;
  /** stage compute time */
  wallMs: number | null;
  startedAtMs: number | null;
  endedAtMs: number | null;
  error: string | null;
}

/** How far a run is: one shape for the workflow's query, the client and the CLI. */
export interface RunProgress {
  done: number;
  total: number;
  cacheHits: number;
  failed: number;
  /** keys of the steps running now */
  running: string[];
}
