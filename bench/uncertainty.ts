// Monte-Carlo over measurement errors at field scale (issue 13): 10^4 X-ray sources, each
// with a Gaia counterpart to be translated label-free into the model's HST filters,
// classified with 100 draws of every flux and magnitude through translation, features
// and both forests (the `linear` translation, the default), against the same field
// without draws; and, on 10^3 of the sources, the `exact` translation (a full grid fit
// per draw) against `linear`, for what the linearisation buys. Each run is a fresh
// process (bench/classify.ts's child: `xclass classify`'s own planning and embedded
// engine), so its peak memory is its own. The goal: 10^4 sources x 100 draws under 60 s
// on 2 cores.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { packageRoot } from '../config/paths.js';
import { figure } from './support/figures.js';
import { syntheticField, trainBenchModel } from './support/field.js';

const root = packageRoot();
const child = resolve(root, 'dist', 'bench', 'classify.js');
const tmp = mkdtempSync(join(tmpdir(), 'xclass-bench-uncertainty-'));
const storePath = join(tmp, 'store');
const modelId = trainBenchModel(storePath);

interface ChildResult {
  wall_s: number;
  phases: Record<string, number>;
  max_rss_mb: number;
  rows: number;
}

function classify(xray: string, catalog: string, sets: string[]): ChildResult {
  const r = spawnSync(
    process.execPath,
    ['--max-old-space-size=8192', child, '--child', storePath, modelId, xray, catalog, ...sets],
    {
      cwd: tmp,
      encoding: 'utf8',
    },
  );
  if (r.status !== 0)
    throw new Error(`classify ${sets.join(' ')} failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildResult;
}

const show = (what: string, r: ChildResult) =>
  console.log(
    `${what}: ${r.wall_s.toFixed(1)} s, peak RSS ${r.max_rss_mb.toFixed(0)} MB (${Object.entries(r.phases)
      .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
      .join(', ')})`,
  );

const big = await syntheticField(tmp, 10_000, 100_000);
const none = classify(big.xray, big.catalog, ['uncertainty.mc.draws=0']);
show('N=10,000, no draws', none);
/** 100 draws of each of the 10^4 sources through one translation, with its wall-time figure (target: under 60 s on 2 cores). */
function bigDraws(translation: 'linear' | 'exact'): ChildResult {
  const r = classify(big.xray, big.catalog, [
    'uncertainty.mc.draws=100',
    `uncertainty.mc.translation="${translation}"`,
  ]);
  show(`N=10,000, 100 draws, ${translation} translation`, r);
  figure({
    bench: 'uncertainty',
    figure: `MC 100 draws x 1e4 sources (${translation}) wall`,
    value: Number(r.wall_s.toFixed(2)),
    unit: 's',
    target: '< 60',
  });
  return r;
}
const linear = bigDraws('linear');
figure({
  bench: 'uncertainty',
  figure: 'MC 100 draws x 1e4 sources peak RSS',
  value: Math.round(linear.max_rss_mb),
  unit: 'MB',
});
figure({
  bench: 'uncertainty',
  figure: 'MC 100 draws / no draws, 1e4 sources',
  value: Number((linear.wall_s / none.wall_s).toFixed(2)),
  unit: 'ratio',
});

const small = await syntheticField(tmp, 1_000, 10_000);
const smallLinear = classify(small.xray, small.catalog, [
  'uncertainty.mc.draws=100',
  'uncertainty.mc.translation="linear"',
]);
const smallExact = classify(small.xray, small.catalog, [
  'uncertainty.mc.draws=100',
  'uncertainty.mc.translation="exact"',
]);
show('N=1,000, 100 draws, linear translation', smallLinear);
show('N=1,000, 100 draws, exact translation', smallExact);
figure({
  bench: 'uncertainty',
  figure: 'MC exact / linear translation, 1e3 sources',
  value: Number((smallExact.wall_s / smallLinear.wall_s).toFixed(2)),
  unit: 'ratio',
});

// the issue-28 target: exact Monte-Carlo (a full grid fit per draw) of 10^4 sources under 60 s on 2 cores
bigDraws('exact');
