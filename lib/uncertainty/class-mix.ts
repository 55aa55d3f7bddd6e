import { Rng } from '../rng.js';
import { quantileSorted } from '../stats.js';

/**
 * The class proportions of a target population from a classifier's posteriors, by EM
 * (Saerens, Latinne & Decaestecker 2002, Neural Computation 14, 21, Eqs. 2.9-2.10): with
 * training priors pi_t and current estimates pi, each posterior is re-weighted as
 * p'_k(x) ∝ p_k(x) pi_k / pi_t,k, and pi_k becomes the mean of p'_k over the targets;
 * repeated until pi moves less than `tol`. The posteriors must be calibrated for the
 * training mix (XClass's are, by temperature on out-of-bag rows of the training mix).
 * Classes with training prior 0 stay at 0.
 */
export interface ClassMix {
  priors: number[];
  /** the posteriors re-weighted with the estimated priors, row-major */
  adjusted: Float64Array;
  iterations: number;
  converged: boolean;
}

export function emClassMix(proba: ArrayLike<number>, trainPriors: readonly number[], opts: { maxIterations?: number; tol?: number } = {}): ClassMix {
  const K = trainPriors.length;
  const n = proba.length / K;
  if (!Number.isInteger(n) || n === 0) throw new Error(`class mix: ${proba.length} probabilities are not rows of ${K} classes`);
  const maxIt = opts.maxIterations ?? 1000;
  const tol = opts.tol ?? 1e-8;
  let pi = [...trainPriors];
  const adjusted = new Float64Array(n * K);
  let it = 0;
  let converged = false;
  while (it < maxIt) {
    it++;
    const next = new Array<number>(K).fill(0);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const w = trainPriors[k]! > 0 ? (proba[i * K + k]! * pi[k]!) / trainPriors[k]! : 0;
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
    const e = emClassMix(sample, trainPriors, { maxIterations: 200, tol: 1e-6 });
    e.priors.forEach((v, k) => (perClass[k]![b] = v));
  }
  const q = (a: Float64Array, p: number) => quantileSorted(Float64Array.from(a).sort(), p);
  return { estimate, lo: perClass.map((a) => q(a, opts.lo ?? 0.025)), hi: perClass.map((a) => q(a, opts.hi ?? 0.975)) };
}
