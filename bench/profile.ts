// Where the time of a cold default run goes (issue 16, item 1). Two runs into empty
// stores: the default run as `xclass run` makes it (engine.concurrency steps at once),
// which gives each step's wall time and the critical path of the DAG; and the same DAG
// one step at a time, where the process's CPU time during a step (its tree threads
// included) is that step's alone. Per stage: steps, wall (parallel run), CPU (sequential
// run), bytes read (the input artifacts' files) and written (its own files).
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../config/load.js';
import { openStore, planPipeline } from '../engine/plan.js';
import { runEmbedded } from '../engine/embedded.js';
import { createTreePool } from '../engine/tree-pool.js';
import { runStep } from '../activities/run-step.js';
import { buildPipeline } from '../workflows/pipeline.js';
import { artifactBytes, type ArtifactStore } from '../artifacts/store.js';
import type { DagResult } from '../workflows/dag.js';
import { figure } from './support/figures.js';

const config = (store: string, sets: string[] = []) =>
  loadConfig({ sets: [`store.path=${JSON.stringify(store)}`, ...sets] });
const tmp = mkdtempSync(join(tmpdir(), 'xclass-bench-profile-'));

// 1. the default run, steps in parallel
const parallelConfig = config(join(tmp, 'parallel'));
const input = await planPipeline(parallelConfig);
const dag = buildPipeline(input);
const parallelStore = openStore(parallelConfig);
let t0 = performance.now();
const parallel = await runEmbedded(dag, {
  store: parallelStore,
  concurrency: parallelConfig.engine.concurrency,
  retry: parallelConfig.retry,
  threads: parallelConfig.engine.threads,
});
const parallelWallS = (performance.now() - t0) / 1000;
if (!parallel.ok) throw new Error('profile: the parallel run failed');

// 2. the same DAG one step at a time, CPU time per step
const sequentialConfig = config(join(tmp, 'sequential'));
const sequentialStore = openStore(sequentialConfig);
const cpuMs = new Map<string, number>();
const trees = createTreePool();
t0 = performance.now();
const sequential = await runEmbedded(dag, {
  store: sequentialStore,
  concurrency: 1,
  retry: sequentialConfig.retry,
  threads: false,
  stepRunner: async (req) => {
    const c0 = process.cpuUsage();
    const out = await runStep(sequentialStore, req, { trees });
    const c = process.cpuUsage(c0);
    cpuMs.set(req.key, (c.user + c.system) / 1000);
    return out;
  },
});
const sequentialWallS = (performance.now() - t0) / 1000;
await trees.destroy();
if (!sequential.ok) throw new Error('profile: the sequential run failed');

/** Bytes of an artifact's files, as its meta.json records them. */
const bytesOf = async (store: ArtifactStore, stage: string, id: string) =>
  artifactBytes(await store.readMeta(stage, id));

interface StageFigures {
  steps: number;
  wallS: number;
  cpuS: number;
  readMB: number;
  writtenMB: number;
}
const byStage = new Map<string, StageFigures>();
const specOf = new Map(dag.steps.map((s) => [s.key, s]));
const idOf = new Map(parallel.steps.map((s) => [s.key, s]));
for (const s of parallel.steps) {
  const f = byStage.get(s.stage) ?? { steps: 0, wallS: 0, cpuS: 0, readMB: 0, writtenMB: 0 };
  f.steps++;
  f.wallS += (s.wallMs ?? 0) / 1000;
  f.cpuS += (cpuMs.get(s.key) ?? 0) / 1000;
  f.writtenMB += (await bytesOf(parallelStore, s.stage, s.artifactId!)) / 1e6;
  for (const dep of Object.values(specOf.get(s.key)!.inputs)) {
    const d = idOf.get(dep)!;
    f.readMB += (await bytesOf(parallelStore, d.stage, d.artifactId!)) / 1e6;
  }
  byStage.set(s.stage, f);
}

/** The chain of steps that bounds the parallel run's wall time: from the last step to end, back through the input that finished last. */
function criticalPath(result: DagResult): string[] {
  const rec = new Map(result.steps.map((s) => [s.key, s]));
  let cur = [...result.steps].sort((a, b) => (b.endedAtMs ?? 0) - (a.endedAtMs ?? 0))[0];
  const path: string[] = [];
  while (cur) {
    path.unshift(`${cur.key} (${((cur.wallMs ?? 0) / 1000).toFixed(2)} s)`);
    const inputs = Object.values(specOf.get(cur.key)!.inputs).map((k) => rec.get(k)!);
    cur = inputs.sort((a, b) => (b.endedAtMs ?? 0) - (a.endedAtMs ?? 0))[0];
  }
  return path;
}

const rows = [...byStage.entries()].sort((a, b) => b[1].cpuS - a[1].cpuS);
const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(
  `cold default run: ${dag.steps.length} steps; wall ${parallelWallS.toFixed(1)} s with ${parallelConfig.engine.concurrency} steps at once, ${sequentialWallS.toFixed(1)} s one at a time`,
);
console.log(
  `${'stage'.padEnd(11)}${pad('steps', 6)}${pad('wall s', 9)}${pad('CPU s', 9)}${pad('read MB', 10)}${pad('written MB', 12)}`,
);
for (const [stage, f] of rows) {
  console.log(
    `${stage.padEnd(11)}${pad(f.steps, 6)}${pad(f.wallS.toFixed(1), 9)}${pad(f.cpuS.toFixed(1), 9)}${pad(f.readMB.toFixed(1), 10)}${pad(f.writtenMB.toFixed(1), 12)}`,
  );
}
const totalCpu = rows.reduce((t, [, f]) => t + f.cpuS, 0);
console.log(
  `CPU in steps ${totalCpu.toFixed(1)} s: on ${parallelConfig.engine.concurrency} cores at best ${(totalCpu / parallelConfig.engine.concurrency).toFixed(1)} s of wall`,
);
console.log(`critical path (parallel run): ${criticalPath(parallel).join(' -> ')}`);
figure({ bench: 'profile', figure: 'CPU time in steps, cold default run', value: totalCpu, unit: 's' });
figure({ bench: 'profile', figure: 'wall, cold default run', value: parallelWallS, unit: 's', target: '< 60' });
