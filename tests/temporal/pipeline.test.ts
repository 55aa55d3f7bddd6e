import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactDirs, lastJsonLine, ROOT, runCli, spawnCli, tempDir } from '../helpers.js';
import { DevServer } from './server.js';

interface RunEnd {
  status: string;
  steps: { key: string; artifactId: string; status: string }[];
}

const lastJson = (out: string) => lastJsonLine(out) as RunEnd;
/**
 * Every run here, the embedded reference included: 20 Monte-Carlo draws a source, not 100.
 * The draws still run on Temporal (heartbeats, retries, the same ids as embedded); what is
 * under test is the engine, and the draws were two thirds of each run's time.
 */
const storeArgs = (store: string) => [
  '--set',
  `store.path=${JSON.stringify(store)}`,
  '--set',
  'uncertainty.mc.draws=20',
];

/** The artifact ids of an embedded run: the reference every Temporal run must reproduce. */
let embedded: Map<string, string>;
/** the embedded run's store: it holds the model the classify test reads */
const embeddedStore = join(tempDir(), 'store');
let server: DevServer;

function worker(store: string, address: string, extra: string[] = []) {
  const w = spawnCli([...storeArgs(store), ...extra, 'worker', '--address', address]);
  let log = '';
  w.stderr.on('data', (d: Buffer) => (log += d.toString()));
  return { proc: w, log: () => log };
}

/** A CLI command in its own process: the process, and its exit code and output once it closes. */
function spawnCollected(args: string[]) {
  const p = spawnCli(args);
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    p.on('close', (code) => resolve({ code, out, err })),
  );
  return { proc: p, done };
}

/** `args` (a command and its arguments) on the Temporal server at `address`, with `extra` settings. */
function onTemporal(store: string, address: string, extra: string[], args: string[]) {
  return spawnCollected([
    ...storeArgs(store),
    ...extra,
    '--json',
    ...args,
    '--engine',
    'temporal',
    '--address',
    address,
  ]);
}

function temporalRun(store: string, address: string, extra: string[] = []) {
  return onTemporal(store, address, extra, ['run', '--no-ablations']);
}

/** The steps a worker's log shows started and not finished (`worker PID: STAGE KEY started|done|failed`). */
function inFlight(log: string): string[] {
  const open = new Set<string>();
  for (const m of log.matchAll(/^worker \d+: (\w+) (\S+) (started|done|failed)$/gm)) {
    if (m[3] === 'started') open.add(`${m[1]} ${m[2]}`);
    else open.delete(`${m[1]} ${m[2]}`);
  }
  return [...open];
}

/**
 * Polls until `event` has happened: however long a busy machine takes to get there, the
 * test's own timeout is the only guard.
 */
async function until(event: () => boolean): Promise<void> {
  while (!event()) await sleep(25);
}

/**
 * SIGKILLs a worker from the handler of the very output that makes `event` true (its log
 * already holds it), not at the next poll: the step it reported started is still running
 * when the signal is sent.
 */
function killWhen(w: ReturnType<typeof worker>, event: (log: string) => boolean): Promise<void> {
  return new Promise((killed) => {
    const check = () => {
      if (!event(w.log())) return;
      w.proc.stderr!.off('data', check);
      w.proc.kill('SIGKILL');
      killed();
    };
    w.proc.stderr!.on('data', check);
    check();
  });
}

async function stop(p: { proc: import('node:child_process').ChildProcess }) {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  const exited = new Promise((r) => p.proc.once('exit', r));
  p.proc.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
}

function expectComplete(store: string, run: RunEnd) {
  expect(run.status).toBe('succeeded');
  const ids = new Map(run.steps.map((s) => [s.key, s.artifactId]));
  expect(ids).toEqual(embedded);
  // one intact copy of each artifact, nothing half-written
  expect(artifactDirs(store)).toHaveLength(new Set(embedded.values()).size);
  for (const dir of artifactDirs(store)) {
    const meta = JSON.parse(readFileSync(join(store, dir, 'meta.json'), 'utf8')) as { files: { name: string }[] };
    expect(readdirSync(join(store, dir)).sort()).toEqual([...meta.files.map((f) => f.name), 'meta.json'].sort());
  }
  expect(readdirSync(join(store, '_tmp')).filter((n) => !n.endsWith('.tmp'))).toEqual([]);
}

