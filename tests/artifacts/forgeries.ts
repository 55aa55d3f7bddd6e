import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { collectGarbage, verifyStore } from '../../artifacts/maintenance.js';
import { ArtifactStore } from '../../artifacts/store.js';
import { canonicalJson, sha256Hex } from '../../artifacts/hash.js';
import { activeRuns } from '../../engine/runs.js';
import { referencePredictionsTable } from '../../schemas/tables.js';
import { artifactMeta, prediction, referenceMeta, writeRunRecord } from './fixtures.js';

/**
 * Forged meta.json files and gc situations (issue 25): each staged on a fresh small
 * store and observed: what the cache check says (the line), whether `verify` finds it,
 * whether a read is refused, and whether a rewrite (what a run does on a cache miss)
 * puts the true content back.
 */

const rows = [prediction('a', 0.25), prediction('b', 0.5)];
const otherRows = [prediction('x', 0.1), prediction('y', 0.2)];

type Json = Record<string, unknown>;

interface Forged {
  store: ArtifactStore;
  id: string;
  dir: string;
  other: { id: string; dir: string };
}

async function twoArtifacts(base: string): Promise<Forged> {
  const store = new ArtifactStore(base);
  const m = referenceMeta({ n: 1 });
  const o = referenceMeta({ n: 2 });
  await store.write(m, { table: referencePredictionsTable, rows });
  await store.write(o, { table: referencePredictionsTable, rows: otherRows });
  return { store, id: m.id, dir: store.dir('reference', m.id), other: { id: o.id, dir: store.dir('reference', o.id) } };
}

const metaPath = (dir: string) => join(dir, 'meta.json');
const readJson = (dir: string) => JSON.parse(readFileSync(metaPath(dir), 'utf8')) as Json;
const writeJson = (dir: string, j: unknown) => writeFileSync(metaPath(dir), JSON.stringify(j, null, 2));
const edit = (change: (m: Json) => void) => (f: Forged) => {
  const m = readJson(f.dir);
  change(m);
  writeJson(f.dir, m);
};
/** The edit a careful forger makes: the change, then meta_sha256 recomputed over it. */
const resealed = (change: (m: Json) => void) => (f: Forged) => {
  const m = readJson(f.dir);
  change(m);
  delete m['meta_sha256'];
  writeJson(f.dir, { ...m, meta_sha256: sha256Hex(canonicalJson(m)) });
};
const files = (m: Json) => m['files'] as { name: string; bytes: number; sha256: string }[];

/** [name, forgery, what must happen: detected, or the honest limit] */
export const FORGERIES: [string, (f: Forged) => void, 'detected' | 'harmless' | 'not detected'][] = [
  ['a params value edited', edit((m) => ((m['params'] as Json)['n'] = 3)), 'detected'],
  ['a params key added', edit((m) => ((m['params'] as Json)['extra'] = true)), 'detected'],
  ['a params key removed', edit((m) => delete (m['params'] as Json)['n']), 'detected'],
  ['an input id edited', edit((m) => (m['inputs'] = { upstream: 'f'.repeat(64) })), 'detected'],
  ['an input added (another artifact)', (f) => edit((m) => (m['inputs'] = { upstream: f.other.id }))(f), 'detected'],
  ['stage_version bumped', edit((m) => (m['stage_version'] = 2)), 'detected'],
  ['stage renamed', edit((m) => (m['stage'] = 'train')), 'detected'],
  ['id set to another artifact', (f) => edit((m) => (m['id'] = f.other.id))(f), 'detected'],
  [
    "another artifact's meta.json copied in, id set to the folder's",
    (f) => writeJson(f.dir, { ...readJson(f.other.dir), id: f.id }),
    'detected',
  ],
  [
    "another artifact's folder copied over, id set and meta_sha256 recomputed",
    (f) => {
      rmSync(f.dir, { recursive: true });
      cpSync(f.other.dir, f.dir, { recursive: true });
      resealed((m) => (m['id'] = f.id))(f);
    },
    'detected',
  ],
  ['a file digest edited', edit((m) => (files(m)[0]!.sha256 = '0'.repeat(64))), 'detected'],
  ['a file size edited', edit((m) => (files(m)[0]!.bytes += 1)), 'detected'],
  ['a file dropped from the list', edit((m) => (m['files'] = [])), 'detected'],
  [
    'a file listed that is not there',
    edit((m) => files(m).push({ name: 'model.bin', bytes: 1, sha256: '0'.repeat(64) })),
    'detected',
  ],
  ['table_rows edited', edit((m) => ((m['table_rows'] as Json)['data'] = 1)), 'detected'],
  ['row_count edited', edit((m) => (m['row_count'] = 99)), 'detected'],
  ["a table's schema renamed", edit((m) => ((m['tables'] as Json)['data'] = 'sources')), 'detected'],
  ['facts edited', edit((m) => (m['facts'] = { feature_names: ['x'] })), 'detected'],
  ['notes edited', edit((m) => (m['notes'] = { skipped: 0 })), 'detected'],
  ['created_at edited', edit((m) => (m['created_at'] = '2020-01-01T00:00:00.000Z')), 'detected'],
  ['code_version edited', edit((m) => (m['code_version'] = 'deadbeef')), 'detected'],
  ['meta_sha256 garbled', edit((m) => (m['meta_sha256'] = 'x')), 'detected'],
  [
    "meta.json a symlink to another artifact's",
    (f) => (rmSync(metaPath(f.dir)), symlinkSync(metaPath(f.other.dir), metaPath(f.dir))),
    'detected',
  ],
  [
    "data.parquet a symlink to another artifact's",
    (f) => (
      rmSync(join(f.dir, 'data.parquet')),
      symlinkSync(join(f.other.dir, 'data.parquet'), join(f.dir, 'data.parquet'))
    ),
    'detected',
  ],
  ['meta.json garbled', (f) => writeFileSync(metaPath(f.dir), '{"id": '), 'detected'],
  ['meta.json empty', (f) => writeFileSync(metaPath(f.dir), ''), 'detected'],
  ['meta.json deleted', (f) => rmSync(metaPath(f.dir)), 'detected'],
  [
    'meta.json reformatted, keys reordered (same content)',
    (f) =>
      writeFileSync(metaPath(f.dir), JSON.stringify(Object.fromEntries(Object.entries(readJson(f.dir)).reverse()))),
    'harmless',
  ],
  // the limits: there is no secret, so a forger who rewrites the seal, or removes it, is not caught by the check
  ['facts edited and meta_sha256 recomputed', resealed((m) => (m['facts'] = { feature_names: ['x'] })), 'not detected'],
  [
    'meta_sha256 removed and facts edited (read as older XClass; verify counts it unsealed)',
    edit((m) => (delete m['meta_sha256'], (m['facts'] = { x: 1 }))),
    'not detected',
  ],
];

