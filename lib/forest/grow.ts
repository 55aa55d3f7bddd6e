import type { BinnedFeatures } from './binning.js';
import type { ForestParams } from '../../schemas/forest.js';
import { Rng } from '../rng.js';
import { buildTree, type Tree } from './tree.js';

export interface GrowInput {
  binned: BinnedFeatures;
  y: Int32Array;
  nClasses: number;
  /** user sample weights times 'balanced' class weights (1 when none) */
  baseWeight: Float64Array;
  params: ForestParams;
  sampling: Sampling;
}

/**
 * How a tree's bootstrap is drawn. `groups`: the group (0..G-1) of each sample, drawn
 * as a whole (absent: every sample its own unit); `classUnits`: for balanced sampling,
 * the units (samples, or groups) of each class present, in unit order, found once for
 * every tree of the forest.
 */
export interface Sampling {
  groups?: Int32Array | undefined;
  /** how many groups (max group + 1); set with groups */
  nGroups?: number | undefined;
  classUnits?: Int32Array[] | undefined;
}

/** The sampling plan of a forest's bootstrap, from its params, labels (class indices) and groups. */
export function samplingOf(params: ForestParams, y: Int32Array, groups?: Int32Array): Sampling {
  let nGroups = 0;
  if (groups) for (const g of groups) nGroups = Math.max(nGroups, g + 1);
  if (params.bootstrap_sampling !== 'balanced') return groups ? { groups, nGroups } : {};
  if (!groups) return { classUnits: unitsByClass(y) };
  const unitClass = new Int32Array(nGroups).fill(-1);
  groups.forEach((g, i) => {
    if (unitClass[g] !== -1 && unitClass[g] !== y[i])
      throw new Error(`random forest: group ${g} holds samples of two classes`);
    unitClass[g] = y[i]!;
  });
  return { groups, nGroups, classUnits: unitsByClass(unitClass) };
}

/** The units of each class present (given each unit's class), in unit order, by class. */
function unitsByClass(unitClass: Int32Array): Int32Array[] {
  const buckets: number[][] = [];
  unitClass.forEach((k, u) => (buckets[k] ??= []).push(u));
  return buckets.filter((b) => b !== undefined && b.length > 0).map((b) => Int32Array.from(b));
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
    const counts = drawBootstrap(rng, n, input.sampling);
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

/**
 * The bootstrap as counts per sample: the first thing a tree's generator does. Units
 * are samples, or groups: rows that are copies of one source (posterior draws) are then
 * in or out of a bootstrap together, so out-of-bag estimates stay honest. Standard: U
 * draws with replacement from the U units. Balanced: from each class's units, as many
 * draws as the smallest class has units.
 */
function drawBootstrap(rng: Rng, n: number, sampling: Sampling): Int32Array {
  const { groups, classUnits } = sampling;
  const nUnits = groups ? sampling.nGroups! : n;
  const perUnit = new Int32Array(nUnits);
  if (classUnits) {
    const m = Math.min(...classUnits.map((b) => b.length));
    for (const b of classUnits) for (let d = 0; d < m; d++) perUnit[b[rng.nextInt(b.length)]!]!++;
  } else {
    for (let d = 0; d < nUnits; d++) perUnit[rng.nextInt(nUnits)]!++;
  }
  if (!groups) return perUnit;
  const counts = new Int32Array(n);
  for (let i = 0; i < n; i++) counts[i] = perUnit[groups[i]!]!;
  return counts;
}

/** The bootstrap counts tree `seed` was grown on (for out-of-bag estimates). */
export function bootstrapCounts(seed: number, n: number, sampling: Sampling = {}): Int32Array {
  return drawBootstrap(new Rng(seed), n, sampling);
}

/** max_features resolved to a count, as scikit-learn resolves it. */
export function resolveMaxFeatures(mf: ForestParams['max_features'], nFeatures: number): number {
  if (mf === null) return nFeatures;
  if (mf === 'sqrt') return Math.max(1, Math.floor(Math.sqrt(nFeatures)));
  if (mf === 'log2') return Math.max(1, Math.floor(Math.log2(nFeatures)));
  if (Number.isInteger(mf) && mf >= 1) return Math.min(nFeatures, mf);
  return Math.max(1, Math.floor(mf * nFeatures));
}
