import type { BinnedFeatures } from './binning.js';
import { resolveMaxFeatures, type ForestParams } from './params.js';
import { Rng } from './rng.js';
import { buildTree, type Tree } from './tree.js';

export interface GrowInput {
  binned: BinnedFeatures;
  y: Int32Array;
  nClasses: number;
  /** user sample weights times 'balanced' class weights (1 when none) */
  baseWeight: Float64Array;
  params: ForestParams;
}

/**
 * Grows tree number t from its own seed: bootstrap counts (n draws with replacement,
 * kept as weights, as scikit-learn does), class weights recomputed on that bootstrap
 * for 'balanced_subsample', then the tree. Depends on nothing but the input and the
 * seed, so a forest is the same whatever thread grows which tree.
 */
export function growTree(input: GrowInput, seed: number): Tree {
  const { binned, y, nClasses, baseWeight, params } = input;
  const n = binned.nSamples;
  const rng = new Rng(seed);
  const weight = new Float64Array(n);
  if (params.bootstrap) {
    const counts = drawBootstrap(rng, n);
    if (params.class_weight === 'balanced_subsample') {
      const perClass = new Float64Array(nClasses);
      for (let i = 0; i < n; i++) perClass[y[i]!]! += counts[i]!;
      let present = 0;
      for (let k = 0; k < nClasses; k++) if (perClass[k]! > 0) present++;
      for (let i = 0; i < n; i++) {
        const c = perClass[y[i]!]!;
        weight[i] = counts[i] === 0 ? 0 : counts[i]! * baseWeight[i]! * (n / (present * c));
      }
    } else {
      for (let i = 0; i < n; i++) weight[i] = counts[i]! * baseWeight[i]!;
    }
  } else {
    weight.set(baseWeight);
    if (params.class_weight === 'balanced_subsample') {
      // without bootstrap the "subsample" is the whole sample: the same as 'balanced'
      const perClass = new Float64Array(nClasses);
      for (let i = 0; i < n; i++) perClass[y[i]!]!++;
      let present = 0;
      for (let k = 0; k < nClasses; k++) if (perClass[k]! > 0) present++;
      for (let i = 0; i < n; i++) weight[i]! *= n / (present * perClass[y[i]!]!);
    }
  }
  return buildTree(
    { binned, y, nClasses },
    weight,
    {
      maxFeatures: resolveMaxFeatures(params.max_features, binned.nFeatures),
      maxDepth: params.max_depth ?? Number.POSITIVE_INFINITY,
      minSamplesSplit: params.min_samples_split,
      minSamplesLeaf: params.min_samples_leaf,
    },
    rng,
  );
}

/** n draws with replacement from n samples, as counts: the first thing a tree's generator does. */
function drawBootstrap(rng: Rng, n: number): Int32Array {
  const counts = new Int32Array(n);
  for (let d = 0; d < n; d++) counts[rng.nextInt(n)]!++;
  return counts;
}

/** The bootstrap counts tree `seed` was grown on (for out-of-bag estimates). */
export function bootstrapCounts(seed: number, n: number): Int32Array {
  return drawBootstrap(new Rng(seed), n);
}
