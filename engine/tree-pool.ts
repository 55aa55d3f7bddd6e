import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { GrowTask, TreeGrower } from '../lib/forest/grow-batch.js';

export interface TreePool extends TreeGrower {
  destroy(): Promise<void>;
}

function workerFile(): string {
  const here = fileURLToPath(new URL('./tree-worker.js', import.meta.url));
  if (existsSync(here)) return here;
  // running from TypeScript sources (tests): use the compiled worker
  const built = fileURLToPath(new URL('../dist/engine/tree-worker.js', import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(`tree pool: worker ${here} not found; build first (npm run build)`);
}

/**
 * Worker threads that grow a forest's trees (default: one per core). The training data
 * travels in shared memory; idle threads exit after a second, so a pool kept for the
 * life of a process costs nothing between fits.
 */
export function createTreePool(jobs = availableParallelism()): TreePool {
  const threads = Math.max(1, jobs);
  const pool = new Piscina({ filename: workerFile(), minThreads: 0, maxThreads: threads, idleTimeout: 1000 });
  return {
    jobs: threads,
    run: (task: GrowTask) => pool.run(task) as Promise<ArrayBuffer[]>,
    destroy: () => pool.destroy(),
  };
}
