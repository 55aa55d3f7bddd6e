// Pipeline wall time on the bundled data, embedded engine: an empty store (everything
// computed) against a warm one (every step a cache hit). Reference measured in the
// same run: DuckDB alone reading the raw catalog, the floor for any ingest.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { packageRoot, defaultDataDir } from '../config/paths.js';
import { sqlString, withConnection } from '../artifacts/duckdb.js';
import { figure } from './support/figures.js';

const root = packageRoot();
const store = join(mkdtempSync(join(tmpdir(), 'xclass-bench-')), 'store');

function run(): { pipelineMs: number; processMs: number; hits: number; steps: number } {
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [resolve(root, 'bin', 'xclass.js'), '--set', `store.path=${JSON.stringify(store)}`, '--json', 'run'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  const processMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`xclass run failed: ${r.stderr}`);
  const end = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { wall_ms: number; steps: { cacheHit: boolean }[] };
  return {
    pipelineMs: end.wall_ms,
    processMs,
    hits: end.steps.filter((s) => s.cacheHit).length,
    steps: end.steps.length,
  };
}

const catalog = join(defaultDataDir(), 'catalogs', 'muwclass_TD_2022.csv');
const t0 = performance.now();
await withConnection(async (conn) => {
  await conn.runAndReadAll(`SELECT count(*) FROM read_csv(${sqlString(catalog)}, header = true, all_varchar = true)`);
});
const rawReadMs = performance.now() - t0;

const cold = run();
const warm = run();
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
console.log(`reference: DuckDB reads the raw catalog           ${fmt(rawReadMs)}`);
console.log(
  `cold run (empty store): pipeline ${fmt(cold.pipelineMs)}, process ${fmt(cold.processMs)}, ${cold.hits}/${cold.steps} cache hits`,
);
console.log(
  `warm run (same store):  pipeline ${fmt(warm.pipelineMs)}, process ${fmt(warm.processMs)}, ${warm.hits}/${warm.steps} cache hits`,
);
console.log(
  `warm/cold pipeline time ratio: ${(warm.pipelineMs / cold.pipelineMs).toFixed(3)} (target: warm pipeline under 3 s)`,
);
figure({
  bench: 'pipeline',
  figure: 'cold run, pipeline time',
  value: cold.pipelineMs / 1000,
  unit: 's',
  target: '< 60',
});
figure({
  bench: 'pipeline',
  figure: 'warm run, pipeline time',
  value: warm.pipelineMs / 1000,
  unit: 's',
  target: '< 3',
});
