import type { z } from 'zod';
import type { ArtifactStore } from '../artifacts/store.js';
import type { TableSchema } from '../schemas/table.js';
import type { RawFileRef } from '../schemas/artifact.js';
import type { TreeGrower } from '../lib/forest/grow-batch.js';
import type { StageContexts, StageInputRefs, StageName, StageParams } from '../schemas/step.js';

/**
 * Lets timers run between chunks of synchronous work on the main thread: Temporal's
 * heartbeat is a timer, and a step that computes for seconds without yielding is taken
 * for a dead worker once the heartbeat timeout passes.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Progress of one step: the Temporal worker turns it into a heartbeat. */
export type ProgressFn = (done: number, total: number, note?: string) => void;

/** What a stage sees while it runs. */
export interface StageContext<S extends StageName> {
  store: ArtifactStore;
  inputs: StageInputRefs<S>;
  /** non-identity facts from the DAG, e.g. where a raw file is on this machine */
  context: StageContexts[S];
  progress: ProgressFn;
  /** worker threads that grow a forest's trees, handed over by the engine; absent: this thread */
  trees?: TreeGrower;
}

export interface StageOutput {
  table: TableSchema;
  rows: Record<string, unknown>[];
  /** side tables, written as <name>.parquet */
  extraTables?: Record<string, { table: TableSchema; rows: Record<string, unknown>[] }>;
  extraFiles?: Record<string, Uint8Array>;
  rawFiles?: RawFileRef[];
  /** counts and details for audits (meta.json `notes`) */
  notes?: Record<string, unknown>;
  /** what later stages rely on (meta.json `facts`), checked against the stage's `facts` schema */
  facts?: Record<string, unknown>;
}

/**
 * The input roles a stage accepts, checked when a step arrives as data (a Temporal
 * history, a worker thread): each named role with the stages that may fill it, and for
 * stages that take one input per catalog or fold, the pattern of those roles. The
 * compile-time contract is `StageInputs` in schemas/step.ts; this is its run-time guard.
 */
export interface InputSpec {
  roles: Record<string, { from: readonly StageName[]; optional?: true }>;
  pattern?: { re: RegExp; from: StageName };
}

/**
 * A pipeline stage. `version` is bumped by hand whenever the code changes the
 * stage's output, so cached artifacts made by older code are not reused.
 */
export interface StageDef<S extends StageName> {
  name: S;
  version: number;
  params: z.ZodType<StageParams[S]>;
  inputs: InputSpec;
  context: z.ZodType<StageContexts[S]>;
  /** the facts every artifact of this stage carries (schemas/facts.ts); absent: none */
  facts?: z.ZodType;
  run(ctx: StageContext<S>, params: StageParams[S]): Promise<StageOutput>;
}

export function defineStage<S extends StageName>(def: StageDef<S>): StageDef<S> {
  return def;
}

/** The wiring errors of a step's inputs against its stage's spec (empty when it fits). */
export function inputProblems(spec: InputSpec, inputs: Record<string, { stage: string }>): string[] {
  const problems: string[] = [];
  for (const [role, r] of Object.entries(spec.roles))
    if (!r.optional && !(role in inputs)) problems.push(`input '${role}' missing`);
  for (const [role, ref] of Object.entries(inputs)) {
    const from = spec.roles[role]?.from ?? (spec.pattern?.re.test(role) ? [spec.pattern.from] : null);
    if (from === null) problems.push(`unexpected input '${role}'`);
    else if (!from.includes(ref.stage as StageName))
      problems.push(`input '${role}' is a ${ref.stage} artifact, expected ${from.join(' or ')}`);
  }
  return problems;
}
