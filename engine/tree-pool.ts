import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { randomUUID } from 'node:crypto';
import type { GrowTask, TreeGrower } from '../lib/forest/grow-batch.js';
import { checkPredictable, serializeForest } from '../lib/forest/forest.js';
import type { Forest, Matrix } from '../lib/forest/types.js';
import type { DrawPredictTask, PredictTask, ScoreTask, TranslateTask } from './tree-worker.js';
import { serializeTwoStage, type TwoStageModel } from '../lib/forest/two-stage.js';
import type { DrawOutcome } from '../lib/uncertainty/montecarlo.js';
import { referenceRows, type NeighbourReference } from '../lib/uncertainty/neighbours.js';
import type { DrawPredictMany } from '../lib/classify/targets.js';
import { portablePlan, type TranslateMany, type Translation, type TranslationPlan } from '../lib/sed/translate.js';
import { engineWorkerFile } from './worker-file.js';

export interface TreePool extends TreeGrower {
  /** predict_proba with the rows split over the threads: the same numbers as lib's predictProba */
  predict(forest: Forest, m: Matrix): Promise<Float64Array>;
  /** label-free translations with the observations split over the threads: the same numbers as lib's translateLabelFree */
  translate: TranslateMany;
  /**
   * classify's full-model Monte-Carlo draws with the targets split over the threads, each
   * part's draws predicted and summarised there: the same outcomes as predictDraws of lib's
   * fullModelDraws rows
   */
  drawPredictTargets: DrawPredictMany;
  /** OOD scores with the rows split over the threads: the same numbers as lib's neighbourScores */
  neighbourScores(ref: NeighbourReference, m: Matrix): Promise<Float64Array>;
  destroy(): Promise<void>;
}

/**
 * `serialize` made once per object into shared memory, with the key the threads cache its
 * decoded copy under (a forest; a two-stage model).
 */
function sharedOnce<T extends object>(serialize: (value: T) => Uint8Array) {
  const made = new WeakMap<T, { key: string; bytes: Uint8Array }>();
  return (value: T): { key: string; bytes: Uint8Array } => {
    let s = made.get(value);
    if (!s) {
      const local = serialize(value);
      const bytes = new Uint8Array(new SharedArrayBuffer(local.byteLength));
      bytes.set(local);
      s = { key: randomUUID(), bytes };
      made.set(value, s);
    }
    return s;
  };
}
const sharedForest = sharedOnce<Forest>(serializeForest);
const sharedModel = sharedOnce<TwoStageModel>(serializeTwoStage);

/** A copy of an array in shared memory (the threads read it without a copy of their own). */
function shared(a: Float64Array): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

/** [from, to) ranges of `size` (at least 1) covering 0..n. */
function ranges(n: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  const step = Math.max(1, size);
  for (let a = 0; a < n; a += step) out.push([a, Math.min(n, a + step)]);
  return out;
}

/** Each OOD reference with its points in shared memory, made once. */
const sharedReferences = new WeakMap<NeighbourReference, NeighbourReference>();

/** Each plan's copy without spectra, made once. */
const portablePlans = new WeakMap<TranslationPlan, TranslationPlan>();
function portableOf(plan: TranslationPlan): TranslationPlan {
  let p = portablePlans.get(plan);
  if (!p) portablePlans.set(plan, (p = portablePlan(plan)));
  return p;
}

/**
 * Worker threads that grow a forest's trees (default: one per core). The training data
 * travels in shared memory; idle threads exit after ten seconds, so a pool kept for the
 * life of a process costs nothing between runs. Not sooner: a thread made anew loads its
 * modules and compiles its loops again, and with a second a cold default run made its
 * tree threads 19 times and spent 5 s more CPU (99-110 s user against 94-96 s; 3 s of
 * wall) for 0.15 GB less peak memory.
 */
export function createTreePool(jobs = availableParallelism()): TreePool {
  const threads = Math.max(1, jobs);
  const pool = new Piscina({
    filename: engineWorkerFile('tree-worker'),
    minThreads: 0,
    maxThreads: threads,
    idleTimeout: 10_000,
  });
  /** Parts of at least `min` items, some eight per thread, so the threads stay busy to the end and progress moves. */
  const partSize = (n: number, min: number) => Math.max(min, Math.ceil(n / (threads * 8)));
  /** Items in parts, each through `run` on a thread; the results in item order. */
  async function inParts<T, R>(
    items: readonly T[],
    min: number,
    onChunk: ((done: number, total: number) => void) | undefined,
    run: (part: T[]) => Promise<R[]>,
  ): Promise<R[]> {
    let done = 0;
    const results = await Promise.all(
      ranges(items.length, partSize(items.length, min)).map(async ([a, b]) => {
        const r = await run(items.slice(a, b));
        done += b - a;
        onChunk?.(done, items.length);
        return r;
      }),
    );
    return results.flat();
  }
  /** Rows 0..n in ranges of `size`, each through `run` on a thread: `width` numbers a row, in row order. */
  async function overRows(
    n: number,
    size: number,
    width: number,
    run: (from: number, to: number) => Promise<Float64Array>,
  ): Promise<Float64Array> {
    const parts = ranges(n, size);
    const results = await Promise.all(parts.map(([from, to]) => run(from, to)));
    const out = new Float64Array(n * width);
    results.forEach((r, j) => out.set(r, parts[j]![0] * width));
    return out;
  }
  return {
    jobs: threads,
    run: (task: GrowTask) => pool.run(task) as Promise<ArrayBuffer[]>,
    async predict(forest, m) {
      checkPredictable(forest, m);
      const { key, bytes } = sharedForest(forest);
      const x = shared(m.x);
      // one range of rows a thread
      return overRows(m.nSamples, Math.ceil(m.nSamples / threads), forest.classes.length, (from, to) => {
        const task: PredictTask = { key, forest: bytes, x, nSamples: m.nSamples, nFeatures: m.nFeatures, from, to };
        return pool.run(task, { name: 'predictRows' }) as Promise<Float64Array>;
      });
    },
    translate: (plan, observations, labelFree, sigma, onChunk) => {
      const portable = portableOf(plan);
      return inParts(observations, 256, onChunk, (part) => {
        const task: TranslateTask = { plan: portable, observations: part, labelFree, sigma };
        return pool.run(task, { name: 'translateRows' }) as Promise<Translation[]>;
      });
    },
    drawPredictTargets: (env, spec, mc, targets, model, medians, onChunk) => {
      const portable = { ...env, plan: portableOf(env.plan) };
      const shareable = sharedModel(model);
      // a target's exact draws are 100 fits and 100 rows through both forests: parts of a few dozen
      return inParts(targets, 16, onChunk, (part) => {
        const task: DrawPredictTask = { env: portable, spec, mc, targets: part, model: shareable, medians };
        return pool.run(task, { name: 'drawPredictTargets' }) as Promise<DrawOutcome[]>;
      });
    },
    async neighbourScores(ref, m) {
      const rows = shared(referenceRows(ref, m));
      const shareable = sharedReferences.get(ref) ?? { ...ref, points: shared(ref.points) };
      sharedReferences.set(ref, shareable);
      return overRows(m.nSamples, partSize(m.nSamples, 64), 1, (from, to) => {
        const task: ScoreTask = { ref: shareable, rows, from, to };
        return pool.run(task, { name: 'scoreRange' }) as Promise<Float64Array>;
      });
    },
    destroy: () => pool.destroy(),
  };
}
