import { quantileSorted } from '../stats.js';
import type { Matrix } from '../forest/types.js';

/**
 * Out-of-distribution score: the distance of a source to its k-th nearest training
 * source in robustly scaled feature space, divided by the same distance typical among
 * the training sources themselves (each left out of its own neighbours). A score near 1
 * is an ordinary source; 3 means three times farther from the training set than
 * training sources are from each other.
 *
 * Why this one (the issue allowed forest proximity, per-group Mahalanobis or an
 * isolation forest): the k-th-neighbour distance is the classical distance-based
 * outlier score (Ramaswamy, Rastogi & Shim 2000, SIGMOD; as an OOD detector, Sun et al.
 * 2022, ICML, "Out-of-distribution detection with deep nearest neighbors"). It assumes
 * no shape (the classes' features are multimodal, so one Gaussian per Stage-1 group
 * misdescribes, e.g., stars of every spectral type); it flags a source far out in any
 * single feature, where an isolation forest of height log2(256) = 8 in 26 dimensions
 * often never splits on that feature; and it is deterministic. The forest's own
 * proximity would miss a value far outside in a feature the trees rarely split on.
 *
 * Scaling per feature: (x - median) / (IQR / 1.349), falling back to 1.4826 MAD; a
 * feature with no spread among the training sources carries no information the model
 * can use and is left out of the distance (weight 0). The values are the model's
 * inputs after imputation with its training medians.
 */
export interface NeighbourReference {
  k: number;
  /** per feature: median and scale (0 scale: feature left out) */
  center: Float64Array;
  invScale: Float64Array;
  /** the reference rows, scaled, row-major */
  points: Float64Array;
  nPoints: number;
  nFeatures: number;
  /** median over reference rows of the distance to their k-th nearest other reference row */
  typical: number;
}

/** Scaled rows (row-major) of a column-major matrix. */
function scaledRows(m: Matrix, center: Float64Array, invScale: Float64Array): Float64Array {
  const n = m.nSamples;
  const F = m.nFeatures;
  const out = new Float64Array(n * F);
  for (let f = 0; f < F; f++) {
    const c = center[f]!;
    const s = invScale[f]!;
    for (let i = 0; i < n; i++) out[i * F + f] = s === 0 ? 0 : (m.x[f * n + i]! - c) * s;
  }
  return out;
}

/**
 * Puts `d`, smaller than the largest of them, into the k smallest values so far,
 * best[at .. at + k) in ascending order (k is small, default 5, so insertion is cheapest).
 */
function insertBest(best: Float64Array, at: number, k: number, d: number): void {
  let p = at + k - 1;
  while (p > at && best[p - 1]! > d) {
    best[p] = best[p - 1]!;
    p--;
  }
  best[p] = d;
}

/** The k-th smallest squared distance from the row at `offset` in `a` to the rows of `points`. */
function kthSquaredDistance(
  a: Float64Array,
  offset: number,
  points: Float64Array,
  nPoints: number,
  F: number,
  k: number,
): number {
  // the k smallest so far, ascending
  const best = new Float64Array(k).fill(Infinity);
  for (let j = 0; j < nPoints; j++) {
    let d = 0;
    const o = j * F;
    for (let f = 0; f < F; f++) {
      const t = a[offset + f]! - points[o + f]!;
      d += t * t;
      if (d >= best[k - 1]!) break;
    }
    if (d < best[k - 1]!) insertBest(best, 0, k, d);
  }
  return best[k - 1]!;
}

/**
 * Each point's distance to its k-th nearest other point, every pair's squared distance
 * summed once for both (the same sum either way: (a - b)^2 = (b - a)^2 exactly), so half
 * the work of a search per point; a sum stops once it reaches both points' k-th best
 * so far. The same numbers as kthSquaredDistance per point.
 */
