import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NewArtifact } from '../../artifacts/store.js';
import { artifactId } from '../../artifacts/hash.js';
import { referencePredictionsTable, type ReferencePredictionRow } from '../../schemas/tables.js';
import type { TableSchema } from '../../schemas/table.js';

/** A competitor prediction row (the small `reference_predictions` table the store tests write). */
export function prediction(id: string, p: number | null, pipeline = 'TEST'): ReferencePredictionRow {
  return {
    id,
    pipeline,
    predicted_class: 'AGN',
    predicted_prob: p,
    predicted_prob_err: null,
    confidence_threshold: 1.5,
    p_agn: p,
    p_cv: 0,
    p_hm_star: 0,
    p_hmxb: 0,
    p_lm_star: 0,
    p_lmxb: 0,
    p_ns: 0,
    p_yso: 0,
  };
}

/** The meta of an artifact of `stage` holding `table`, with these params and inputs (its id follows from them). */
export function artifactMeta(
  stage: string,
  table: TableSchema,
  params: Record<string, unknown>,
  extra: Partial<NewArtifact> = {},
): NewArtifact {
  return {
    id: artifactId(stage, extra.stage_version ?? 1, params, extra.inputs ?? {}),
    stage,
    stage_version: 1,
    schema: table.name,
    params,
    inputs: {},
    raw_files: [],
    code_version: null,
    wall_ms: 1,
    notes: {},
    ...extra,
  };
}

/** The meta of a `reference` artifact with these params. */
export function referenceMeta(params: Record<string, unknown> = { n: 1 }): NewArtifact {
  return artifactMeta('reference', referencePredictionsTable, params);
}

/** Writes a succeeded run record `<store>/_runs/<runId>.json` whose one step made `artifactId` (so gc reaches it and its inputs). */
export function writeRunRecord(runsDir: string, artifactId: string, runId = 'run-20260101T000000Z-abcdef'): string {
  const step = {
    key: 'k',
    stage: 'reference',
    status: 'done',
    artifactId,
    cacheHit: false,
    wallMs: 1,
    startedAtMs: 0,
    endedAtMs: 1,
    error: null,
  };
  const record = {
    run_id: runId,
    workflow: 'w',
    engine: 'embedded',
    config_hash: 'x',
    code_version: null,
    started_at: '',
    ended_at: '',
  };
  const path = join(runsDir, `${runId}.json`);
  mkdirSync(runsDir, { recursive: true });
  writeFileSync(path, JSON.stringify({ ...record, wall_ms: 1, status: 'succeeded', steps: [step] }));
  return path;
}
