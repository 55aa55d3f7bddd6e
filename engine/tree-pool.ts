import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { randomUUID } from 'node:crypto';
import type { GrowTask, TreeGrower } from '../lib/forest/grow-batch.js';
import { checkPredictable, serializeForest } from '../lib/forest/forest.js';
import type { Forest, Matrix } from '../lib/forest/types.js';
import type { PredictTask, TranslateTask } from './tree-worker.js';
import { portablePlan, type TranslateMany, type Translation, type TranslationPlan } from '../lib/sed/translate.js';
import { engineWorkerFile } from './worker-file.js';

export interface TreePool extends TreeGrower {
  /** predict_proba with the rows split over the threads: the same numbers as lib's predictProba */
  predict(forest: Forest, m: Matrix): Promise<Float64Array>;
  /** label-free translations with the observations split over the threads: the same numbers as lib's translateLabelFree */
  translate: TranslateMany;
  destroy(): Promise<void>;
}

/** A forest serialized once into shared memory, and the key the threads cache it under. */
const sharedForests = new WeakMap<Forest, { key: string; bytes: Uint8Array }>();
function sharedForest(forest: Forest): { key: string; bytes: Uint8Array } {
  let s = sharedForests.get(forest);
  if (!s) {
    const local = serializeForest(forest);
    const bytes = new Uint8Array(new SharedArrayBuffer(local.byteLength));
    bytes.set(local);
    s = { key: randomUUID(), bytes };
    sharedForests.set(forest, s);
  }
  return s;
}

/** Each plan's copy without spectra, made once. */
const portablePlans = new WeakMap<TranslationPlan, TranslationPlan>();
function portableOf(plan: TranslationPlan): TranslationPlan {
  let p = portablePlans.get(plan);
  if (!p) portablePlans.set(plan, (p = portablePlan(plan)));
  return p;
}

/**
 * Worker threads that grow a forest's trees (default: one per core). The training data
 * travels in shared memory; idle threads exit after a second, so a pool kept for the
 * life of a process costs nothing between fits.
 */
export function createTreePool(jobs = availableParallelism()): TreePool {
  const threads = Math.max(1, jobs);
  const pool = new Piscina({
    filename: engineWorkerFile('tree-worker'),
    minThreads: 0,
    maxThreads: threads,
    idleTimeout: 1000,
  });
  return {
    jobs: threads,
    run: (task: GrowTask) => pool.run(task) as Promise<ArrayBuffer[]>,
    async predict(forest, m) {
      checkPredictable(forest, m);
      const { key, bytes } = sharedForest(forest);
      const x = new Float64Array(new SharedArrayBuffer(m.x.byteLength));
      x.set(m.x);
      const K = forest.classes.length;
      const step = Math.ceil(m.nSamples / threads);
      const ranges = Array.from(
        { length: threads },
        (_, j) => [j * step, Math.min(m.nSamples, (j + 1) * step)] as const,
      ).filter(([a, b]) => b > a);
      const parts = await Promise.all(
        ranges.map(
          ([from, to]) =>
            pool.run(
              { key, forest: bytes, x, nSamples: m.nSamples, nFeatures: m.nFeatures, from, to } satisfies PredictTask,
              {
                name: 'predictRows',
              },
            ) as Promise<Float64Array>,
        ),
      );
      const out = new Float64Array(m.nSamples * K);
      parts.forEach((p, j) => out.set(p, ranges[j]![0] * K));
      return out;
    },
    async translate(plan, observations, labelFree, sigma, onChunk) {
      const portable = portableOf(plan);
      // parts of a few hundred sources: the threads stay busy to the end and progress moves
      const size = Math.max(256, Math.ceil(observations.length / (threads * 8)));
      const parts: [number, number][] = [];
      for (let a = 0; a < observations.length; a += size) parts.push([a, Math.min(observations.length, a + size)]);
      let done = 0;
      const results = await Promise.all(
        parts.map(async ([a, b]) => {
          const task: TranslateTask = { plan: portable, observations: observations.slice(a, b), labelFree, sigma };
          const r = (await pool.run(task, { name: 'translateRows' })) as Translation[];
          done += b - a;
          onChunk?.(done, observations.length);
          return r;
        }),
      );
      return results.flat();
    },
    destroy: () => pool.destroy(),
  };
}
