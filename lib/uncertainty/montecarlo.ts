import { Rng } from '../rng.js';
import { quantileSorted } from '../stats.js';
import { decideOnMeans, type TwoStageModel, type TwoStagePrediction } from '../forest/two-stage.js';

/**
 * Monte-Carlo propagation of measurement errors (as MUWCLASS does, Yang et al. 2022,
 * section 3.3): each source's X-ray fluxes and magnitudes are drawn from their errors,
 * every draw goes through the whole feature path and the model, and the spread of the
 * class probabilities over the draws says how far the measurement errors move the
 * answer. Draws come from the source's own generator (seeded by its id), so they do not
 * depend on batch order or thread count.
 */

/** A standard normal deviate by Box-Muller from two uniforms of `rng` (the cosine branch). */
export function standardNormal(rng: Rng): number {
  const u1 = 1 - rng.nextFloat(); // (0, 1]: the logarithm stays finite
  const u2 = rng.nextFloat();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * One draw of a flux with 1-sigma error: log-normal with median the measured value and
 * the variance of the measurement (sigma_ln^2 = ln(1 + (err/value)^2)), so every draw is
 * positive, however large the error (faint Chandra sources often have err ~ value). A
 * missing value stays missing; a missing or non-positive error leaves the value as it is.
 */
export function drawFlux(value: number | null, err: number | null, rng: Rng): number | null {
  if (value === null) return null;
  const z = standardNormal(rng);
  if (err === null || !(err > 0) || !(value > 0)) return value;
  const sigmaLn = Math.sqrt(Math.log1p((err / value) ** 2));
  return value * Math.exp(sigmaLn * z);
}

/**
 * One draw of a magnitude: normal about the measured value with sigma = sqrt(err^2 +
 * floor^2), the SED stage's error model (its systematic floor included; a missing error
 * becomes the fractional flux error `missingErrFrac` in magnitudes). A missing magnitude
 * stays missing.
 */
export function drawMagnitude(
  mag: number | null,
  err: number | null,
  rng: Rng,
  floorMag: number,
  missingErrFrac: number,
): number | null {
  if (mag === null) return null;
  const z = standardNormal(rng);
  const e = err !== null && err > 0 ? err : (2.5 / Math.LN10) * missingErrFrac;
  return mag + z * Math.hypot(e, floorMag);
}

/** Per class over the draws: mean, the 16-84% interval, standard deviation; the top two classes of the mean and their significance. */
export interface DrawSummary {
  mean: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
  sd: Float64Array;
  top: number;
  second: number;
  /**
   * MUWCLASS's confidence significance (P1 - P2) / (sigma1 + sigma2) of the top two
   * classes of the mean vector; null when both have no spread over the draws (the
   * ordering does not depend on the measurement errors at all)
   */
  significance: number | null;
}

/** Summary of `nDraws` probability vectors of K classes (row-major, one row a draw). */
export function summariseDraws(proba: ArrayLike<number>, nDraws: number, K: number, lo = 0.16, hi = 0.84): DrawSummary {
  if (proba.length !== nDraws * K || nDraws === 0)
    throw new Error(`montecarlo: ${proba.length} probabilities for ${nDraws} draws of ${K} classes`);
  const mean = new Float64Array(K);
  const qlo = new Float64Array(K);
  const qhi = new Float64Array(K);
  const sd = new Float64Array(K);
  const col = new Float64Array(nDraws);
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let d = 0; d < nDraws; d++) s += col[d] = proba[d * K + k]!;
    const m = s / nDraws;
    let v = 0;
    for (let d = 0; d < nDraws; d++) v += (col[d]! - m) ** 2;
    col.sort();
    mean[k] = m;
    sd[k] = nDraws > 1 ? Math.sqrt(v / (nDraws - 1)) : 0;
    qlo[k] = quantileSorted(col, lo);
    qhi[k] = quantileSorted(col, hi);
  }
  let top = 0;
  for (let k = 1; k < K; k++) if (mean[k]! > mean[top]!) top = k;
  let second = top === 0 ? 1 : 0;
  for (let k = 0; k < K; k++) if (k !== top && mean[k]! > mean[second]!) second = k;
  const spread = sd[top]! + sd[second]!;
  const significance = K < 2 ? null : spread > 0 ? (mean[top]! - mean[second]!) / spread : null;
  return { mean, lo: qlo, hi: qhi, sd, top, second, significance };
}

/** A source's Monte-Carlo draws through the model: the two-stage decision on the mean vectors, and their spread. */
export interface DrawOutcome {
  pred: TwoStagePrediction;
  mc_draws: number;
  /** 16-84% intervals of the final and Stage-1 vectors */
  final_lo: Float64Array;
  final_hi: Float64Array;
  stage1_lo: Float64Array;
  stage1_hi: Float64Array;
  /** of the final vector's top two classes (summariseDraws) */
  significance: number | null;
}

/**
 * The predictions of every draw of every source (`counts[i]` draws of source i, in
 * order), summarised per source: mean final and Stage-1 vectors with their 16-84%
 * intervals, the two-stage decision on the means, the significance of the top two
 * classes.
 */
