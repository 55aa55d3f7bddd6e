// Classifying a field at survey scale (issue 12's benchmark; issue 16, item 4). A model
// is trained on the bundled data; then, per size, a synthetic field is written: N X-ray
// sources (CSC 2.0 layout, CSV) whose fluxes, errors and Gaia magnitudes are resampled
// from the MUWCLASS table, and a Gaia DR3 catalog (CSV) of M sources at 0.01 per arcsec^2
// (a crowded Galactic field) holding each X-ray source's counterpart where its resampled
// row has Gaia photometry, offset by its positional error. Each size is classified in
// a fresh process (`xclass classify`'s own planning, embedded engine and output files) so
// its peak memory is its own. Printed: wall time, peak RSS, the split over the classify
// step's phases (read, match, translate, predict, write) and the output (the CSV and region
// file streamed from the artifact), and how each grows with N and M;
// then two sizes again on a Temporal dev server with two worker processes.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { packageRoot } from '../config/paths.js';
import { loadConfig } from '../config/load.js';
import { openStore } from '../engine/plan.js';
import { planClassify, planZones } from '../engine/classify-plan.js';
import { runEmbedded } from '../engine/embedded.js';
import { buildClassifyDag } from '../workflows/classify.js';
import { classifyOutput } from '../report/classify.js';
import { writePieces, writeTableFile } from '../report/table-writers.js';
import { syntheticField, trainBenchModel } from './support/field.js';
import { figure } from './support/figures.js';
import { peakRssMb, startDevServer, startWorkers, stepsDone } from './support/temporal-server.js';

const root = packageRoot();
const cli = resolve(root, 'bin', 'xclass.js');
const self = resolve(root, 'dist', 'bench', 'classify.js');

interface ChildResult {
  wall_s: number;
  phases: Record<string, number>;
  max_rss_mb: number;
  rows: number;
  /** the classify_zone steps (1: the field in one step) */
  zones: number;
}

// ---- child: one classification, timed by phase --------------------------------------
if (process.argv[2] === '--child') {
  const [, , , storePath, modelId, xray, catalog, ...sets] = process.argv;
  const config = loadConfig({ sets: [`store.path=${JSON.stringify(storePath)}`, ...sets] });
  const store = openStore(config);
  const t0 = performance.now();
  const model = { stage: 'train' as const, id: modelId! };
  const { params, context } = await planClassify(config, store, model, {
    table: xray!,
    catalogs: [`${catalog}=gaia_dr3`],
    cwd: process.cwd(),
  });
  // as `xclass classify` does: a step per declination zone, merged by the classify step
  const zones = await planZones(params, context);
  const phases: Record<string, number> = { plan: (performance.now() - t0) / 1000 };
  let phase = 'start';
  let since = performance.now();
  const { dag, external } = buildClassifyDag(
    params,
    context,
    { model, calibration: null, xrayModel: null, xrayCalibration: null },
    zones,
  );
  const result = await runEmbedded(dag, {
    store,
    concurrency: 1,
    retry: { ...config.retry, maximum_attempts: 1 },
    threads: false,
    external,
    onStepProgress: (_key, _done, _total, note) => {
      const name = (note ?? '').split(' ')[0]!;
      if (name === phase) return;
      const now = performance.now();
      phases[phase] = (phases[phase] ?? 0) + (now - since) / 1000;
      phase = name;
      since = now;
    },
  });
  phases[phase] = (phases[phase] ?? 0) + (performance.now() - since) / 1000;
  delete phases['start'];
  const step = result.steps.find((x) => x.stage === 'classify')!;
  if (step.status !== 'done') throw new Error(step.error ?? 'classify failed');
  // as `xclass classify` does after the merge: the result table and the region file, streamed from the artifact
  const t1 = performance.now();
  const { table, regions } = await classifyOutput(store, { stage: 'classify', id: step.artifactId! });
  const base = join(mkdtempSync(join(tmpdir(), 'xclass-bench-out-')), 'field');
  await writeTableFile(table, 'csv', `${base}.csv`);
  await writePieces(`${base}.reg`, regions());
  rmSync(dirname(base), { recursive: true, force: true });
  phases['output'] = (performance.now() - t1) / 1000;
  const out: ChildResult = {
    wall_s: (performance.now() - t0) / 1000,
    phases,
    max_rss_mb: process.resourceUsage().maxRSS / 1024,
    rows: (await store.readMeta('classify', step.artifactId!)).row_count,
    zones: zones?.zones.length ?? 1,
  };
  console.log(JSON.stringify(out));
  process.exit(0);
}

