import type { BinnedFeatures } from './binning.js';
import { giniProxy } from './criterion.js';
import type { Rng } from '../rng.js';

/** The best split of a node: samples in bins <= leftBin go left; rightBin is the lowest bin on the right. */
export interface Split {
  feature: number;
  leftBin: number;
  rightBin: number;
  /** weighted class totals of the left child */
  wL: Float64Array;
}

export interface SplitterParams {
  /** features drawn at each split (already resolved from sqrt/log2/fraction) */
  maxFeatures: number;
  minSamplesLeaf: number;
}

const MAX_BINS = 256;
/** the sort key packs (bin, sample index) into one double: bin * 2^32 + index */
export const KEY = 4294967296;
/**
 * up to this many samples keysByBin sorts by insertion alone: 0.18 us a node against 0.40
 * us by counting (whose passes over the node's bins cost more than its few samples)
 */
const SORT_DIRECT = 24;

/**
 * scikit-learn's BestSplitter on binned features: at each node a fresh random subset of
 * features is drawn (Fisher-Yates, without replacement; a feature constant in the node
 * does not count toward max_features), and for each the bin boundary maximising the Gini
 * proxy subject to min_samples_leaf on both sides is found, by a histogram sweep when the
 * node's bins are few for its samples, else by sorting its samples by bin. A node of at
 * least MAX_BINS / 2 samples always takes the histogram, built in the pass that finds its
 * bins. Scratch arrays are allocated once per tree.
 */
export class BestSplitter {
  private readonly features: Int32Array;
  private readonly histW: Float64Array;
  private readonly histN: Int32Array;
  private readonly wL: Float64Array;
  private readonly keys: Float64Array;
  /** per bin of a node's range (and one more), where its samples start in `keys` */
  private readonly binStart: Int32Array;
  private readonly best: Split;

  constructor(
    private readonly binned: BinnedFeatures,
    private readonly y: Int32Array,
    private readonly sampleWeight: Float64Array,
    private readonly K: number,
    private readonly params: SplitterParams,
    private readonly rng: Rng,
    maxNodeSamples: number,
  ) {
    this.features = Int32Array.from({ length: binned.nFeatures }, (_, f) => f);
    this.histW = new Float64Array(MAX_BINS * K);
    this.histN = new Int32Array(MAX_BINS);
    this.wL = new Float64Array(K);
    this.keys = new Float64Array(Math.min(maxNodeSamples, MAX_BINS / 2)); // only small nodes sort
    this.binStart = new Int32Array(MAX_BINS + 1);
    this.best = { feature: -1, leftBin: -1, rightBin: -1, wL: new Float64Array(K) };
  }

