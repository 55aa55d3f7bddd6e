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
import { classifyStage, classifyZoneStage } from './classify.js';
import { STAGE_NAMES, type StageName } from '../schemas/step.js';
import { fetchColumnsTable } from '../schemas/fetch.js';
import type { TableSchema } from '../schemas/table.js';
import type { AnyStageDef } from './stage.js';

/** Every pipeline stage by name: the one list of them (the contract's types are derived from it). */
export const STAGES = {
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
  classify_zone: classifyZoneStage,
  classify: classifyStage,
};

// STAGE_NAMES (schemas/step.ts, a plain list the config and the workflow bundle read) names exactly these stages
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameNames: Exact<keyof typeof STAGES, StageName> = true;
void sameNames;

/** A stage's declaration by name, as data. */
export function stageDef(name: StageName): AnyStageDef {
  return STAGES[name] as AnyStageDef;
}

/**
 * Every artifact table by schema name, built from what the stages declare they write (and
 * the fetch artifacts' columns): meta.json names a table's schema, and generic readers
 * (`readAnyTable`) validate against it. A schema name declared twice with different
 * tables is a bug, caught here at load.
 */
export const TABLES: Readonly<Record<string, TableSchema>> = (() => {
  const out: Record<string, TableSchema> = { [fetchColumnsTable.name]: fetchColumnsTable };
  for (const name of STAGE_NAMES)
    for (const t of Object.values(stageDef(name).tables)) {
      const had = out[t.name];
      if (had && had !== t) throw new Error(`table schema ${t.name} declared twice with different columns`);
      out[t.name] = t;
    }
  return out;
})();
