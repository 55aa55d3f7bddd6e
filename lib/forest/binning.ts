/**
 * Feature binning. Each feature is mapped to at most 256 ordered bins (uint8) once, before
 * any tree is grown; a split is then a bin boundary, found from a per-node class-weight
 * histogram in O(n_node + n_bins) instead of the O(n_node log n_node) sort a presorted
 * CART needs at every node (measured in bench/forest: see the closing note of the forest
 * issue). With <= 256 distinct values a feature's bins are its values, and the split is
 * exactly the exhaustive CART split; above that, bin edges are quantiles, as in
 * scikit-learn's HistGradientBoosting and LightGBM. The threshold reported for a split
 * is the midpoint between the largest value left and the smallest value right, as
 * scikit-learn does.
 */
export const MAX_BINS = 256;

export interface BinnedFeatures {
  nSamples: number;
  nFeatures: number;
  /** column-major bins: feature f, sample i at [f * nSamples + i] */
  bins: Uint8Array;
  /** per feature: for bin b, the smallest and largest raw value it holds */
  binMin: Float64Array[];
  binMax: Float64Array[];
  nBins: Int32Array;
}

/** Bins column-major features X[f * nSamples + i]. NaN is refused: imputation happens upstream. */
export function binFeatures(x: Float64Array, nSamples: number, nFeatures: number, maxBins = MAX_BINS): BinnedFeatures {
  if (x.length !== nSamples * nFeatures)
    throw new Error(`features: expected ${nSamples} x ${nFeatures} = ${nSamples * nFeatures} values, got ${x.length}`);
  const bins = new Uint8Array(nSamples * nFeatures);
  const binMin: Float64Array[] = [];
  const binMax: Float64Array[] = [];
  const nBins = new Int32Array(nFeatures);
  const order = new Float64Array(nSamples);
  for (let f = 0; f < nFeatures; f++) {
    const col = x.subarray(f * nSamples, (f + 1) * nSamples);
    for (let i = 0; i < nSamples; i++) {
      const v = col[i]!;
      if (Number.isNaN(v))
        throw new Error(`features: NaN at sample ${i}, feature ${f} (impute missing values before fitting)`);
      order[i] = v;
    }
    order.sort();
    // distinct values
    const distinct: number[] = [];
    for (let i = 0; i < nSamples; i++) if (i === 0 || order[i] !== order[i - 1]) distinct.push(order[i]!);
    let edges: number[]; // upper edges: a value v goes to the first bin b with v <= edges[b]
    if (distinct.length <= maxBins) edges = distinct;
    else {
      edges = [];
      for (let b = 1; b <= maxBins; b++) {
        const q = order[Math.min(nSamples - 1, Math.floor((b * nSamples) / maxBins) - 1)]!;
        if (edges.length === 0 || q > edges[edges.length - 1]!) edges.push(q);
      }
      edges[edges.length - 1] = distinct[distinct.length - 1]!;
    }
    nBins[f] = edges.length;
    const lo = new Float64Array(edges.length).fill(Infinity);
    const hi = new Float64Array(edges.length).fill(-Infinity);
    for (let i = 0; i < nSamples; i++) {
      const v = col[i]!;
      // binary search for the first edge >= v
      let a = 0;
      let z = edges.length - 1;
      while (a < z) {
        const m = (a + z) >> 1;
        if (edges[m]! >= v) z = m;
        else a = m + 1;
      }
      bins[f * nSamples + i] = a;
      if (v < lo[a]!) lo[a] = v;
      if (v > hi[a]!) hi[a] = v;
    }
    binMin.push(lo);
    binMax.push(hi);
  }
  return { nSamples, nFeatures, bins, binMin, binMax, nBins };
}
