import { ingestStage } from './ingest.js';
import { referenceStage } from './reference.js';
import type { StageDef } from './stage.js';

/** Every pipeline stage by name. */
export const STAGES: Record<string, StageDef> = Object.fromEntries(
  ([ingestStage, referenceStage] as unknown as StageDef[]).map((s) => [s.name, s]),
);
