import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { canonicalJson, sha256Hex } from '../artifacts/hash.js';
import { codeVersion } from '../artifacts/code-version.js';
import { processAlive, readdirOrEmpty, writeJsonOnce, type ArtifactStore } from '../artifacts/store.js';
import { RunRecord, type DataIntegrity } from '../schemas/run.js';
import { isRunId } from '../artifacts/run-records.js';
import type { DagResult } from '../workflows/dag.js';

export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `run-${stamp}-${randomBytes(3).toString('hex')}`;
}

function configHash(config: unknown): string {
  return sha256Hex(canonicalJson(config));
}

/** Writes the run record; a run id is never reused, so nothing is overwritten. */
export async function saveRunRecord(
  store: ArtifactStore,
  args: {
    runId: string;
    engine: RunRecord['engine'];
    config: unknown;
    startedAt: Date;
    result: DagResult;
    data?: DataIntegrity | null;
  },
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
    data: args.data ?? null,
  });
  await writeJsonOnce(join(await store.ensureDirInside(store.runsDir), `${args.runId}.json`), record);
  return record;
}

/**
 * Marks a run as in progress (`_active/<run>.json` with host and pid) until `release`
 * is called, so `xclass gc` never deletes what a running pipeline has just written.
 */
export async function markActive(
  store: ArtifactStore,
  runId: string,
  run: { workflow: string; engine: RunRecord['engine']; config: unknown },
): Promise<{ release(): Promise<void> }> {
  const path = join(await store.ensureDirInside(join(store.root, ACTIVE_DIR)), `${runId}.json`);
  await writeJsonOnce(path, {
    run_id: runId,
    host: hostname(),
    pid: process.pid,
    started_at: new Date().toISOString(),
    workflow: run.workflow,
    engine: run.engine,
    config_hash: configHash(run.config),
  });
  return { release: () => fs.rm(path, { force: true }) };
}

/**
 * Runs killed mid-way (their marker's process on this host is gone) get their run record
 * now, marked `interrupted`, so `runs`, `audit` and `gc` see them; their steps are not
 * known (what they finished is in the store, reached by no record). Returns their ids.
 */
export async function recordInterruptedRuns(store: ArtifactStore): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdirOrEmpty(join(store.root, ACTIVE_DIR))) {
    const path = join(store.root, ACTIVE_DIR, name);
    let m: {
      run_id?: unknown;
      host?: unknown;
      pid?: unknown;
      started_at?: unknown;
      workflow?: unknown;
      engine?: unknown;
      config_hash?: unknown;
    };
    try {
      m = JSON.parse(await fs.readFile(path, 'utf8')) as typeof m;
    } catch {
      continue; // unreadable: taken as active (activeRuns)
    }
    if (m.host !== hostname() || typeof m.pid !== 'number' || processAlive(m.pid)) continue;
    const runId = name.replace(/\.json$/, '');
    if (!isRunId(runId)) continue;
    const str = (v: unknown, fallback: string) => (typeof v === 'string' ? v : fallback);
    const record = RunRecord.parse({
      run_id: runId,
      workflow: str(m.workflow, 'unknown'),
      engine: m.engine === 'temporal' ? 'temporal' : 'embedded',
      config_hash: str(m.config_hash, ''),
      code_version: codeVersion(),
      started_at: str(m.started_at, ''),
      ended_at: new Date().toISOString(),
      wall_ms: 0,
      status: 'interrupted',
      steps: [],
    });
    await store.ensureDirInside(store.runsDir);
    const recordPath = join(store.runsDir, `${runId}.json`);
    if (!(await fs.stat(recordPath).catch(() => null))) await writeJsonOnce(recordPath, record);
    await fs.rm(path, { force: true });
    out.push(runId);
  }
  return out;
}

/** Runs marked active whose process is alive (or on another host, where liveness cannot be checked). */
export async function activeRuns(store: ArtifactStore): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdirOrEmpty(join(store.root, ACTIVE_DIR))) {
    try {
      const m = JSON.parse(await fs.readFile(join(store.root, ACTIVE_DIR, name), 'utf8')) as {
        host?: unknown;
        pid?: unknown;
      };
      if (m.host === hostname() && typeof m.pid === 'number' && !processAlive(m.pid)) continue;
    } catch {
      // an unreadable marker is taken as active: gc errs on the side of keeping
    }
    out.push(name.replace(/\.json$/, ''));
  }
  return out;
}

const ACTIVE_DIR = '_active';
