import type { BinnedFeatures } from './binning.js';
import type { Rng } from '../rng.js';
import { giniFromSums, impurityDecrease, sumOfSquares } from './criterion.js';
import { BestSplitter } from './splitter.js';

/**
 * One fitted CART classification tree (Gini impurity), stored as flat typed arrays:
 * node i splits on `feature[i]` at `threshold[i]` (x <= threshold goes left), or is a
 * leaf when `feature[i]` is -1; `value` holds each node's weighted class totals.
 */
export interface Tree {
  nNodes: number;
  nClasses: number;
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** weighted class totals, [node * nClasses + k] */
  value: Float64Array;
  /** Gini impurity decrease per feature, weighted by node weight (mean decrease in impurity, unnormalised) */
  importance: Float64Array;
}

export interface TreeParams {
  /** features drawn at each split (already resolved from sqrt/log2/fraction) */
  maxFeatures: number;
  maxDepth: number;
  minSamplesSplit: number;
  minSamplesLeaf: number;
}

export interface TrainingData {
  binned: BinnedFeatures;
  /** class index of each sample, 0..nClasses-1 */
  y: Int32Array;
  nClasses: number;
}

const IMPURITY_EPS = 1e-7;

/** Growable node storage, so no JS arrays are allocated per node. */
class NodeStore {
  n = 0;
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;

  constructor(
    private readonly k: number,
    capacity = 256,
  ) {
    this.feature = new Int32Array(capacity);
    this.threshold = new Float64Array(capacity);
    this.left = new Int32Array(capacity);
    this.right = new Int32Array(capacity);
    this.value = new Float64Array(capacity * k);
  }

  add(): number {
    if (this.n === this.feature.length) {
      const cap = this.n * 2;
      const grow = <T extends Int32Array | Float64Array>(a: T, size: number): T => {
        const b = new (a.constructor as new (n: number) => T)(size);
        b.set(a);
        return b;
      };
      this.feature = grow(this.feature, cap);
      this.threshold = grow(this.threshold, cap);
      this.left = grow(this.left, cap);
      this.right = grow(this.right, cap);
      this.value = grow(this.value, cap * this.k);
    }
    const id = this.n++;
    this.feature[id] = -1;
    this.left[id] = -1;
    this.right[id] = -1;
    return id;
  }
}

/**
 * Grows one tree on the samples with positive weight (a bootstrap's counts times the
 * class weights), depth first, left subtree before right. A node becomes a leaf when it
 * is pure, too small (min_samples_split, twice min_samples_leaf), at max_depth, or when
 * the splitter finds no valid split; otherwise its samples are partitioned at the
 * threshold midway between the two bins the split separates.
 */
export function buildTree(data: TrainingData, sampleWeight: Float64Array, params: TreeParams, rng: Rng): Tree {
  const { binned, y, nClasses: K } = data;
  const n = binned.nSamples;

  let nIn = 0;
  for (let i = 0; i < n; i++) if (sampleWeight[i]! > 0) nIn++;
  const idx = new Int32Array(nIn);
  for (let i = 0, j = 0; i < n; i++) if (sampleWeight[i]! > 0) idx[j++] = i;

  const nodes = new NodeStore(K);
  const importance = new Float64Array(binned.nFeatures);
  const splitter = new BestSplitter(binned, y, sampleWeight, K, params, rng, nIn);
  const wNode = new Float64Array(K);

  // explicit stack: start, end, depth, node id
  const stack: number[] = [0, nIn, 0, nodes.add()];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const depth = stack.pop()!;
    const end = stack.pop()!;
    const start = stack.pop()!;
    const count = end - start;

    wNode.fill(0);
    for (let p = start; p < end; p++) {
      const i = idx[p]!;
      wNode[y[i]!]! += sampleWeight[i]!;
    }
    let W = 0;
    for (let k = 0; k < K; k++) W += wNode[k]!;
    nodes.value.set(wNode, node * K);
    const impurity = giniFromSums(sumOfSquares(wNode, K), W);
    if (
      count < params.minSamplesSplit ||
      count < 2 * params.minSamplesLeaf ||
      depth >= params.maxDepth ||
      impurity <= IMPURITY_EPS
    )
      continue;

    const split = splitter.split(idx, start, end, wNode, W);
    if (split === null) continue; // no valid split: leaf

    const mid = partition(idx, start, end, binned.bins, split.feature * n, split.leftBin);
    importance[split.feature]! += impurityDecrease(wNode, split.wL, K, W, impurity);

    const leftId = nodes.add();
    const rightId = nodes.add();
    nodes.feature[node] = split.feature;
    nodes.threshold[node] = thresholdBetween(binned, split.feature, split.leftBin, split.rightBin);
    nodes.left[node] = leftId;
    nodes.right[node] = rightId;
    // right first so the left subtree is grown first (depth-first, left to right)
    stack.push(mid, end, depth + 1, rightId);
    stack.push(start, mid, depth + 1, leftId);
  }

  const m = nodes.n;
  return {
    nNodes: m,
    nClasses: K,
    feature: nodes.feature.slice(0, m),
    threshold: nodes.threshold.slice(0, m),
    left: nodes.left.slice(0, m),
    right: nodes.right.slice(0, m),
    value: nodes.value.slice(0, m * K),
    importance,
  };
}

/** Reorders idx[start:end) so samples whose bin (column at `col`) is <= leftBin come first; returns where the right part starts. */
function partition(
  idx: Int32Array,
  start: number,
  end: number,
  bins: Uint8Array,
  col: number,
  leftBin: number,
): number {
  let a = start;
  let z = end - 1;
  while (a <= z) {
    if (bins[col + idx[a]!]! <= leftBin) a++;
    else {
      const t = idx[a]!;
      idx[a] = idx[z]!;
      idx[z] = t;
      z--;
    }
  }
  return a;
}

/** The threshold between two bins of a feature: midway between the left bin's largest value and the right bin's smallest, as scikit-learn places it. */
function thresholdBetween(binned: BinnedFeatures, feature: number, leftBin: number, rightBin: number): number {
  const leftMax = binned.binMax[feature]![leftBin]!;
  const rightMin = binned.binMin[feature]![rightBin]!;
  const threshold = leftMax / 2 + rightMin / 2;
  return !(threshold < rightMin) || threshold < leftMax ? leftMax : threshold;
}

/** The leaf a sample (column-major X, sample i of nSamples) falls in. */
export function leafOf(tree: Tree, x: Float64Array, nSamples: number, i: number): number {
  let node = 0;
  for (;;) {
    const f = tree.feature[node]!;
    if (f < 0) return node;
    node = x[f * nSamples + i]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
  }
}