  /** The best split of the samples idx[start:end) (class totals wNode, total W), or null when none is valid. The result is reused by the next call. */
  split(idx: Int32Array, start: number, end: number, wNode: Float64Array, W: number): Split | null {
    const { binned, y, sampleWeight, K, params, features, histW, histN, wL, keys, best } = this;
    const n = binned.nSamples;
    const nF = binned.nFeatures;
    const count = end - start;
    let bestProxy = -Infinity;
    best.feature = -1;
    const consider = (f: number, leftBin: number, rightBin: number, WL: number) => {
      const proxy = giniProxy(wL, wNode, K, WL, W);
      if (proxy > bestProxy) {
        bestProxy = proxy;
        best.feature = f;
        best.leftBin = leftBin;
        best.rightBin = rightBin;
        best.wL.set(wL);
      }
    };
    let visited = 0;
    let drawn = 0;
    while (drawn < nF && visited < params.maxFeatures) {
      // Fisher-Yates: draw one of the not yet drawn features
      const j = drawn + this.rng.nextInt(nF - drawn);
      const f = features[j]!;
      features[j] = features[drawn]!;
      features[drawn] = f;
      drawn++;

      const col = f * n;
      wL.fill(0);
      let WL = 0;
      let nL = 0;
      let lo = MAX_BINS;
      let hi = -1;
      if (2 * count < MAX_BINS) {
        // a small node may span more bins than it has samples: find its bins first
        for (let p = start; p < end; p++) {
          const b = binned.bins[col + idx[p]!]!;
          if (b < lo) lo = b;
          if (b > hi) hi = b;
        }
        if (lo === hi) continue; // constant in this node: does not count toward max_features
        if (hi - lo + 1 > 2 * count) {
          // few samples over many bins: the node's samples in (bin, index) order
          visited++;
          const sorted = keysByBin(binned.bins, col, idx, start, end, lo, hi, keys, this.binStart);
          for (let q = 0; q < count - 1; q++) {
            const key = sorted[q]!;
            const b = Math.floor(key / KEY); // exact: KEY is a power of two (not %, a slow fmod)
            const i = key - b * KEY;
            const w = sampleWeight[i]!;
            wL[y[i]!]! += w;
            WL += w;
            nL++;
            const nb = Math.floor(sorted[q + 1]! / KEY);
            if (nb === b) continue;
            if (nL < params.minSamplesLeaf) continue;
            if (count - nL < params.minSamplesLeaf) break;
            consider(f, b, nb, WL);
          }
          continue;
        }
      }
      // histogram of class weight per bin (histW and histN are all zero between features),
      // finding the node's bins in the same pass, then one sweep over the bin boundaries
      for (let p = start; p < end; p++) {
        const i = idx[p]!;
        const b = binned.bins[col + i]!;
        if (b < lo) lo = b;
        if (b > hi) hi = b;
        histW[b * K + y[i]!]! += sampleWeight[i]!;
        histN[b]!++;
      }
      if (lo < hi) {
        visited++;
        for (let b = lo; b < hi; b++) {
          if (histN[b] === 0) continue;
          for (let k = 0; k < K; k++) {
            const w = histW[b * K + k]!;
            wL[k]! += w;
            WL += w;
          }
          nL += histN[b]!;
          let nextRight = b + 1;
          while (histN[nextRight] === 0) nextRight++;
          if (nL < params.minSamplesLeaf) continue;
          if (count - nL < params.minSamplesLeaf) break;
          consider(f, b, nextRight, WL);
        }
      } // else constant in this node: does not count toward max_features
      histW.fill(0, lo * K, (hi + 1) * K);
      histN.fill(0, lo, hi + 1);
    }
    return best.feature < 0 ? null : best;
  }
}

/**
 * The sort keys (bin * KEY + index) of the samples idx[start:end), whose bins in column
 * `col` of `bins` lie in lo..hi, in increasing order in keys[0:end-start): counted into
 * their bins (`binStart`: at least hi - lo + 2 counters), then each bin's few samples put
 * in index order by an insertion pass, which only moves a key past others of its own bin
 * (a node of at most SORT_DIRECT samples: that pass alone).
 * The order a sort of the keys gives; a TypedArray sort cost a C++ comparator call per
 * comparison, 5% of a cold default run's CPU.
 */
export function keysByBin(
  bins: Uint8Array,
  col: number,
  idx: Int32Array,
  start: number,
  end: number,
  lo: number,
  hi: number,
  keys: Float64Array,
  binStart: Int32Array,
): Float64Array {
  const count = end - start;
  const span = hi - lo + 1;
  if (count <= SORT_DIRECT) {
    // a few samples: the insertion pass alone costs less than a pass over the bins
    for (let p = start; p < end; p++) keys[p - start] = bins[col + idx[p]!]! * KEY + idx[p]!;
  } else {
    binStart.fill(0, 0, span + 1);
    for (let p = start; p < end; p++) binStart[bins[col + idx[p]!]! - lo + 1]!++;
    for (let b = 1; b <= span; b++) binStart[b]! += binStart[b - 1]!;
    for (let p = start; p < end; p++) {
      const i = idx[p]!;
      const b = bins[col + i]!;
      keys[binStart[b - lo]!++] = b * KEY + i;
    }
  }
  for (let q = 1; q < count; q++) {
    const key = keys[q]!;
    let r = q - 1;
    while (r >= 0 && keys[r]! > key) {
      keys[r + 1] = keys[r]!;
      r--;
    }
    keys[r + 1] = key;
  }
  return keys;
}
