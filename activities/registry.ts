import { ingestStage } from './ingest.js';
import { referenceStage } from './reference.js';
import { sedStage } from './sed.js';
import { featuresStage } from './features.js';
import { trainStage } from './train.js';
import { predictStage } from './predict.js';
import { evaluateStage } from './evaluate.js';
import { labelsStage } from './labels.js';
import { dedupStage } from './dedup.js';
import { crossmatchStage } from './crossmatch.js';
import { provenanceStage } from './provenance.js';
import { classifyStage } from './classify.js';
import type { StageName } from '../schemas/step.js';
import type { StageDef } from './stage.js';

/** Every pipeline stage by name. */
export const STAGES: { [S in StageName]: StageDef<S> } = {
  ingest: ingestStage,
  reference: referenceStage,
  labels: labelsStage,
  dedup: dedupStage,
  crossmatch: crossmatchStage,
  provenance: provenanceStage,
  sed: sedStage,
  features: featuresStage,
  train: trainStage,
  predict: predictStage,
  evaluate: evaluateStage,
  classify: classifyStage,
};
