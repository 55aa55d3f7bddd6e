import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { canonicalJson, sha256Hex } from '../artifacts/hash.js';
import { codeVersion } from '../artifacts/code-version.js';
import { processAlive, readdirOrEmpty, writeJsonOnce, type ArtifactStore } from '../artifacts/store.js';
import { RunRecord } from '../schemas/run.js';
import type { DagResult } from '../workflows/dag.js';

export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
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

/**
 * Marks a run as in progress (`_active/<run>.json` with host and pid) until `release`
 * is called, so `xclass gc` never deletes what a running pipeline has just written.
 */
export async function markActive(store: ArtifactStore, runId: string): Promise<{ release(): Promise<void> }> {
  const path = join(store.root, ACTIVE_DIR, `${runId}.json`);
  await fs.mkdir(dirname(path), { recursive: true });
  await writeJsonOnce(path, { run_id: runId, host: hostname(), pid: process.pid, started_at: new Date().toISOString() });
  return { release: () => fs.rm(path, { force: true }) };
}

/** Runs marked active whose process is alive (or on another host, where liveness cannot be checked). */
export async function activeRuns(store: ArtifactStore): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdirOrEmpty(join(store.root, ACTIVE_DIR))) {
    try {
      const m = JSON.parse(await fs.readFile(join(store.root, ACTIVE_DIR, name), 'utf8')) as { host?: unknown; pid?: unknown };
      if (m.host === hostname() && typeof m.pid === 'number' && !processAlive(m.pid)) continue;
    } catch {
      // an unreadable marker is taken as active: gc errs on the side of keeping
    }
    out.push(name.replace(/\.json$/, ''));
  }
  return out;
}

const ACTIVE_DIR = '_active';
