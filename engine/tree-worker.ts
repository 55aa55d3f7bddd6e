// Worker-thread entry (piscina) of the tree pool: grows one batch of trees, or predicts a
// range of rows with a forest it was sent once (lib/forest, pure).
import { deserializeForest, predictProbaRows } from '../lib/forest/forest.js';
import type { Forest } from '../lib/forest/types.js';

export { growBatch as default } from '../lib/forest/grow-batch.js';

/** One range of rows to predict with a serialized forest (shared memory), known by `key` after the first task. */
export interface PredictTask {
  key: string;
  forest: Uint8Array;
  x: Float64Array;
  nSamples: number;
  nFeatures: number;
  from: number;
  to: number;
}

/** The forests this thread has decoded, most recently used last (at most two: a two-stage model). */
const forests = new Map<string, Forest>();

export function predictRows(task: PredictTask): Float64Array {
  let forest = forests.get(task.key);
  if (forest) forests.delete(task.key);
  else forest = deserializeForest(task.forest);
  forests.set(task.key, forest);
  if (forests.size > 2) forests.delete(forests.keys().next().value!);
  return predictProbaRows(
    forest,
    { x: task.x, nSamples: task.nSamples, nFeatures: task.nFeatures },
    task.from,
    task.to,
  );
}
