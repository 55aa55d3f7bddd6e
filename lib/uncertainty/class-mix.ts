import { Rng } from '../rng.js';
import { quantileSorted } from '../stats.js';

/**
 * The class proportions of a target population from a classifier's posteriors, by EM
 * (Saerens, Latinne & Decaestecker 2002, Neural Computation 14, 21, Eqs. 2.9-2.10): with
 * training priors pi_t and current estimates pi, each posterior is re-weighted as
 * p'_k(x) ∝ p_k(x) pi_k / pi_t,k, and pi_k becomes the mean of p'_k over the targets;
 * repeated until pi moves less than `tol`. The posteriors must be calibrated, class by
 * class, for the training mix; the balanced bootstrap's are not (temperature scaling
 * fixes their overall sharpness, not each class's level), so callers correct them first
 * (fitClassBiases below). Classes with training prior 0 stay at 0.
 */
export interface ClassMix {
  priors: number[];
  /** the posteriors re-weighted with the estimated priors, row-major */
  adjusted: Float64Array;
  iterations: number;
  converged: boolean;
}

export function emClassMix(
  proba: ArrayLike<number>,
  trainPriors: readonly number[],
  opts: { maxIterations?: number; tol?: number; start?: readonly number[] } = {},
): ClassMix {
  const K = trainPriors.length;
  const n = proba.length / K;
  if (!Number.isInteger(n) || n === 0)
    throw new Error(`class mix: ${proba.length} probabilities are not rows of ${K} classes`);
  const maxIt = opts.maxIterations ?? 1000;
  const tol = opts.tol ?? 1e-8;
  // `start`: where the iteration begins (a bootstrap replicate starts at the full sample's estimate); the fixed point is the same
  let pi = [...(opts.start ?? trainPriors)];
  const adjusted = new Float64Array(n * K);
  const ratio = new Float64Array(K);
  let it = 0;
  let converged = false;
  while (it < maxIt) {
    it++;
    const next = new Array<number>(K).fill(0);
    for (let k = 0; k < K; k++) ratio[k] = trainPriors[k]! > 0 ? pi[k]! / trainPriors[k]! : 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const w = proba[i * K + k]! * ratio[k]!;
        adjusted[i * K + k] = w;
        s += w;
      }
      for (let k = 0; k < K; k++) {
        // a row the re-weighting zeroes entirely keeps its original posterior
        const v = s > 0 ? adjusted[i * K + k]! / s : proba[i * K + k]!;
        adjusted[i * K + k] = v;
        next[k]! += v / n;
      }
    }
    const delta = Math.max(...next.map((v, k) => Math.abs(v - pi[k]!)));
    pi = next;
    if (delta < tol) {
      converged = true;
      break;
    }
  }
  return { priors: pi, adjusted, iterations: it, converged };
}

/** The EM estimate with a bootstrap interval per class: rows resampled `replicates` times (seeded), quantiles `lo`/`hi` of the estimates. */
export function classMixWithInterval(
  proba: ArrayLike<number>,
  trainPriors: readonly number[],
  opts: { replicates: number; seed: number; lo?: number; hi?: number },
): { estimate: ClassMix; lo: number[]; hi: number[] } {
  const K = trainPriors.length;
  const n = proba.length / K;
  const estimate = emClassMix(proba, trainPriors);
  const rng = new Rng(opts.seed);
  const perClass = trainPriors.map(() => new Float64Array(opts.replicates));
  const sample = new Float64Array(n * K);
  for (let b = 0; b < opts.replicates; b++) {
    for (let i = 0; i < n; i++) {
      const j = rng.nextInt(n);
      for (let k = 0; k < K; k++) sample[i * K + k] = proba[j * K + k]!;
    }
    const e = emClassMix(sample, trainPriors, { maxIterations: 200, tol: 1e-6, start: estimate.priors });
    e.priors.forEach((v, k) => (perClass[k]![b] = v));
  }
  const q = (a: Float64Array, p: number) => quantileSorted(Float64Array.from(a).sort(), p);
  return { estimate, lo: perClass.map((a) => q(a, opts.lo ?? 0.025)), hi: perClass.map((a) => q(a, opts.hi ?? 0.975)) };
}

/**
 * Bias-corrected calibration for label shift (Alexandari, Kundaje & Shrikumar 2020,
 * ICML, "Maximum likelihood with bias-corrected calibration is hard-to-beat at label
 * shift adaptation"): q_k ∝ p_k exp(b_k), with per-class biases b fitted by maximum
 * likelihood on held-out rows of known class. EM on uncorrected posteriors goes wrong
 * when a class's probabilities are systematically inflated (the balanced bootstrap does
 * that to the rare classes, by design), and the re-weighting by pi / pi_t amplifies it.
 *
 * The likelihood is convex in b and its stationary point is where every class's summed
 * probability equals its count, so the fit is iterative proportional scaling, b_k +=
 * ln(count_k / sum_i q_ik), to convergence. Probabilities are floored at 1e-6 (a forest
 * gives exact zeros); a class with no row keeps b = -Infinity (probability 0).
 */
export function fitClassBiases(
  proba: ArrayLike<number>,
  K: number,
  truth: readonly number[],
  opts: { maxIterations?: number; tol?: number } = {},
): number[] {
  const n = truth.length;
  if (proba.length !== n * K)
    throw new Error(`class biases: ${proba.length} probabilities for ${n} rows of ${K} classes`);
  const counts = new Array<number>(K).fill(0);
  for (const t of truth) counts[t]!++;
  const b = counts.map((c) => (c > 0 ? 0 : -Infinity));
  const logp = Float64Array.from(proba, (v) => Math.log(Math.max(v, 1e-6)));
  for (let it = 0; it < (opts.maxIterations ?? 500); it++) {
    const sums = applyClassBiasesLog(logp, K, b).reduce(
      (acc, v, j) => ((acc[j % K]! += v), acc),
      new Array<number>(K).fill(0),
    );
    let delta = 0;
    for (let k = 0; k < K; k++) {
      if (counts[k] === 0) continue;
      const step = Math.log(counts[k]! / sums[k]!);
      b[k]! += step;
      delta = Math.max(delta, Math.abs(step));
    }
    if (delta < (opts.tol ?? 1e-9)) break;
  }
  // only differences matter: the first present class at 0
  const ref = b.find((v) => Number.isFinite(v)) ?? 0;
  return b.map((v) => v - ref);
}

function applyClassBiasesLog(logp: Float64Array, K: number, b: readonly number[]): Float64Array {
  const out = new Float64Array(logp.length);
  for (let i = 0; i < logp.length; i += K) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, (out[i + k] = logp[i + k]! + b[k]!));
    let s = 0;
    for (let k = 0; k < K; k++) s += out[i + k] = Number.isFinite(out[i + k]!) ? Math.exp(out[i + k]! - max) : 0;
    for (let k = 0; k < K; k++) out[i + k]! /= s;
  }
  return out;
}

/** Probabilities (row-major, K per row) with the fitted class biases applied (fitClassBiases). */
export function applyClassBiases(proba: ArrayLike<number>, K: number, b: readonly number[]): Float64Array {
  return applyClassBiasesLog(
    Float64Array.from(proba, (v) => Math.log(Math.max(v, 1e-6))),
    K,
    b,
  );
}