/** A child process run to its end without blocking this one's event loop: its exit status and stderr. */
function spawnAsync(cmd: string, args: string[], cwd: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (status) => done({ status, stderr }));
  });
}

// ---- parent: train once, then one field per size -------------------------------------
const tmp = mkdtempSync(join(tmpdir(), 'xclass-bench-classify-'));
const storePath = join(tmp, 'store');
const modelId = trainBenchModel(storePath);

// every size by default; `node dist/bench/classify.js 10000x100000 300000x1000000` runs those alone
const chosen = process.argv.slice(2).map((a) => {
  const m = /^(\d+)x(\d+)$/.exec(a);
  if (!m) throw new Error(`bench/classify: sizes are NxM (X-ray sources x catalog rows), not '${a}'`);
  return [Number(m[1]), Number(m[2])] as [number, number];
});
const sizes: [number, number][] =
  chosen.length > 0
    ? chosen
    : [
        [10_000, 100_000],
        [10_000, 1_000_000],
        [100_000, 1_000_000],
        [300_000, 1_000_000],
        [10_000, 10_000_000],
        [1_000_000, 10_000_000],
      ];
const results: { n: number; m: number; r: ChildResult }[] = [];
const files = new Map<string, { xray: string; catalog: string }>();
for (const [n, m] of sizes) {
  const { xray, catalog } = await syntheticField(tmp, n, m);
  files.set(`${n}/${m}`, { xray, catalog });
  // the single-value path: Monte-Carlo draws have their own benchmark (bench/uncertainty.ts)
  const child = spawnSync(
    process.execPath,
    ['--max-old-space-size=8192', self, '--child', storePath, modelId, xray, catalog, 'uncertainty.mc.draws=0'],
    {
      cwd: tmp,
      encoding: 'utf8',
    },
  );
  if (child.status !== 0) {
    console.log(
      `N=${n} M=${m}: failed (exit ${child.status}, signal ${child.signal}): ${child.stderr.trim().split('\n').slice(-3).join(' | ')}`,
    );
    continue;
  }
  const r = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as ChildResult;
  results.push({ n, m, r });
  const split = Object.entries(r.phases)
    .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
    .join(', ');
  console.log(
    `N=${n.toLocaleString('en')} X-ray sources, M=${m.toLocaleString('en')} Gaia rows, ${r.zones} zone step${r.zones > 1 ? 's' : ''}: ${r.wall_s.toFixed(1)} s, peak RSS ${r.max_rss_mb.toFixed(0)} MB (${split})`,
  );
  figure({ bench: 'classify', figure: `N=${n} M=${m} wall`, value: Number(r.wall_s.toFixed(2)), unit: 's' });
  figure({ bench: 'classify', figure: `N=${n} M=${m} peak RSS`, value: Math.round(r.max_rss_mb), unit: 'MB' });
}
// growth: time per source between sizes, and the catalog's own cost at fixed N
const at = (n: number, m: number) => results.find((x) => x.n === n && x.m === m)?.r;
const growth = (a: ChildResult | undefined, b: ChildResult | undefined, what: string, factor: number) => {
  if (!a || !b) return;
  const ratio = b.wall_s / a.wall_s;
  console.log(
    `${what}: x${factor} in size -> x${ratio.toFixed(2)} in time, x${(b.max_rss_mb / a.max_rss_mb).toFixed(2)} in peak memory`,
  );
  figure({
    bench: 'classify',
    figure: `time growth, ${what}`,
    value: Number(ratio.toFixed(2)),
    unit: `x for x${factor}`,
  });
};
growth(at(10_000, 100_000), at(10_000, 1_000_000), 'catalog M 1e5 -> 1e6 at N 1e4', 10);
growth(at(10_000, 1_000_000), at(100_000, 1_000_000), 'X-ray N 1e4 -> 1e5 at M 1e6', 10);
growth(at(100_000, 1_000_000), at(300_000, 1_000_000), 'X-ray N 1e5 -> 3e5 at M 1e6', 3);

