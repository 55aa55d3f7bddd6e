import type { z } from 'zod';
import type { ArtifactStore } from '../artifacts/store.js';
import type { TableSchema } from '../schemas/table.js';
import type { RawFileRef } from '../schemas/artifact.js';
import type { ArtifactRef } from '../workflows/dag.js';

/** What a stage sees while it runs. */
export interface StageContext {
  store: ArtifactStore;
  inputs: Record<string, ArtifactRef>;
  /** non-identity facts from the DAG, e.g. where a raw file is on this machine */
  context: Record<string, unknown>;
  /** report progress (the Temporal worker turns this into a heartbeat) */
  progress(done: number, total: number, note?: string): void;
}

export interface StageOutput {
  table: TableSchema;
  rows: Record<string, unknown>[];
  /** side tables, written as <name>.parquet */
  extraTables?: Record<string, { table: TableSchema; rows: Record<string, unknown>[] }>;
  extraFiles?: Record<string, Uint8Array>;
  rawFiles?: RawFileRef[];
  notes?: Record<string, unknown>;
}

/**
 * A pipeline stage. `version` is bumped by hand whenever the code changes the
 * stage's output, so cached artifacts made by older code are not reused.
 */
export interface StageDef<P extends Record<string, unknown> = Record<string, unknown>> {
  name: string;
  version: number;
  params: z.ZodType<P>;
  /** input roles this stage expects, or a pattern for a variable number of them (one per CV fold) */
  inputs: readonly string[] | RegExp;
  run(ctx: StageContext, params: P): Promise<StageOutput>;
}

export function defineStage<P extends Record<string, unknown>>(def: StageDef<P>): StageDef<P> {
  if (!/^[a-z][a-z0-9_]*$/.test(def.name)) throw new Error(`stage name ${def.name}: use lower case letters, digits and _`);
  return def;
}