export interface ForgeryOutcome {
  name: string;
  expected: 'detected' | 'harmless' | 'not detected';
  /** the cache check's line, or `ok` */
  line: string;
  detected: boolean;
  verifyFound: boolean;
  readRefused: boolean;
  /** after a rewrite (a run's cache miss), the artifact is intact and holds the true rows */
  restored: boolean;
  unsealed: number;
}

export async function runForgeries(base: string): Promise<ForgeryOutcome[]> {
  const out: ForgeryOutcome[] = [];
  let k = 0;
  for (const [name, forge, expected] of FORGERIES) {
    const f = await twoArtifacts(join(base, String(k++)));
    forge(f);
    const state = await f.store.check('reference', f.id);
    const report = await verifyStore(f.store, { repair: false });
    const readRefused = await f.store.readTable(referencePredictionsTable, { stage: 'reference', id: f.id }).then(
      (r) => JSON.stringify(r) !== JSON.stringify(rows),
      () => true,
    );
    // what a run does on a cache miss: the damaged copy is quarantined and the true content written
    const m = referenceMeta({ n: 1 });
    if (state.state !== 'ok') await f.store.write(m, { table: referencePredictionsTable, rows });
    const after = await f.store.check('reference', f.id);
    const restored =
      after.state === 'ok' &&
      JSON.stringify(await f.store.readTable(referencePredictionsTable, { stage: 'reference', id: f.id })) ===
        JSON.stringify(rows);
    out.push({
      name,
      expected,
      line: state.state === 'damaged' ? `${state.path.replace(base, '$T')}: ${state.reason}` : state.state,
      detected: state.state === 'damaged',
      verifyFound: report.damaged.some((d) => d.id === f.id),
      readRefused,
      restored,
      unsealed: report.unsealed,
    });
  }
  return out;
}

export interface GcOutcome {
  name: string;
  line: string;
  deleted: number;
  expectedDeleted: number;
  outsideIntact: boolean;
}

/** A store with a record reaching `kept` (and its input `base`) and two orphans, so removing them is half the store. */
async function gcStore(dir: string) {
  const store = new ArtifactStore(dir);
  const base = referenceMeta({ n: 1 });
  const kept = artifactMeta('reference', referencePredictionsTable, { n: 2 }, { inputs: { upstream: base.id } });
  const orphans = [referenceMeta({ n: 3 }), referenceMeta({ n: 4 })];
  for (const m of [base, kept, ...orphans]) await store.write(m, { table: referencePredictionsTable, rows });
  const writeRecord = (runId = 'run-20260101T000000Z-abcdef', artifactId = kept.id) =>
    writeRunRecord(store.runsDir, artifactId, runId);
  await new Promise((r) => setTimeout(r, 5)); // every artifact older than the gc
  return { store, base, kept, orphans, writeRecord };
}