// ---- the same on Temporal: a dev server, two worker processes on this machine ---------
// A field larger than classify.zone_sources is a classify_zone step per declination zone:
// the workers share them (printed: how many each did) and one merges them.
const { address, stop } = await startDevServer(tmp);
try {
  for (const [n, m] of [
    [10_000, 100_000],
    [100_000, 1_000_000],
  ] as const) {
    const f = files.get(`${n}/${m}`);
    const embedded = at(n, m);
    if (!f || !embedded) continue;
    // the trained store without the embedded engine's classify artifacts (else a cache hit)
    const store = join(tmp, `temporal-${n}`);
    cpSync(storePath, store, { recursive: true, filter: (src) => !src.startsWith(join(storePath, 'classify')) });
    const queue = `bench-classify-${n}`;
    const ws = startWorkers(2, store, queue, address);
    await sleep(3000); // workers bundle their workflow code before polling
    try {
      const t0 = performance.now();
      // not spawnSync: this process reads the workers' logs (their pipes) while the client runs
      const r = await spawnAsync(
        process.execPath,
        [
          cli,
          '--set',
          `store.path=${JSON.stringify(store)}`,
          '--set',
          `temporal.task_queue=${JSON.stringify(queue)}`,
          // the single-value path, as the embedded runs it is compared with
          '--set',
          'uncertainty.mc.draws=0',
          '--json',
          'classify',
          f.xray,
          '--model',
          modelId,
          '--catalog',
          `${f.catalog}=gaia_dr3`,
          '--engine',
          'temporal',
          '--address',
          address,
          '--out',
          join(tmp, `temporal-${n}.csv`),
        ],
        tmp,
      );
      const wall = (performance.now() - t0) / 1000;
      if (r.status !== 0) {
        console.log(`Temporal N=${n} M=${m}: failed: ${r.stderr.trim().split('\n').at(-1)}`);
        continue;
      }
      const peaks = ws.map((w) => peakRssMb(w.pid) ?? 0);
      // how the zone steps spread over the two workers
      const zones = ws.map((w) => stepsDone(w, 'classify_zone'));
      const share = zones.map((z) => `${z} (${((100 * z) / Math.max(1, zones[0]! + zones[1]!)).toFixed(0)}%)`);
      console.log(
        `Temporal, 2 workers, N=${n.toLocaleString('en')} M=${m.toLocaleString('en')}: ${wall.toFixed(1)} s ` +
          `(embedded ${embedded.wall_s.toFixed(1)} s, ratio ${(wall / embedded.wall_s).toFixed(2)}); worker peak RSS ${peaks.map((p) => p.toFixed(0)).join(' and ')} MB; ` +
          `zone steps per worker ${share.join(' and ')}`,
      );
      figure({
        bench: 'classify',
        figure: `Temporal 2 workers / embedded, N=${n} M=${m}`,
        value: Number((wall / embedded.wall_s).toFixed(3)),
        unit: 'ratio',
      });
    } finally {
      for (const w of ws) w.kill('SIGTERM');
    }
  }
} finally {
  stop();
}
