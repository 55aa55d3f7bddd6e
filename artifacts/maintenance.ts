import { promises as fs } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { loadRunRecords } from './run-records.js';
import {
  artifactBytes,
  isArtifactId,
  NOT_AN_ARTIFACT_DIR,
  readdirOrEmpty,
  UNVERIFIABLE,
  type ArtifactStore,
} from './store.js';

export interface VerifyReport {
  artifacts: number;
  files: number;
  bytes: number;
  ok: number;
  /** artifacts of older XClass, readable but without sizes and checksums to verify against */
  unverifiable: number;
  /** intact artifacts whose meta.json carries no meta_sha256 (written before 2026-12-06, or the seal removed) */
  unsealed: number;
  runs: number;
  wall_ms: number;
  damaged: { stage: string | null; id: string | null; path: string; reason: string; quarantined_to: string | null }[];
  damaged_runs: { path: string; reason: string }[];
}

/**
 * `xclass verify`: every artifact's files against the sizes and SHA-256 in its
 * meta.json, every meta.json and run record parsed. With `repair`, what fails is moved
 * to the quarantine folder (never deleted), so the next run recomputes it.
 */
export async function verifyStore(store: ArtifactStore, opts: { repair: boolean }): Promise<VerifyReport> {
  const t0 = performance.now();
  const report: VerifyReport = {
    artifacts: 0,
    files: 0,
    bytes: 0,
    ok: 0,
    unverifiable: 0,
    unsealed: 0,
    runs: 0,
    wall_ms: 0,
    damaged: [],
    damaged_runs: [],
  };
  for (const stage of await store.stages()) {
    for (const id of await readdirOrEmpty(join(store.root, stage))) {
      report.artifacts++;
      if (!isArtifactId(id)) {
        report.damaged.push({
          stage,
          id: null,
          path: join(store.root, stage, id),
          reason: NOT_AN_ARTIFACT_DIR,
          quarantined_to: null,
        });
        continue;
      }
      const state = await store.check(stage, id, 'checksum');
      if (state.state === 'ok') {
        report.ok++;
        if (state.meta.meta_sha256 === undefined) report.unsealed++;
        report.files += state.meta.files.length;
        report.bytes += artifactBytes(state.meta);
      } else if (state.state === 'damaged' && state.reason === UNVERIFIABLE) {
        report.unverifiable++;
      } else if (state.state === 'damaged') {
        const moved = opts.repair ? await store.quarantine(stage, id, `${state.path}: ${state.reason}`) : undefined;
        report.damaged.push({ stage, id, path: state.path, reason: state.reason, quarantined_to: moved ?? null });
      }
    }
  }
  report.runs = (
    await loadRunRecords(store, (d) => report.damaged_runs.push({ path: d.path, reason: d.reason }))
  ).length;
  report.wall_ms = Math.round(performance.now() - t0);
  return report;
}

export interface GcReport {
  runs: number;
  reachable: number;
  unreachable: { stage: string; id: string; bytes: number; created_at: string }[];
  quarantined: { path: string; bytes: number }[];
  deleted: boolean;
}

/**
 * `xclass gc`: the artifacts no run record reaches (each run's step artifacts and,
 * through their inputs, everything they were made from), and the quarantined copies.
 * They are removed only with `delete`, and then only when no run is in progress and
 * every run record is readable: what cannot be proven unreachable is kept. Without
 * `all` it also refuses when the store has no run record at all (a store copied without
 * `_runs/`, or its records deleted: nothing can be shown reachable) and when it would
 * remove more than `maxShare` of the artifacts.
 */
export async function collectGarbage(
  store: ArtifactStore,
  opts: { delete: boolean; activeRuns: () => Promise<string[]>; all?: boolean; maxShare?: number },
): Promise<GcReport> {
  const startedAt = new Date().toISOString();
  const unreadable: string[] = [];
  const runs = await loadRunRecords(store, (d) => unreadable.push(`${d.path}: ${d.reason}`));
  const { metas, damaged } = await store.scan();
  const byId = new Map(metas.map((m) => [m.id, m]));
  const reached = new Set<string>();
  const stack = runs.flatMap((r) => r.steps.flatMap((s) => (s.artifactId ? [s.artifactId] : [])));
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (reached.has(id)) continue;
    reached.add(id);
    const meta = byId.get(id);
    if (meta) stack.push(...Object.values(meta.inputs));
  }
  const unreachable = [];
  for (const m of metas) {
    // an artifact newer than this gc may belong to a run that started meanwhile: kept
    if (reached.has(m.id) || m.created_at >= startedAt) continue;
    unreachable.push({ stage: m.stage, id: m.id, bytes: artifactBytes(m), created_at: m.created_at });
  }
  const quarantined = [];
  for (const name of await readdirOrEmpty(store.quarantineDir))
    quarantined.push({ path: join(store.quarantineDir, name), bytes: await dirBytes(join(store.quarantineDir, name)) });
  if (opts.delete) {
    const active = await opts.activeRuns();
    if (active.length > 0)
      throw new Error(
        `gc: run ${active.join(', ')} is in progress on this store; nothing deleted (try again when it has finished)`,
      );
    if (unreadable.length > 0)
      throw new Error(
        `gc: run record ${unreadable[0]} cannot be read, so what it reaches is unknown; nothing deleted (move or repair it first)`,
      );
    if (damaged.length > 0)
      throw new Error(
        `gc: ${damaged[0]!.path}: ${damaged[0]!.reason}; nothing deleted (xclass verify --repair quarantines it first)`,
      );
    if (opts.all !== true && runs.length === 0 && unreachable.length > 0)
      throw new Error(
        `gc: ${store.runsDir} holds no run record, so no artifact can be shown reachable; nothing deleted (xclass gc --delete --all removes all ${unreachable.length})`,
      );
    const share = metas.length > 0 ? unreachable.length / metas.length : 0;
    const maxShare = opts.maxShare ?? 1;
    if (opts.all !== true && share > maxShare)
      throw new Error(
        `gc: it would remove ${unreachable.length} of ${metas.length} artifacts (${Math.round(share * 100)}%, more than config store.gc_max_share ` +
          `${maxShare}); nothing deleted (xclass gc --delete --all removes them)`,
      );
    // a stage folder or artifact folder that is a symlink out of the store is never followed: nothing outside is deleted
    const root = await fs.realpath(store.root);
    for (const a of unreachable) {
      const real = await fs.realpath(store.dir(a.stage, a.id));
      if (!real.startsWith(`${root}/`))
        throw new Error(
          `gc: ${store.dir(a.stage, a.id)} resolves to ${real}, outside the store ${root}; nothing deleted (replace the symlink with a folder)`,
        );
    }
    for (const a of unreachable) await fs.rm(store.dir(a.stage, a.id), { recursive: true, force: true });
    for (const q of quarantined) await fs.rm(q.path, { recursive: true, force: true });
  }
  return { runs: runs.length, reachable: reached.size, unreachable, quarantined, deleted: opts.delete };
}

async function dirBytes(path: string): Promise<number> {
  let total = 0;
  for (const entry of await fs.readdir(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    total += entry.isDirectory() ? await dirBytes(p) : (await fs.stat(p)).size;
  }
  return total;
}
