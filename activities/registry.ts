import { ingestStage } from './ingest.js';
import { referenceStage } from './reference.js';
import { sedStage } from './sed.js';
import type { StageDef } from './stage.js';

/** Every pipeline stage by name. */
export const STAGES: Record<string, StageDef> = Object.fromEntries(
  ([ingestStage, referenceStage, sedStage] as unknown as StageDef[]).map((s) => [s.name, s]),
);