beforeAll(async () => {
  const r = runCli([...storeArgs(embeddedStore), '--json', 'run', '--no-ablations']);
  expect(r.code, r.stderr).toBe(0);
  embedded = new Map(lastJson(r.stdout).steps.map((s) => [s.key, s.artifactId]));
  server = await DevServer.start(join(tempDir(), 'temporal.db'));
}, 180_000);

afterAll(async () => {
  await server?.down();
});

/**
 * `xclass classify` of a fixture field against a fixture catalog (`name` or `name=preset`)
 * with the embedded run's final model, writing `out` in a fresh folder (`dir`).
 */
function classifyArgs(table: string, catalog: string) {
  const fix = join(ROOT, 'tests', 'fixtures', 'classify');
  const dir = tempDir();
  const args = (out: string) => [
    'classify',
    join(fix, table),
    '--model',
    embedded.get('final/train')!,
    '--catalog',
    join(fix, catalog),
    '--out',
    join(dir, out),
  ];
  return Object.assign(args, { dir });
}

describe('the pipeline on a real Temporal server', () => {
  it('with two worker processes yields exactly the embedded engine artifact ids', async () => {
    const store = join(tempDir(), 'store');
    const queue = ['--set', 'temporal.task_queue="two-workers"'];
    const a = worker(store, server.address, queue);
    const b = worker(store, server.address, queue);
    try {
      const run = await temporalRun(store, server.address, queue).done;
      expect(run.code, run.err + a.log() + b.log()).toBe(0);
      expectComplete(store, lastJson(run.out));
      // the client followed the run through the workflow's progress query
      const progress = run.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { event: string; done?: number; total?: number })
        .filter((e) => e.event === 'progress');
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.every((p) => p.total === 30 && p.done! <= 30)).toBe(true); // 24 parent steps + 5 fold branches + the X-ray-only model's branch
    } finally {
      await stop(a);
      await stop(b);
    }
  }, 240_000);

  it('finishes on the other worker when one is killed with SIGKILL during training', async () => {
    const store = join(tempDir(), 'store');
    // a short heartbeat timeout: the server notices the dead worker within seconds
    const opts = ['--set', 'temporal.task_queue="kill"', '--set', 'temporal.heartbeat_timeout_s=3'];
    const a = worker(store, server.address, opts);
    const run = temporalRun(store, server.address, opts);
    let b: ReturnType<typeof worker> | undefined;
    try {
      // killed as soon as worker a is training
      const closed = new Promise((r) => a.proc.stderr!.once('close', r));
      await killWhen(a, (log) => inFlight(log).some((s) => s.startsWith('train ')));
      // every line the worker wrote before it died is read: a step it logged done was also reported done
      await Promise.race([closed, sleep(5000)]);
      const killedDuring = inFlight(a.log()).filter((s) => s.startsWith('train '));
      expect(killedDuring.length, a.log()).toBeGreaterThan(0);
      b = worker(store, server.address, opts);
      const res = await run.done;
      expect(res.code, res.err + b.log()).toBe(0);
      expectComplete(store, lastJson(res.out));
      // the other worker ran to the end every step the killed one was in the middle of
      for (const s of killedDuring)
        expect(b.log(), s).toMatch(new RegExp(`^worker \\d+: ${s.replace(/[/.]/g, '\\$&')} done$`, 'm'));
    } finally {
      await stop(a);
      if (b) await stop(b);
    }
  }, 300_000);

  it('resumes and completes when the server is stopped and restarted mid-run', async () => {
    const store = join(tempDir(), 'store');
    const opts = ['--set', 'temporal.task_queue="restart"'];
    const w = worker(store, server.address, opts);
    const run = temporalRun(store, server.address, opts);
    try {
      await until(() => artifactDirs(store).some((d) => d.startsWith('sed/')));
      expect(artifactDirs(store).some((d) => d.startsWith('sed/'))).toBe(true);
      await server.down();
      await sleep(1000);
      await server.up(); // same port, same database file
      const res = await run.done;
      expect(res.code, res.err + w.log()).toBe(0);
      expectComplete(store, lastJson(res.out));
    } finally {
      await stop(w);
    }
  }, 300_000);

  it('classifies a field on Temporal: the same classify artifact as the embedded engine', async () => {
    const args = classifyArgs('ngc3532_csc.fits', 'ngc3532_gaia_sim.fits');
    const dir = args.dir;
    const queue = ['--set', 'temporal.task_queue="classify"'];
    const w = worker(embeddedStore, server.address, queue);
    try {
      const { code, out, err } = await onTemporal(embeddedStore, server.address, queue, args('t.csv')).done;
      expect(code, err + w.log()).toBe(0);
      const t = lastJsonLine(out) as { artifact: string; cache_hit: boolean; rows: number };
      expect([t.rows, t.cache_hit]).toEqual([25, false]);
      expect(w.log()).toMatch(/classify classify started/);
      // the embedded engine finds the very same artifact: a cache hit on the same content id
      const e = runCli([...storeArgs(embeddedStore), '--json', ...args('e.csv')]);
      expect(e.code, e.stderr).toBe(0);
      const emb = lastJsonLine(e.stdout) as { artifact: string; cache_hit: boolean };
      expect([emb.artifact, emb.cache_hit]).toEqual([t.artifact, true]);
      expect(readFileSync(join(dir, 'e.csv'), 'utf8')).toBe(readFileSync(join(dir, 't.csv'), 'utf8'));
    } finally {
      await stop(w);
    }
  }, 120_000);

  it('classifies a field zone by zone on Temporal, a worker killed with SIGKILL mid-field: the rows of one step', async () => {
    const field = classifyArgs('ngc3532_csc.csv', 'ngc3532_gaia_sim.csv=gaia_dr3');
    const dir = field.dir;
    // 500 draws a source here, so a zone step of 3 sources lasts (about a quarter of a second
    // on 2 cores) well beyond the moment between the worker reporting it started and the kill
    const draws = ['--set', 'uncertainty.mc.draws=500'];
    // the reference: the embedded engine, the field in one step
    const one = runCli([
      ...storeArgs(embeddedStore),
      ...draws,
      '--set',
      'classify.zone_sources=1000',
      '--json',
      ...field('one.csv'),
    ]);
    expect(one.code, one.stderr).toBe(0);
    // 25 sources in zones of at most 3: 9 classify_zone steps, then the classify step that merges them
    const opts = [
      ...draws,
      '--set',
      'temporal.task_queue="zones"',
      '--set',
      'temporal.heartbeat_timeout_s=3',
      '--set',
      'classify.zone_sources=3',
    ];
    const a = worker(embeddedStore, server.address, opts);
    let b: ReturnType<typeof worker> | undefined;
    const run = onTemporal(embeddedStore, server.address, opts, field('zones.csv'));
    const zonesDone = (log: string) => [...log.matchAll(/^worker \d+: classify_zone (\S+) done$/gm)].map((m) => m[1]);
    try {
      // mid-field: worker a has finished a zone and is in the middle of another
      const closed = new Promise((r) => a.proc.stderr!.once('close', r));
      await killWhen(
        a,
        (log) => zonesDone(log).length > 0 && inFlight(log).some((x) => x.startsWith('classify_zone ')),
      );
      await Promise.race([closed, sleep(5000)]);
      const killedDuring = inFlight(a.log()).filter((s) => s.startsWith('classify_zone '));
      expect(killedDuring.length, a.log()).toBeGreaterThan(0);
      b = worker(embeddedStore, server.address, opts);
      const { code, err } = await run.done;
      expect(code, err + b.log()).toBe(0);
      // the other worker ran the zones the killed one was in the middle of, and every zone it had not done
      for (const s of killedDuring)
        expect(b.log(), s).toMatch(new RegExp(`^worker \\d+: ${s.replace(/[/.]/g, '\\$&')} done$`, 'm'));
      expect(new Set([...zonesDone(a.log()), ...zonesDone(b.log())]).size).toBe(9);
      expect(b.log()).toMatch(/^worker \d+: classify classify done$/m);
      // the same rows, to the byte, as the field classified in one step
      expect(readFileSync(join(dir, 'zones.csv'), 'utf8')).toBe(readFileSync(join(dir, 'one.csv'), 'utf8'));
    } finally {
      await stop(a);
      if (b) await stop(b);
    }
  }, 300_000);
});
