import type { ForestParams } from '../../schemas/forest.js';
import type { Tree } from './tree.js';

/* The forest's data types, in their own module so forest.ts and grow-batch.ts (which it drives) share them without importing each other. */

/** A fitted random forest. */
export interface Forest {
  params: ForestParams;
  /** class labels; column k of predict_proba is classes[k] */
  classes: string[];
  nFeatures: number;
  featureNames: string[];
  trees: Tree[];
}

/** Column-major features: x[f * nSamples + i]. */
export interface Matrix {
  x: Float64Array;
  nSamples: number;
  nFeatures: number;
}
