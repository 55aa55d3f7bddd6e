import { encodeTree } from './codec.js';
import { growTree, type Sampling } from './grow.js';
import type { ForestParams } from '../../schemas/forest.js';
import type { Forest, Matrix } from './types.js';
import type { TranslateMany } from '../sed/translate.js';
import type { NeighbourReference } from '../uncertainty/neighbours.js';

/** One batch of trees to grow: the binned training data (shareable between threads) and the trees' seeds. */
export interface GrowTask {
  bins: Uint8Array; // a SharedArrayBuffer when the task crosses to a worker thread
  binMin: Float64Array[];
  binMax: Float64Array[];
  nBins: Int32Array;
  nSamples: number;
  nFeatures: number;
  y: Int32Array;
  nClasses: number;
  baseWeight: Float64Array;
  params: ForestParams;
  sampling: Sampling;
  seeds: number[];
}

/**
 * The engine's threads as lib and the stages see them. Where a forest's trees are grown:
 * `jobs` batches at once through `run`. lib grows them in this thread when none is given;
 * the engine hands one backed by worker threads (engine/tree-pool.ts). Tree t comes from
 * seed t whatever runs it, so the forest is the same either way. The same threads
 * predict, translate, draw classify's Monte-Carlo targets and score OOD distances: each
 * a pure function of one row or source, so any split gives lib's numbers.
 */
export interface TreeGrower {
  jobs: number;
  run(task: GrowTask): Promise<ArrayBuffer[]>;
  /** predict_proba split over the same threads (lib's numbers); absent: predict in this thread */
  predict?(forest: Forest, m: Matrix): Promise<Float64Array>;
  /** label-free translations split over the same threads (lib's numbers); absent: translate in this thread */
  translate?: TranslateMany;
  /** out-of-distribution scores (lib/uncertainty/neighbours.ts), the rows split over the same threads (lib's numbers) */
  neighbourScores?: (ref: NeighbourReference, m: Matrix) => Promise<Float64Array>;
}

/** Grows a batch of trees, each encoded (small next to the data, cheap to copy back). Pure. */
export function growBatch(task: GrowTask): ArrayBuffer[] {
  const binned = {
    nSamples: task.nSamples,
    nFeatures: task.nFeatures,
    bins: task.bins,
    binMin: task.binMin,
    binMax: task.binMax,
    nBins: task.nBins,
  };
  const input = {
    binned,
    y: task.y,
    nClasses: task.nClasses,
    baseWeight: task.baseWeight,
    params: task.params,
    sampling: task.sampling,
  };
  return task.seeds.map((s) => encodeTree(growTree(input, s)));
}
