/**
 * The names of the stages and what a step is as data: shared by the config, activities,
 * workflows and the engines. The contract of each stage (params, inputs, context) is
 * derived from its declaration (activities/contract.ts). Types only, plus plain
 * constants: the Temporal workflow bundle imports this file, so it imports nothing at
 * run time (no zod, no Node).
 */
export type { EvaluateRole, HeldOutPart } from './protocols.js';

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
  'classify_zone',
  'classify',
] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export function isStageName(name: string): name is StageName {
  return (STAGE_NAMES as readonly string[]).includes(name);
}

/** A stored artifact: the stage that made it and its content-derived id. */
export interface ArtifactRef<S extends StageName = StageName> {
  stage: S;
  id: string;
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
 * activity validates params and inputs before it does any work. Any map of one function
 * per stage (the typed StageActivities of activities/contract.ts, Temporal's proxies).
 */
export function callStage<A extends Record<StageName, (...args: never[]) => Promise<StepOutcome>>>(
  activities: A,
  req: StepRequest,
): Promise<StepOutcome> {
  if (!isStageName(req.stage))
    return Promise.reject(
      new Error(`step ${req.key}: unknown stage '${req.stage}' (known: ${STAGE_NAMES.join(', ')})`),
    );
  const activity = activities[req.stage] as unknown as (
    params: unknown,
    inputs: unknown,
    step: { key: string; context: unknown },
  ) => Promise<StepOutcome>;
  return activity(req.params, req.inputs, { key: req.key, context: req.context });
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
