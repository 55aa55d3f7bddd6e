import { ingestStage } from './ingest.js';
import { referenceStage } from './reference.js';
import { sedStage } from './sed.js';
import { featuresStage } from './features.js';
import { trainStage } from './train.js';
import { predictStage } from './predict.js';
import { evaluateStage } from './evaluate.js';
import { crossmatchStage, dedupStage, labelsStage } from './labels.js';
import { classifyStage } from './classify.js';
import type { StageDef } from './stage.js';

/** Every pipeline stage by name. */
export const STAGES: Record<string, StageDef> = Object.fromEntries(
  ([ingestStage, referenceStage, sedStage, featuresStage, trainStage, predictStage, evaluateStage, labelsStage, dedupStage, crossmatchStage, classifyStage] as unknown as StageDef[]).map((s) => [s.name, s]),
);