type GcSetup = Awaited<ReturnType<typeof gcStore>> & { outside: string };

/** [name, set-up, options, artifacts it may delete] */
export const GC_SITUATIONS: [string, (s: GcSetup) => void, { all?: boolean; maxShare?: number }, number][] = [
  ['a store without run records (copied without _runs/)', () => {}, {}, 0],
  ['run records deleted (empty _runs/)', (s) => mkdirSync(s.store.runsDir, { recursive: true }), {}, 0],
  ['removing more than the configured share (2 of 4 > 0.4)', (s) => s.writeRecord(), { maxShare: 0.4 }, 0],
  ['the same with --all', (s) => s.writeRecord(), { all: true, maxShare: 0.4 }, 2],
  [
    'one orphan of many, within the share',
    (s) => (s.writeRecord(), s.writeRecord('run-20260101T000001Z-abcdef', s.orphans[0]!.id)),
    { maxShare: 0.5 },
    1,
  ],
  ['a record reaching through inputs (base kept)', (s) => s.writeRecord(), { maxShare: 0.5 }, 2],
  [
    'a run in progress (live _active marker)',
    (s) => {
      s.writeRecord();
      mkdirSync(join(s.store.root, '_active'), { recursive: true });
      writeFileSync(
        join(s.store.root, '_active', 'run-20260101T000002Z-abcdef.json'),
        JSON.stringify({ host: hostname(), pid: process.pid }),
      );
    },
    { maxShare: 0.5 },
    0,
  ],
  [
    'an unreadable _active marker (taken as a run in progress)',
    (s) => {
      s.writeRecord();
      mkdirSync(join(s.store.root, '_active'), { recursive: true });
      writeFileSync(join(s.store.root, '_active', 'run-20260101T000002Z-abcdef.json'), '{');
    },
    { maxShare: 0.5 },
    0,
  ],
  [
    'a garbled run record',
    (s) => (s.writeRecord(), writeFileSync(join(s.store.runsDir, 'run-20260101T000003Z-abcdef.json'), '{')),
    { maxShare: 0.5 },
    0,
  ],
  [
    'a run record naming another run (../../escaped)',
    (s) => {
      s.writeRecord();
      const p = join(s.store.runsDir, 'run-20260101T000004Z-abcdef.json');
      writeFileSync(
        p,
        JSON.stringify({
          ...(JSON.parse(readFileSync(join(s.store.runsDir, 'run-20260101T000000Z-abcdef.json'), 'utf8')) as Json),
          run_id: '../../escaped',
        }),
      );
    },
    { maxShare: 0.5 },
    0,
  ],
  [
    // its meta.json reads, so its inputs are known: an unreachable artifact with a damaged file goes with the rest
    'an unreachable artifact with a damaged data file',
    (s) => (s.writeRecord(), writeFileSync(join(s.store.dir('reference', s.orphans[0]!.id), 'data.parquet'), 'x')),
    { maxShare: 0.5 },
    2,
  ],
  [
    'a forged meta.json in place',
    (s) => {
      s.writeRecord();
      const dir = s.store.dir('reference', s.orphans[0]!.id);
      writeJson(dir, { ...readJson(dir), params: { n: 9 } });
    },
    { maxShare: 0.5 },
    0,
  ],
  [
    'an orphan whose folder is a symlink out of the store',
    (s) => {
      s.writeRecord();
      const dir = s.store.dir('reference', s.orphans[0]!.id);
      cpSync(dir, s.outside, { recursive: true });
      rmSync(dir, { recursive: true });
      symlinkSync(s.outside, dir);
    },
    { maxShare: 0.5 },
    0,
  ],
];

export async function runGcSituations(base: string): Promise<GcOutcome[]> {
  const out: GcOutcome[] = [];
  let k = 0;
  for (const [name, setUp, opts, expectedDeleted] of GC_SITUATIONS) {
    const dir = join(base, String(k++));
    const s = { ...(await gcStore(join(dir, 'store'))), outside: join(dir, 'outside') };
    setUp(s);
    const before = (await s.store.scan()).metas.length;
    let line: string;
    try {
      const r = await collectGarbage(s.store, { delete: true, activeRuns: () => activeRuns(s.store), ...opts });
      line = `deleted ${r.unreachable.length} unreachable`;
    } catch (err) {
      line = (err as Error).message.replaceAll(base, '$T');
    }
    const after = (await s.store.scan()).metas.length;
    out.push({
      name,
      line,
      deleted: before - after,
      expectedDeleted,
      outsideIntact: !existsSync(s.outside) || existsSync(join(s.outside, 'meta.json')),
    });
  }
  return out;
}
