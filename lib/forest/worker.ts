// Worker-thread entry (piscina): grows a batch of trees on data shared with the main thread.
import { encodeTree } from './codec.js';
import { growTree, type Sampling } from './grow.js';
import type { ForestParams } from './params.js';

export interface GrowTask {
  bins: Uint8Array; // backed by a SharedArrayBuffer
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

export default function growBatch(task: GrowTask): ArrayBuffer[] {
  const binned = { nSamples: task.nSamples, nFeatures: task.nFeatures, bins: task.bins, binMin: task.binMin, binMax: task.binMax, nBins: task.nBins };
  const input = { binned, y: task.y, nClasses: task.nClasses, baseWeight: task.baseWeight, params: task.params, sampling: task.sampling };
  // trees are small next to the data; structured clone copies them back
  return task.seeds.map((s) => encodeTree(growTree(input, s)));
}