function selfKthDistances(points: Float64Array, n: number, F: number, k: number): Float64Array {
  // per point its k smallest so far, ascending
  const best = new Float64Array(n * k).fill(Infinity);
  for (let i = 0; i < n; i++) {
    const oi = i * F;
    for (let j = i + 1; j < n; j++) {
      const bi = best[i * k + k - 1]!;
      const bj = best[j * k + k - 1]!;
      const limit = bi > bj ? bi : bj;
      let d = 0;
      const oj = j * F;
      for (let f = 0; f < F; f++) {
        const t = points[oi + f]! - points[oj + f]!;
        d += t * t;
        if (d >= limit) break;
      }
      if (d < bi) insertBest(best, i * k, k, d);
      if (d < bj) insertBest(best, j * k, k, d);
    }
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(best[i * k + k - 1]!);
  return out;
}

/** The reference of a training matrix (column-major, imputed): scales, scaled points, typical k-th-neighbour distance. */
export function fitNeighbourReference(m: Matrix, k = 5): NeighbourReference {
  const n = m.nSamples;
  const F = m.nFeatures;
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`neighbours: k must be a positive integer, got ${k}`);
  if (n <= k) throw new Error(`neighbours: ${n} reference rows, need more than k = ${k}`);
  const center = new Float64Array(F);
  const invScale = new Float64Array(F);
  const col = new Float64Array(n);
  for (let f = 0; f < F; f++) {
    for (let i = 0; i < n; i++) col[i] = m.x[f * n + i]!;
    col.sort();
    const med = quantileSorted(col, 0.5);
    let scale = (quantileSorted(col, 0.75) - quantileSorted(col, 0.25)) / 1.349;
    if (!(scale > 0)) {
      const dev = Float64Array.from(col, (v) => Math.abs(v - med)).sort();
      scale = 1.4826 * quantileSorted(dev, 0.5);
    }
    if (!(scale > 0)) {
      // still no spread in the central half: the largest deviation, so a feature with a few distinct values still counts
      let maxDev = 0;
      for (const v of col) maxDev = Math.max(maxDev, Math.abs(v - med));
      scale = maxDev;
    }
    center[f] = med;
    invScale[f] = scale > 0 ? 1 / scale : 0;
  }
  const points = scaledRows(m, center, invScale);
  const self = selfKthDistances(points, n, F, k);
  self.sort();
  const typical = quantileSorted(self, 0.5);
  return { k, center, invScale, points, nPoints: n, nFeatures: F, typical: typical > 0 ? typical : 1 };
}

/** A matrix's rows (column-major, imputed the model's way) scaled into a reference's feature space, row-major. */
export function referenceRows(ref: NeighbourReference, m: Matrix): Float64Array {
  if (m.nFeatures !== ref.nFeatures)
    throw new Error(`neighbours: ${m.nFeatures} features, the reference has ${ref.nFeatures}`);
  return scaledRows(m, ref.center, ref.invScale);
}

/** The OOD scores of scaled rows [from, to) (referenceRows): each row's alone, so any split of the rows gives the same numbers. */
export function scoreRows(ref: NeighbourReference, rows: Float64Array, from: number, to: number): Float64Array {
  const out = new Float64Array(to - from);
  for (let i = from; i < to; i++)
    out[i - from] =
      Math.sqrt(kthSquaredDistance(rows, i * ref.nFeatures, ref.points, ref.nPoints, ref.nFeatures, ref.k)) /
      ref.typical;
  return out;
}

/** The OOD score of each row of a matrix (column-major, imputed the model's way) against a reference. */
export function neighbourScores(ref: NeighbourReference, m: Matrix): Float64Array {
  return scoreRows(ref, referenceRows(ref, m), 0, m.nSamples);
}

/**
 * The flag threshold: the score exceeded by `rate` of in-distribution sources (held-out
 * training sources scored against models that did not see them), the (1 - rate)
 * quantile with linear interpolation.
 */
export function oodThreshold(inDistributionScores: ArrayLike<number>, rate: number): number {
  if (!(rate > 0 && rate < 1)) throw new Error(`ood flag rate must be in (0, 1), got ${rate}`);
  if (inDistributionScores.length === 0) throw new Error('ood threshold from no scores');
  const sorted = Float64Array.from(inDistributionScores).sort();
  return quantileSorted(sorted, 1 - rate);
}