export function summariseDrawPredictions(
  model: TwoStageModel,
  all: readonly TwoStagePrediction[],
  counts: readonly number[],
): DrawOutcome[] {
  const K = model.finalClasses.length;
  const G = model.groups.length;
  const out: DrawOutcome[] = [];
  let at = 0;
  for (const n of counts) {
    const fin = new Float64Array(n * K);
    const st1 = new Float64Array(n * G);
    for (let d = 0; d < n; d++) {
      fin.set(all[at + d]!.proba, d * K);
      st1.set(all[at + d]!.stage1Proba, d * G);
    }
    at += n;
    const f = summariseDraws(fin, n, K);
    const s1 = summariseDraws(st1, n, G);
    out.push({
      pred: decideOnMeans(model, s1.mean, f.mean),
      mc_draws: n,
      final_lo: f.lo,
      final_hi: f.hi,
      stage1_lo: s1.lo,
      stage1_hi: s1.hi,
      significance: f.significance,
    });
  }
  return out;
}

/** A translation reduced to what the features read: HST magnitudes (null: none) and A_V. */
export interface TranslatedMags {
  mag_ab: (number | null)[];
  a_v: number | null;
}

/**
 * The translation linearised about the measured magnitudes: its value there and its
 * Jacobian by central differences of +-`step_mag` in each measured band (2n + 1 fits, a
 * step of the size of typical errors, so the slope is a secant over the range the draws
 * cover), so a draw of the magnitudes moves the HST magnitudes by J delta_m instead of
 * a fit of its own. An approximation, opt-in (`uncertainty.mc.translation = linear`) for
 * large fields: the label-free posterior switches between model families as the inputs
 * move, so per draw the HST colours differ from the exact fit's by about half the
 * draws' own spread (measured on the bundled table: 0.06 mag against a spread of 0.14),
 * while the class probabilities the draws give barely move (mean |dp| 0.0005, the same
 * class for 1,407 of 1,409 sources; tests/activities/montecarlo.test.ts and the closing
 * note of issue 13). Null where the measured values do not translate.
 */
export interface LinearTranslation {
  base: TranslatedMags;
  /** per output o and input band k: d mag_o / d m_k (row-major, nOut x nIn); 0 where a step did not translate */
  jacobian: Float64Array;
  aVGradient: Float64Array;
  nIn: number;
}

function lineariseTranslation(
  mags: readonly (number | null)[],
  translate: (mags: readonly (number | null)[]) => TranslatedMags | null,
  step_mag = 0.05,
): LinearTranslation | null {
  const base = translate(mags);
  if (base === null) return null;
  const nIn = mags.length;
  const nOut = base.mag_ab.length;
  const jacobian = new Float64Array(nOut * nIn);
  const aVGradient = new Float64Array(nIn);
  mags.forEach((m, k) => {
    if (m === null) return;
    const up = translate(mags.map((v, j) => (j === k ? m + step_mag : v)));
    const down = translate(mags.map((v, j) => (j === k ? m - step_mag : v)));
    if (up === null || down === null) return;
    for (let o = 0; o < nOut; o++) {
      const a = down.mag_ab[o];
      const b = up.mag_ab[o];
      if (a !== null && a !== undefined && b !== null && b !== undefined)
        jacobian[o * nIn + k] = (b - a) / (2 * step_mag);
    }
    if (up.a_v !== null && down.a_v !== null) aVGradient[k] = (up.a_v - down.a_v) / (2 * step_mag);
  });
  return { base, jacobian, aVGradient, nIn };
}

/** The linearised translation of a draw whose magnitudes differ from the measured ones by `delta` (null: band not measured). */
function applyLinear(lin: LinearTranslation, delta: readonly (number | null)[]): TranslatedMags {
  const { nIn, jacobian } = lin;
  const mag_ab = lin.base.mag_ab.map((m, o) => {
    if (m === null) return null;
    let v = m;
    for (let k = 0; k < nIn; k++) if (delta[k] !== null) v += jacobian[o * nIn + k]! * delta[k]!;
    return v;
  });
  let a_v = lin.base.a_v;
  if (a_v !== null) {
    for (let k = 0; k < nIn; k++) if (delta[k] !== null) a_v += lin.aVGradient[k]! * delta[k]!;
    a_v = Math.max(0, a_v);
  }
  return { mag_ab, a_v };
}

/**
 * How each Monte-Carlo draw of one source is translated, given its input-band magnitudes
 * (null: not measured): `exact` fits the draw itself; `linear` fits the measured
 * magnitudes and a step either side per band once (`lineariseTranslation`) and moves
 * each draw by the Jacobian. Null where the draw (or, linear, the measured values) does
 * not translate. The `predict` and `classify` draws both go through here.
 */
export function drawTranslation(
  mode: 'exact' | 'linear',
  measured: readonly (number | null)[],
  translate: (mags: readonly (number | null)[]) => TranslatedMags | null,
): (drawn: readonly (number | null)[]) => TranslatedMags | null {
  if (mode === 'exact') return translate;
  const linear = lineariseTranslation(measured, translate);
  return (drawn) =>
    linear &&
    applyLinear(
      linear,
      measured.map((m, k) => (m === null ? null : drawn[k]! - m)),
    );
}
