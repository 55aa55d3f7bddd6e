import type { BinnedFeatures } from './binning.js';
import type { Rng } from '../rng.js';

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

  constructor(private readonly k: number, capacity = 256) {
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
 * class weights), depth first. At each node a fresh random subset of features is drawn
 * (sampling without replacement, and a feature constant in the node does not count
 * toward max_features, as in scikit-learn's BestSplitter); the best split maximises
 * the weighted Gini decrease subject to min_samples_leaf on both sides.
 */
export function buildTree(data: TrainingData, sampleWeight: Float64Array, params: TreeParams, rng: Rng): Tree {
  const { binned, y, nClasses: K } = data;
  const n = binned.nSamples;
  const nF = binned.nFeatures;
  const maxBins = 256;

  let nIn = 0;
  for (let i = 0; i < n; i++) if (sampleWeight[i]! > 0) nIn++;
  const idx = new Int32Array(nIn);
  for (let i = 0, j = 0; i < n; i++) if (sampleWeight[i]! > 0) idx[j++] = i;

  const nodes = new NodeStore(K);
  const importance = new Float64Array(nF);
  const features = new Int32Array(nF);
  for (let f = 0; f < nF; f++) features[f] = f;

  // scratch, allocated once per tree
  const histW = new Float64Array(maxBins * K);
  const histN = new Int32Array(maxBins);
  const wL = new Float64Array(K);
  const wR = new Float64Array(K);
  const wNode = new Float64Array(K);
  const keys = new Float64Array(nIn);
  const bestWL = new Float64Array(K);

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
    let sq = 0;
    for (let k = 0; k < K; k++) {
      W += wNode[k]!;
      sq += wNode[k]! * wNode[k]!;
    }
    nodes.value.set(wNode, node * K);
    const impurity = 1 - sq / (W * W);
    if (count < params.minSamplesSplit || count < 2 * params.minSamplesLeaf || depth >= params.maxDepth || impurity <= IMPURITY_EPS) continue;

    let bestProxy = -Infinity;
    let bestFeature = -1;
    let bestLeftBin = -1;
    let bestRightBin = -1;
    let visited = 0;
    let drawn = 0;
    while (drawn < nF && visited < params.maxFeatures) {
      // Fisher-Yates: draw one of the not yet drawn features
      const j = drawn + rng.nextInt(nF - drawn);
      const f = features[j]!;
      features[j] = features[drawn]!;
      features[drawn] = f;
      drawn++;

      const col = f * n;
      let lo = maxBins;
      let hi = -1;
      for (let p = start; p < end; p++) {
        const b = binned.bins[col + idx[p]!]!;
        if (b < lo) lo = b;
        if (b > hi) hi = b;
      }
      if (lo === hi) continue; // constant in this node: does not count toward max_features
      visited++;

      wL.fill(0);
      let WL = 0;
      let nL = 0;
      const range = hi - lo + 1;
      if (range <= 2 * count) {
        // histogram of class weight per bin, then one sweep over the bin boundaries
        histW.fill(0, 0, range * K);
        histN.fill(0, 0, range);
        for (let p = start; p < end; p++) {
          const i = idx[p]!;
          const b = binned.bins[col + i]! - lo;
          histW[b * K + y[i]!]! += sampleWeight[i]!;
          histN[b]!++;
        }
        let lastLeft = -1;
        for (let b = 0; b < range - 1; b++) {
          if (histN[b] === 0) continue;
          for (let k = 0; k < K; k++) {
            const w = histW[b * K + k]!;
            wL[k]! += w;
            WL += w;
          }
          nL += histN[b]!;
          lastLeft = b;
          let nextRight = b + 1;
          while (histN[nextRight] === 0) nextRight++;
          if (nL < params.minSamplesLeaf) continue;
          if (count - nL < params.minSamplesLeaf) break;
          const proxy = giniProxy(wL, wNode, K, WL, W);
          if (proxy > bestProxy) {
            bestProxy = proxy;
            bestFeature = f;
            bestLeftBin = lastLeft + lo;
            bestRightBin = nextRight + lo;
            bestWL.set(wL);
          }
        }
      } else {
        // few samples over many bins: sort the node's samples by bin instead
        for (let p = start; p < end; p++) keys[p - start] = binned.bins[col + idx[p]!]! * 4294967296 + idx[p]!;
        const sorted = keys.subarray(0, count).sort();
        for (let q = 0; q < count - 1; q++) {
          const key = sorted[q]!;
          const i = key % 4294967296;
          const b = (key - i) / 4294967296;
          const w = sampleWeight[i]!;
          wL[y[i]!]! += w;
          WL += w;
          nL++;
          const nextKey = sorted[q + 1]!;
          const nb = (nextKey - (nextKey % 4294967296)) / 4294967296;
          if (nb === b) continue;
          if (nL < params.minSamplesLeaf) continue;
          if (count - nL < params.minSamplesLeaf) break;
          const proxy = giniProxy(wL, wNode, K, WL, W);
          if (proxy > bestProxy) {
            bestProxy = proxy;
            bestFeature = f;
            bestLeftBin = b;
            bestRightBin = nb;
            bestWL.set(wL);
          }
        }
      }
    }
    if (bestFeature < 0) continue; // no valid split: leaf

    // partition idx[start:end): bins <= bestLeftBin to the left
    const col = bestFeature * n;
    let a = start;
    let z = end - 1;
    while (a <= z) {
      if (binned.bins[col + idx[a]!]! <= bestLeftBin) a++;
      else {
        const t = idx[a]!;
        idx[a] = idx[z]!;
        idx[z] = t;
        z--;
      }
    }
    const mid = a;
    const leftMax = binned.binMax[bestFeature]![bestLeftBin]!;
    const rightMin = binned.binMin[bestFeature]![bestRightBin]!;
    let threshold = leftMax / 2 + rightMin / 2;
    if (!(threshold < rightMin) || threshold < leftMax) threshold = leftMax;

    let WL = 0;
    let sL = 0;
    let sR = 0;
    for (let k = 0; k < K; k++) {
      const l = bestWL[k]!;
      const r = wNode[k]! - l;
      WL += l;
      sL += l * l;
      sR += r * r;
    }
    const WR = W - WL;
    const impL = 1 - sL / (WL * WL);
    const impR = 1 - sR / (WR * WR);
    importance[bestFeature]! += W * impurity - WL * impL - WR * impR;

    const leftId = nodes.add();
    const rightId = nodes.add();
    nodes.feature[node] = bestFeature;
    nodes.threshold[node] = threshold;
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

/**
 * The split criterion scikit-learn maximises (Gini's proxy improvement): with class
 * weights l_k on the left and r_k = n_k - l_k on the right,
 * sum_k l_k^2 / W_L + sum_k r_k^2 / W_R. Larger is purer.
 */
function giniProxy(wL: Float64Array, wNode: Float64Array, K: number, WL: number, W: number): number {
  let sL = 0;
  let sR = 0;
  for (let k = 0; k < K; k++) {
    const l = wL[k]!;
    const r = wNode[k]! - l;
    sL += l * l;
    sR += r * r;
  }
  return sL / WL + sR / (W - WL);
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
