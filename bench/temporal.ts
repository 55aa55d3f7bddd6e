// The same pipeline on the embedded engine and on a real Temporal dev server with one
// and two worker processes (each run into an empty store), on this machine. Prints wall
// times and the per-step scheduling overhead; target: Temporal with one worker within
// 1.2x of the embedded engine.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../config/paths.js';
import { figure } from './support/figures.js';
import { startDevServer, startWorkers } from './support/temporal-server.js';

const root = packageRoot();
const cli = resolve(root, 'bin', 'xclass.js');
const tmp = mkdtempSync(join(tmpdir(), 'xclass-bench-temporal-'));

function run(args: string[]): { wallS: number; steps: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args, '--json', 'run'].flat(), { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`run failed: ${r.stderr}`);
  const end = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { steps: unknown[] };
  return { wallS: (performance.now() - t0) / 1000, steps: end.steps.length };
}

const { address, stop } = await startDevServer(tmp);
const workers = (n: number, store: string, queue: string): ChildProcess[] => startWorkers(n, store, queue, address);

try {
  const embedded = run(['--set', `store.path=${JSON.stringify(join(tmp, 'embedded'))}`]);
  const results: Record<string, number> = {};
  for (const n of [1, 2]) {
    const store = join(tmp, `temporal-${n}`);
    const ws = workers(n, store, `bench-${n}`);
    await sleep(3000); // workers bundle their workflow code before polling
    try {
      results[n] = run([
        '--set',
        `store.path=${JSON.stringify(store)}`,
        '--set',
        `temporal.task_queue="bench-${n}"`,
        '--set',
        'engine.kind="temporal"',
        '--set',
        `temporal.address="${address}"`,
      ]).wallS;
    } finally {
      for (const w of ws) w.kill('SIGTERM');
    }
  }
  const perStep = (s: number) => ((s - embedded.wallS) / embedded.steps) * 1000;
  console.log(`embedded engine:           ${embedded.wallS.toFixed(2)} s for ${embedded.steps} steps`);
  console.log(
    `Temporal, 1 worker:        ${results[1]!.toFixed(2)} s (${perStep(results[1]!).toFixed(0)} ms scheduling overhead per step)`,
  );
  console.log(
    `Temporal, 2 workers:       ${results[2]!.toFixed(2)} s (${perStep(results[2]!).toFixed(0)} ms per step)`,
  );
  console.log(`Temporal 1 worker / embedded wall time: ${(results[1]! / embedded.wallS).toFixed(3)} (target <= 1.2)`);
  figure({
    bench: 'temporal',
    figure: 'Temporal 1 worker / embedded wall time',
    value: results[1]! / embedded.wallS,
    unit: 'ratio',
    target: '<= 1.2',
  });
  figure({
    bench: 'temporal',
    figure: 'Temporal 2 workers / embedded wall time',
    value: results[2]! / embedded.wallS,
    unit: 'ratio',
  });
} finally {
  stop();
}
