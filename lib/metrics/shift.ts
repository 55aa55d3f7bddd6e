import type { PopulationShiftRow } from '../../schemas/catalog.js';
import { quantileSorted } from '../stats.js';
/**
 * How far a population of targets lies from the training set, one feature at a time:
 * the two-sample Kolmogorov-Smirnov statistic with its asymptotic p-value, and the
 * population stability index over the training set's deciles. Pure functions on plain
 * arrays of finite values (missing values are left out by the caller and counted).
 */

/**
 * Two-sample KS statistic D = sup |F_a(x) - F_b(x)| over the pooled values (ties
 * stepped together, as scipy.stats.ks_2samp does).
 */
export function ksStatistic(a: readonly number[], b: readonly number[]): number {
  return ksStatisticSorted(Float64Array.from(a).sort(), Float64Array.from(b).sort());
}

/** ksStatistic of two samples already sorted ascending (finite values). */
function ksStatisticSorted(x: Float64Array, y: Float64Array): number {
  if (x.length === 0 || y.length === 0) return Number.NaN;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i] === v) i++;
    while (j < y.length && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

/**
 * The asymptotic p-value of a two-sample KS statistic: Q_KS(lambda) = 2 sum_k (-1)^(k-1)
 * exp(-2 k^2 lambda^2) with lambda = (sqrt(n_e) + 0.12 + 0.11/sqrt(n_e)) D and
 * n_e = n m / (n + m) (Numerical Recipes, 3rd ed., eqs. 14.3.9 and 14.3.11).
 */
export function ksPValue(d: number, n: number, m: number): number {
  if (!(n > 0 && m > 0) || Number.isNaN(d)) return Number.NaN;
  const ne = (n * m) / (n + m);
  const lambda = (Math.sqrt(ne) + 0.12 + 0.11 / Math.sqrt(ne)) * d;
  if (lambda < 1e-3) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = 2 * (k % 2 === 1 ? 1 : -1) * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.min(1, Math.max(0, sum));
}

/**
 * Population stability index sum_i (t_i - r_i) ln(t_i / r_i) over the reference's
 * decile bins (edges at its 10%..90% quantiles), each share floored at 1e-4 so an empty
 * bin stays finite. Below 0.1 is read as no shift, 0.1-0.25 moderate, above 0.25 large.
 */
export function populationStabilityIndex(reference: readonly number[], target: readonly number[], bins = 10): number {
  return psiSorted(Float64Array.from(reference).sort(), target, bins);
}

/** populationStabilityIndex with the reference already sorted ascending (finite values). */
function psiSorted(r: Float64Array, target: ArrayLike<number>, bins = 10): number {
  if (r.length === 0 || target.length === 0) return Number.NaN;
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) edges.push(r[Math.min(r.length - 1, Math.floor((k * r.length) / bins))]!);
  const share = (xs: ArrayLike<number>) => {
    const counts = new Array<number>(bins).fill(0);
    for (let i = 0; i < xs.length; i++) {
      const v = xs[i]!;
      let b = 0;
      while (b < edges.length && v >= edges[b]!) b++;
      counts[b]!++;
    }
    return counts.map((c) => Math.max(1e-4, c / xs.length));
  };
  const ref = share(r);
  const tgt = share(target);
  return ref.reduce((s, rv, k) => s + (tgt[k]! - rv) * Math.log(tgt[k]! / rv), 0);
}

/** One side of a feature's comparison: how many sources, and their known (finite) values in ascending order. */
export interface ShiftSide {
  n: number;
  known: Float64Array;
}

/** The values that are known (finite: not NULL, NaN or infinite), sorted once (a typed array: numeric order, no comparator). */
export function knownSorted(values: readonly (number | null | undefined)[]): Float64Array {
  return Float64Array.from(
    values.filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v)),
  ).sort();
}

/** One feature's shift from the training sources (`a`) to the targets (`b`): the KS steps, the medians and the deciles. */
export function featureShift(
  route: PopulationShiftRow['model_used'],
  feature: string,
  training: ShiftSide,
  targets: ShiftSide,
): PopulationShiftRow {
  const a = training.known;
  const b = targets.known;
  const d = a.length > 0 && b.length > 0 ? ksStatisticSorted(a, b) : null;
  return {
    model_used: route,
    feature,
    n_training: training.n,
    n_targets: targets.n,
    missing_share_training: training.n > 0 ? 1 - a.length / training.n : 0,
    missing_share_targets: targets.n > 0 ? 1 - b.length / targets.n : 0,
    median_training: a.length > 0 ? quantileSorted(a, 0.5) : null,
    median_targets: b.length > 0 ? quantileSorted(b, 0.5) : null,
    ks_d: d,
    ks_p: d === null ? null : ksPValue(d, a.length, b.length),
    psi: a.length > 0 && b.length > 0 ? psiSorted(a, b) : null,
  };
}

/** The features that moved most (largest KS statistic), per route, in words for the notes. */
export function mostShifted(rows: readonly PopulationShiftRow[], n: number): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const route of ['full', 'xray_only'] as const) {
    const mine = rows.filter((r) => r.model_used === route && r.ks_d !== null).sort((a, b) => b.ks_d! - a.ks_d!);
    if (mine.length > 0)
      out[route] = mine
        .slice(0, n)
        .map(
          (r) =>
            `${r.feature}: KS D ${r.ks_d!.toFixed(2)}, PSI ${r.psi!.toFixed(2)}, median ${r.median_training?.toPrecision(3)} -> ${r.median_targets?.toPrecision(3)}`,
        );
  }
  return out;
}
