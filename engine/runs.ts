import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, sha256Hex } from '../artifacts/hash.js';
import { codeVersion } from '../artifacts/code-version.js';
import { writeJsonOnce, type ArtifactStore } from '../artifacts/store.js';
import { RunRecord } from '../schemas/run.js';
import type { DagResult } from '../workflows/dag.js';

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `run-${stamp}-${randomBytes(3).toString('hex')}`;
}

export function configHash(config: unknown): string {
  return sha256Hex(canonicalJson(config));
}

/** Writes the run record; a run id is never reused, so nothing is overwritten. */
export async function saveRunRecord(
  store: ArtifactStore,
  args: { runId: string; engine: RunRecord['engine']; config: unknown; startedAt: Date; result: DagResult },
): Promise<RunRecord> {
  const ended = new Date();
  const record = RunRecord.parse({
    run_id: args.runId,
    workflow: args.result.dag,
    engine: args.engine,
    config_hash: configHash(args.config),
    code_version: codeVersion(),
    started_at: args.startedAt.toISOString(),
    ended_at: ended.toISOString(),
    wall_ms: ended.getTime() - args.startedAt.getTime(),
    status: args.result.ok ? 'succeeded' : 'failed',
    steps: args.result.steps,
  });
  await fs.mkdir(store.runsDir, { recursive: true });
  await writeJsonOnce(join(store.runsDir, `${args.runId}.json`), record);
  return record;
}

export async function loadRunRecord(store: ArtifactStore, runId: string): Promise<RunRecord | undefined> {
  try {
    return RunRecord.parse(JSON.parse(await fs.readFile(join(store.runsDir, `${runId}.json`), 'utf8')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function listRunIds(store: ArtifactStore): Promise<string[]> {
  try {
    return (await fs.readdir(store.runsDir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  } catch {
    return [];
  }
}
