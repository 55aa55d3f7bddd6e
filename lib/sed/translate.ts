import {
  bandFlux,
  bandWeights,
  pivotWavelength,
  transmittedRange,
  type BandConvention,
  type Filter,
} from './filters.js';
import { fitGrid, type BandFluxTable, type FitResult, type Observation } from './fit.js';
import type { WavelengthGrid } from './grid.js';
import type { ModelSet } from './templates.js';
import { abMagFromFnu } from './units.js';
import type { Rng } from '../rng.js';
import type { ObservationResult } from './photometry.js';

/** The model families, in the order a label-free fit lists (and sums) their models. */
export const FAMILY_KEYS = [
  'pickles',
  'composite',
  'powerlaw',
  'blackbody',
  'two_component_lmxb',
  'two_component_hmxb',
  'composite_z',
  'salvato',
] as const;
export type FamilyKey = (typeof FAMILY_KEYS)[number];

/**
 * Model families a class is translated with: the method's Table 2 (`paper`) or one
 * mapping for every class (`class_blind`, the ablation). Keys name entries of the
 * family library; null means the class is not translated (SNR).
 */
export const PAPER_ASSIGNMENT: Record<string, readonly [FamilyKey, FamilyKey] | null> = {
  AGN: ['composite', 'powerlaw'],
  LMXB: ['two_component_lmxb', 'blackbody'],
  HMXB: ['two_component_hmxb', 'blackbody'],
  CV: ['two_component_lmxb', 'blackbody'],
  'LM-STAR': ['pickles', 'blackbody'],
  'HM-STAR': ['pickles', 'blackbody'],
  SNR: null,
};

export const CLASS_BLIND_ASSIGNMENT: Record<string, readonly [FamilyKey, FamilyKey] | null> = Object.fromEntries(
  Object.entries(PAPER_ASSIGNMENT).map(([cls, v]) => [cls, v === null ? null : (['pickles', 'blackbody'] as const)]),
);

/** One family with its models' fluxes through the input bands then the output filters. */
export interface PreparedFamily {
  set: ModelSet;
  table: BandFluxTable;
  /**
   * per model and output filter, the AB magnitude at unit scale (NaN where the model has
   * no flux): a scaled model's magnitude is this minus 2.5 log10(scale)
   */
  outMag: Float64Array;
  /**
   * the input bands' fluxes band-major, [band * nModels + model]: the label-free fit runs
   * over every model one band at a time, so its inner loop reads contiguous memory
   */
  inByBand: Float64Array;
}

export interface OutputFilter {
  name: string;
  pivot_aa: number;
}

/**
 * Everything needed to translate sources: per family the model fluxes through every
 * band (precomputed once per filter set, so one source's fit is a small array
 * operation), and the output filters' pivots.
 */
export interface TranslationPlan {
  nInput: number;
  inputNames: string[];
  inputPivots_aa: number[];
  outputs: OutputFilter[];
  families: Partial<Record<FamilyKey, PreparedFamily>>;
}

export function preparePlan(
  grid: WavelengthGrid,
  inputFilters: readonly Filter[],
  outputFilters: readonly Filter[],
  families: Partial<Record<FamilyKey, ModelSet>>,
  convention: BandConvention,
): TranslationPlan {
  const all = [...inputFilters, ...outputFilters];
  const weights = all.map((f) => bandWeights(f, grid, convention));
  const ranges = all.map((f) => transmittedRange(f));
  const prepared: Partial<Record<FamilyKey, PreparedFamily>> = {};
  for (const [key, set] of Object.entries(families) as [FamilyKey, ModelSet][]) {
    const nBands = all.length;
    const flux = new Float64Array(set.spectra.length * nBands);
    // a band the model's template does not cover is cut (NaN: no flux there), not extrapolated;
    // a fit observing that band cannot use the model, an average over models leaves it out there
    const covers = (m: number, b: number) =>
      !set.coverage_aa || (set.coverage_aa[m]![0] <= ranges[b]![0] && ranges[b]![1] <= set.coverage_aa[m]![1]);
    set.spectra.forEach((spec, m) =>
      weights.forEach((w, b) => (flux[m * nBands + b] = covers(m, b) ? bandFlux(w, spec) : Number.NaN)),
    );
    const nOut = outputFilters.length;
    const outMag = new Float64Array(set.spectra.length * nOut);
    for (let m = 0; m < set.spectra.length; m++) {
      for (let o = 0; o < nOut; o++) {
        const f = flux[m * nBands + inputFilters.length + o]!;
        outMag[m * nOut + o] = f > 0 ? abMagFromFnu(f) : Number.NaN;
      }
    }
    const nModels = set.spectra.length;
    const inByBand = new Float64Array(inputFilters.length * nModels);
    for (let b = 0; b < inputFilters.length; b++)
      for (let m = 0; m < nModels; m++) inByBand[b * nModels + m] = flux[m * nBands + b]!;
    prepared[key] = { set, table: { nModels, nBands, flux }, outMag, inByBand };
  }
  return {
    nInput: inputFilters.length,
    inputNames: inputFilters.map((f) => f.name),
    inputPivots_aa: inputFilters.map(pivotWavelength),
    outputs: outputFilters.map((f) => ({ name: f.name, pivot_aa: pivotWavelength(f) })),
    families: prepared,
  };
}

export interface UncertaintyOptions {
  /** sigma_base = min(coeff * sqrt(chi2_red), cap) (paper Eq. 4) */
  chi2_coeff: number;
  cap_mag: number;
  /** added in quadrature for filters with pivot below uv_pivot_aa (paper Eq. 5) */
  uv_sigma_mag: number;
  uv_pivot_aa: number;
}

export interface Translation {
  status: 'ok' | 'failed' | 'skipped';
  reason: string | null;
  family: string | null;
  model: string | null;
  model_value: number | null;
  chi2_red: number | null;
  n_bands: number;
  anchor_band: string | null;
  used_fallback: boolean;
  /** visual extinction of the chosen model, or the posterior mean (label-free); null when not translated */
  a_v: number | null;
  /** label-free only: posterior probability of each family with any weight, e.g. `pickles:0.91,blackbody:0.09` */
  family_posterior: string | null;
  /** label-free only: the posterior-mean redshift over the redshifted AGN families' models, and their posterior share (null without them) */
  z_mean: number | null;
  p_redshifted: number | null;
  /** per output filter, AB magnitude and sigma (null when the model has no flux there) */
  mag_ab: (number | null)[];
  mag_err: (number | null)[];
  /** label-free only: translations drawn from the fit posterior */
  draws: TranslationDraw[];
}

/** One model drawn from a source's fit posterior, with its predicted magnitudes. */
export interface TranslationDraw {
  family: string;
  model: string;
  a_v: number;
  mag_ab: (number | null)[];
}

/** A translation that did not happen (skipped class, too few bands, bad photometry). */
export function emptyTranslation(
  status: 'failed' | 'skipped',
  reason: string,
  nOutputs: number,
  nBands: number,
): Translation {
  return {
    status,
    reason,
    family: null,
    model: null,
    model_value: null,
    chi2_red: null,
    n_bands: nBands,
    anchor_band: null,
    used_fallback: false,
    a_v: null,
    family_posterior: null,
    z_mean: null,
    p_redshifted: null,
    mag_ab: Array<number | null>(nOutputs).fill(null),
    mag_err: Array<number | null>(nOutputs).fill(null),
    draws: [],
  };
}

/** Candidate base spectra -> their models in a (possibly reddened, base-major) family. */
function expandCandidates(set: ModelSet, candidates: ArrayLike<number> | undefined): ArrayLike<number> | undefined {
  if (candidates === undefined || !set.nAv) return candidates;
  const nAv = set.nAv;
  return Array.from(candidates).flatMap((b) => Array.from({ length: nAv }, (_, j) => b * nAv + j));
}

/** A family of the plan (a plan built without it is a programming error). */
function familyOf(plan: TranslationPlan, key: FamilyKey): PreparedFamily {
  const fam = plan.families[key];
  if (!fam) throw new Error(`translation plan has no family ${key}`);
  return fam;
}

/** Predicted-magnitude sigma (paper Eqs. 4-5). */
export function predictedSigma(chi2_red: number, pivot_aa: number, u: UncertaintyOptions): number {
  const base = Math.min(u.chi2_coeff * Math.sqrt(chi2_red), u.cap_mag);
  return pivot_aa < u.uv_pivot_aa ? Math.hypot(base, u.uv_sigma_mag) : base;
}

/**
 * Translates one source: fit the primary family, then the fallback if the primary
 * fails (paper section 3.2, step 4), and predict AB magnitudes in the output filters
 * from the best-fit model (step 5). `candidates` restricts a family to some models
 * (nearest Pickles type when the spectral type is known).
 */
export function translateSource(
  plan: TranslationPlan,
  obs: Observation,
  families: readonly [FamilyKey, FamilyKey] | null,
  u: UncertaintyOptions,
  candidates: Partial<Record<FamilyKey, ArrayLike<number>>> = {},
): Translation {
  const empty = (status: 'failed' | 'skipped', reason: string): Translation =>
    emptyTranslation(status, reason, plan.outputs.length, obs.flux_fnu.length);
  if (families === null) return empty('skipped', 'class is not SED-translated');
  const reasons: string[] = [];
  for (let attempt = 0; attempt < families.length; attempt++) {
    const key = families[attempt]!;
    const fam = familyOf(plan, key);
    const fit: FitResult = fitGrid(obs, fam.table, expandCandidates(fam.set, candidates[key]));
    if (!fit.ok) {
      reasons.push(`${key}: ${fit.reason}`);
      continue;
    }
    const row = fit.model * fam.table.nBands;
    const mag_ab: (number | null)[] = [];
    const mag_err: (number | null)[] = [];
    plan.outputs.forEach((o, i) => {
      const f = fit.scale * fam.table.flux[row + plan.nInput + i]!;
      mag_ab.push(f > 0 ? abMagFromFnu(f) : null);
      mag_err.push(f > 0 ? predictedSigma(fit.chi2_red, o.pivot_aa, u) : null);
    });
    return {
      status: 'ok',
      reason: null,
      family: fam.set.family === 'two_component' ? key : fam.set.family,
      model: fam.set.names[fit.model]!,
      model_value: fam.set.values[fit.model] ?? null,
      chi2_red: fit.chi2_red,
      n_bands: obs.flux_fnu.length,
      anchor_band: plan.inputNames[obs.band[fit.anchor]!] ?? null,
      used_fallback: attempt > 0,
      a_v: fam.set.a_v?.[fit.model] ?? 0,
      family_posterior: null,
      z_mean: null,
      p_redshifted: null,
      mag_ab,
      mag_err,
      draws: [],
    };
  }
  return empty('failed', reasons.join('; '));
}

/**
 * The failed translation of a source whose photometry cannot be fitted (a band that is
 * not a usable magnitude, or fewer than 3 valid bands: the method's minimum), else null.
 * `used` names the valid bands.
 */
export function unfittable(obsRes: ObservationResult, used: readonly string[], nOutputs: number): Translation | null {
  if (!obsRes.ok) return emptyTranslation('failed', obsRes.reason, nOutputs, 0);
  if (used.length < 3)
    return emptyTranslation(
      'failed',
      `fewer than 3 valid bands (${used.length}${used.length ? `: ${used.join(', ')}` : ''})`,
      nOutputs,
      used.length,
    );
  return null;
}

/** The label-free model average: prior weight of each family and how many posterior draws to make. */
export interface LabelFreeOptions {
  /**
   * prior probability of each family, split evenly over its grid points (and A_V steps),
   * or by its models' own shares (the redshift prior of the AGN families); 0 or absent leaves a family out
   */
  priors: Partial<Record<FamilyKey, number>>;
  draws: number;
}

/**
 * Label-free translation: every family is fitted and the predictions are averaged over
 * the fit posterior, so no class label chooses the template.
 *
 * Each model is scaled by its least-squares factor s = sum(f M / sigma^2) / sum(M^2 /
 * sigma^2) (every band counts; the method's anchor normalisation throws one band away),
 * giving chi2_m. Its posterior weight is prior_m * exp(-(chi2_m - chi2_min) / (2 T)),
 * with T = max(1, chi2_min / (N - 1)): when even the best model is a poor fit (chi2_red
 * >> 1, template mismatch rather than noise) the errors are rescaled so the best fit has
 * chi2_red = 1, otherwise a handful of bands with millimagnitude errors would give one
 * model all the weight and the average would say nothing about the model spread.
 * Predicted magnitudes are the weighted mean over models; their sigma adds the weighted
 * model spread to the method's Eq. 4-5 term of the best fit, in quadrature. A_V is the
 * posterior mean (0 for the unreddened AGN families). `rng` draws `draws` models from the
 * posterior for training with realistic colour spread.
 */
export function translateLabelFree(
  plan: TranslationPlan,
  obs: Observation,
  opts: LabelFreeOptions,
  u: UncertaintyOptions,
  rng: Rng | null,
): Translation {
  const n = obs.flux_fnu.length;
  if (n < 3) return emptyTranslation('failed', `fewer than 3 valid bands (${n})`, plan.outputs.length, n);
  const layout = modelLayout(plan, opts.priors);
  const chi2Min = scaleModels(layout, obs);
  if (!Number.isFinite(chi2Min))
    return emptyTranslation('failed', 'no model has flux in the observed bands', plan.outputs.length, n);
  const dof = n - 1;
  const { map, nKept } = posteriorWeights(layout, chi2Min, dof);
  const { fams, famOf, modelOf } = layout;
  const set = fams[famOf[map]!]!.fam.set;
  const chi2Red = layout.scratch.chi2[map]! / dof;
  const { mag_ab, mag_err } = averageMagnitudes(plan, layout, nKept, { chi2Red, u });
  const { posterior, aV, zMean, pRedshifted } = familyPosterior(layout, nKept);
  const draws = rng && opts.draws > 0 ? drawModels(plan, layout, nKept, opts.draws, rng) : [];
  return {
    status: 'ok',
    reason: null,
    family: posterior[0]![0],
    model: set.names[modelOf[map]!]!,
    model_value: set.values[modelOf[map]!] ?? null,
    chi2_red: chi2Red,
    n_bands: n,
    anchor_band: null,
    used_fallback: false,
    a_v: aV,
    family_posterior: posterior.map(([k, p]) => `${k}:${p.toFixed(3)}`).join(','),
    z_mean: zMean,
    p_redshifted: pRedshifted,
    mag_ab,
    mag_err,
    draws,
  };
}

/**
 * What a Monte-Carlo draw reads of translateLabelFree's answer, and only that: the
 * posterior-mean magnitudes in the output filters (null: no flux) and A_V, the same bits;
 * null where translateLabelFree fails. It skips the magnitudes' sigmas, the family
 * posterior and the best model, which a draw does not use (10^6 draws for 10^4 sources).
 */
export function translateLabelFreeMags(
  plan: TranslationPlan,
  obs: Observation,
  priors: Partial<Record<FamilyKey, number>>,
): { mag_ab: (number | null)[]; a_v: number } | null {
  const n = obs.flux_fnu.length;
  if (n < 3) return null;
  const layout = modelLayout(plan, priors);
  const chi2Min = scaleModels(layout, obs);
  if (!Number.isFinite(chi2Min)) return null;
  const { nKept } = posteriorWeights(layout, chi2Min, n - 1);
  const { mag_ab } = averageMagnitudes(plan, layout, nKept, null);
  return { mag_ab, a_v: meanAv(layout, nKept) };
}

/**
 * Label-free translations of many observations at once, as the engine's threads make
 * them (engine/tree-pool.ts): the same translateLabelFree on each, without posterior
 * draws; `onChunk` reports progress as parts finish.
 */
export type TranslateMany = (
  plan: TranslationPlan,
  observations: readonly Observation[],
  labelFree: LabelFreeOptions,
  sigma: UncertaintyOptions,
  onChunk?: (done: number, total: number) => void,
) => Promise<Translation[]>;

/**
 * A plan without its families' spectra (10^5 numbers a model, read only by preparePlan):
 * what a thread needs to translate, small enough to send it (structured clone keeps
 * every number's bits).
 */
export function portablePlan(plan: TranslationPlan): TranslationPlan {
  const families: Partial<Record<FamilyKey, PreparedFamily>> = {};
  for (const [key, fam] of Object.entries(plan.families) as [FamilyKey, PreparedFamily][])
    families[key] = { ...fam, set: { ...fam.set, spectra: [] } };
  return { ...plan, families };
}

/**
 * The flattened model list of a plan under a set of priors (the same for every source,
 * built once): per model its family, its index there, its log prior, its output
 * magnitudes at unit scale, A_V and redshift; with the scratch arrays one source's fit
 * fills (a translation is synchronous and keeps none of them, so a source allocates
 * nothing).
 */
interface ModelLayout {
  fams: { key: FamilyKey; fam: PreparedFamily }[];
  /** per model: its family's index in `fams`, its index in the family */
  famOf: Int32Array;
  modelOf: Int32Array;
  /** each family's first index in the flattened list */
  starts: Int32Array;
  total: number;
  /** per model: the log of its prior (the family's prior split evenly over its models, or by its models' own shares) */
  logPrior: Float64Array;
  /** per model and output filter (model-major), the AB magnitude at unit scale (NaN: no flux) */
  outMag: Float64Array;
  /** per model: A_V (0 for the unreddened families), redshift (read only where `hasZ` of its family) */
  aV: Float64Array;
  z: Float64Array;
  /** per family: 1 when it is redshifted */
  hasZ: Uint8Array;
  scratch: {
    /** per model: chi2, least-squares scale, 1 when it has flux in the observed bands, posterior weight */
    chi2: Float64Array;
    scale: Float64Array;
    valid: Uint8Array;
    w: Float64Array;
    /** per model: sum f M / sigma^2 and sum M^2 / sigma^2 */
    sfm: Float64Array;
    smm: Float64Array;
    /** the models above 1e-12 of the posterior (the first `nKept`), in model order, and their magnitude shifts -2.5 log10(scale) */
    kept: Int32Array;
    shift: Float64Array;
    /** per observed band: f, 1 / sigma^2 */
    f: Float64Array;
    invVar: Float64Array;
  };
}
const layouts = new WeakMap<TranslationPlan, Map<string, ModelLayout>>();

function modelLayout(plan: TranslationPlan, priors: Partial<Record<FamilyKey, number>>): ModelLayout {
  let byPriors = layouts.get(plan);
  if (!byPriors) layouts.set(plan, (byPriors = new Map()));
  const key = FAMILY_KEYS.map((k) => priors[k]).join(',');
  let layout = byPriors.get(key);
  if (!layout) byPriors.set(key, (layout = buildLayout(plan, priors)));
  return layout;
}

function buildLayout(plan: TranslationPlan, priors: Partial<Record<FamilyKey, number>>): ModelLayout {
  const fams: ModelLayout['fams'] = [];
  let total = 0;
  for (const k of FAMILY_KEYS) {
    const prior = priors[k];
    if (prior === undefined || !(prior > 0)) continue;
    const fam = familyOf(plan, k);
    fams.push({ key: k, fam });
    total += fam.table.nModels;
  }
  const nOut = plan.outputs.length;
  const famOf = new Int32Array(total);
  const modelOf = new Int32Array(total);
  const starts = new Int32Array(fams.length);
  const logPrior = new Float64Array(total);
  const outMag = new Float64Array(total * nOut);
  const aV = new Float64Array(total);
  const z = new Float64Array(total);
  const hasZ = new Uint8Array(fams.length);
  let c = 0;
  fams.forEach(({ key, fam }, fi) => {
    starts[fi] = c;
    const prior = priors[key]!;
    const even = Math.log(prior / fam.table.nModels);
    const shares = fam.set.prior;
    if (fam.set.z) hasZ[fi] = 1;
    outMag.set(fam.outMag, c * nOut);
    for (let m = 0; m < fam.table.nModels; m++, c++) {
      famOf[c] = fi;
      modelOf[c] = m;
      logPrior[c] = shares ? Math.log(prior * shares[m]!) : even;
      aV[c] = fam.set.a_v?.[m] ?? 0;
      z[c] = fam.set.z ? fam.set.z[m]! : Number.NaN;
    }
  });
  const scratch = {
    chi2: new Float64Array(total),
    scale: new Float64Array(total),
    valid: new Uint8Array(total),
    w: new Float64Array(total),
    sfm: new Float64Array(total),
    smm: new Float64Array(total),
    kept: new Int32Array(total),
    shift: new Float64Array(total),
    f: new Float64Array(plan.nInput),
    invVar: new Float64Array(plan.nInput),
  };
  return { fams, famOf, modelOf, starts, total, logPrior, outMag, aV, z, hasZ, scratch };
}

/**
 * Scaling: each model by its least-squares factor s = sum(f M / sigma^2) / sum(M^2 /
 * sigma^2), every band counting, giving chi2_m = sum(f^2 / sigma^2) - s sum(f M /
 * sigma^2) (at least 0); a model without flux in an observed band (NaN) or with none at
 * all is not valid. Fills the layout's chi2, scale and valid; returns the least chi2
 * (Infinity when no model is valid).
 */
function scaleModels(layout: ModelLayout, obs: Observation): number {
  const n = obs.flux_fnu.length;
  const { fams, starts } = layout;
  const { chi2, scale, valid, sfm, smm, f, invVar } = layout.scratch;
  // sum f^2 / sigma^2 does not depend on the model: the same sum, once
  let sff = 0;
  for (let k = 0; k < n; k++) {
    const e = obs.flux_err_fnu[k]!;
    const fk = obs.flux_fnu[k]!;
    invVar[k] = 1 / (e * e);
    f[k] = fk;
    sff += fk * fk * invVar[k]!;
  }
  // the sums run one band at a time over all of a family's models (band-major fluxes): per
  // model the same additions in the same order as a model-major loop, with contiguous reads
  sfm.fill(0);
  smm.fill(0);
  for (let fi = 0; fi < fams.length; fi++) {
    const { fam } = fams[fi]!;
    const nModels = fam.table.nModels;
    const byBand = fam.inByBand;
    const c0 = starts[fi]!;
    for (let k = 0; k < n; k++) {
      const fk = f[k]!;
      const iv = invVar[k]!;
      const col = obs.band[k]! * nModels;
      for (let m = 0; m < nModels; m++) {
        const mk = byBand[col + m]!;
        sfm[c0 + m]! += fk * mk * iv;
        smm[c0 + m]! += mk * mk * iv;
      }
    }
  }
  let chi2Min = Infinity;
  for (let c = 0; c < layout.total; c++) {
    const a = sfm[c]!;
    const b = smm[c]!;
    if (!(b > 0) || !(a > 0)) {
      valid[c] = 0;
      continue;
    }
    valid[c] = 1;
    const x = Math.max(0, sff - (a * a) / b);
    chi2[c] = x;
    scale[c] = a / b;
    if (x < chi2Min) chi2Min = x;
  }
  return chi2Min;
}

/**
 * Posterior weights: prior_m * exp(-(chi2_m - chi2_min) / (2 T)), T = max(1, chi2_min /
 * dof), normalised into the layout's `w`; the models above 1e-12 of the total (the
 * first `nKept` of `kept`) and the most probable one (`map`). A log weight more than
 * 746 below the largest is not exponentiated: exp gives exactly 0 there (the smallest
 * double is e^-744.4), so skipping it changes no bit.
 */
function posteriorWeights(layout: ModelLayout, chi2Min: number, dof: number): { map: number; nKept: number } {
  const { total, logPrior } = layout;
  const { chi2, valid, w, kept } = layout.scratch;
  const twoT = 2 * Math.max(1, chi2Min / dof);
  let maxLog = -Infinity;
  for (let i = 0; i < total; i++) {
    if (!valid[i]) {
      w[i] = 0;
      continue;
    }
    const lw = logPrior[i]! - (chi2[i]! - chi2Min) / twoT;
    w[i] = lw;
    if (lw > maxLog) maxLog = lw;
  }
  let sum = 0;
  for (let i = 0; i < total; i++) {
    if (!valid[i]) continue;
    const d = w[i]! - maxLog;
    sum += w[i] = d < -746 ? 0 : Math.exp(d);
  }
  // models below 1e-12 of the total cannot move a magnitude; skipping them keeps the average cheap
  let nKept = 0;
  let map = -1;
  for (let i = 0; i < total; i++) {
    const wi = (w[i]! /= sum);
    if (wi > 1e-12) {
      kept[nKept++] = i;
      if (map < 0 || wi > w[map]!) map = i;
    }
  }
  return { map, nKept };
}

/**
 * The kept models' output magnitudes, [r * nOut + o] for kept[r] (NaN: no flux): one
 * logarithm per model (its scale), the rest precomputed.
 */
function keptMagnitudes(plan: TranslationPlan, layout: ModelLayout, nKept: number): Float64Array {
  const nOut = plan.outputs.length;
  const { outMag } = layout;
  const { kept, scale } = layout.scratch;
  const mags = new Float64Array(nKept * nOut);
  for (let r = 0; r < nKept; r++) {
    const i = kept[r]!;
    const shift = -2.5 * Math.log10(scale[i]!);
    for (let o = 0; o < nOut; o++) mags[r * nOut + o] = outMag[i * nOut + o]! + shift;
  }
  return mags;
}

const magAt = (mags: Float64Array, nOut: number, r: number, o: number): number | null => {
  const m = mags[r * nOut + o]!;
  return Number.isNaN(m) ? null : m;
};

/**
 * Averaging: each output magnitude is the posterior-weighted mean over the kept models;
 * its sigma adds the weighted model spread to the method's Eq. 4-5 term of the best fit,
 * in quadrature (`spread` null: the means alone, no sigmas). One logarithm per kept model
 * (its scale), then each output's sums over the kept models in their order: Monte-Carlo
 * draws call this ~10^6 times.
 */
function averageMagnitudes(
  plan: TranslationPlan,
  layout: ModelLayout,
  nKept: number,
  spread: { chi2Red: number; u: UncertaintyOptions } | null,
): { mag_ab: (number | null)[]; mag_err: (number | null)[] } {
  const nOut = plan.outputs.length;
  const { outMag } = layout;
  const { kept, scale, w } = layout.scratch;
  const { shift } = layout.scratch;
  for (let r = 0; r < nKept; r++) shift[r] = -2.5 * Math.log10(scale[kept[r]!]!);
  const sw = new Float64Array(nOut);
  const s1 = new Float64Array(nOut);
  const s2 = new Float64Array(nOut);
  // one output at a time, its three sums in registers over the kept models in their order
  for (let o = 0; o < nOut; o++) {
    let a = 0;
    let b = 0;
    let c = 0;
    for (let r = 0; r < nKept; r++) {
      const i = kept[r]!;
      const mag = outMag[i * nOut + o]! + shift[r]!;
      if (Number.isNaN(mag)) continue;
      const wi = w[i]!;
      a += wi;
      b += wi * mag;
      if (spread) c += wi * mag * mag;
    }
    sw[o] = a;
    s1[o] = b;
    s2[o] = c;
  }
  const mag_ab: (number | null)[] = [];
  const mag_err: (number | null)[] = [];
  plan.outputs.forEach((o, k) => {
    if (sw[k] === 0) {
      mag_ab.push(null);
      if (spread) mag_err.push(null);
      return;
    }
    const mean = s1[k]! / sw[k]!;
    mag_ab.push(mean);
    if (!spread) return;
    const variance = Math.max(0, s2[k]! / sw[k]! - mean * mean);
    mag_err.push(Math.sqrt(variance + predictedSigma(spread.chi2Red, o.pivot_aa, spread.u) ** 2));
  });
  return { mag_ab, mag_err };
}

/**
 * The posterior of each family (most probable first), the posterior mean A_V (0 for the
 * unreddened families), and over the redshifted families' models their posterior-mean
 * redshift and share (null when the prior has none of them).
 */
function familyPosterior(
  layout: ModelLayout,
  nKept: number,
): { posterior: [FamilyKey, number][]; aV: number; zMean: number | null; pRedshifted: number | null } {
  const { fams, famOf, hasZ } = layout;
  const { kept, w } = layout.scratch;
  const byFamily = new Float64Array(fams.length);
  const seen = new Uint8Array(fams.length);
  let wz = 0;
  let sz = 0;
  for (let r = 0; r < nKept; r++) {
    const i = kept[r]!;
    const fi = famOf[i]!;
    const wi = w[i]!;
    seen[fi] = 1;
    byFamily[fi]! += wi;
    if (hasZ[fi]) {
      wz += wi;
      sz += wi * layout.z[i]!;
    }
  }
  // families in their order of first appearance among the kept models (kept is in family order), the most probable first
  const posterior = fams.flatMap(({ key }, fi): [FamilyKey, number][] => (seen[fi] ? [[key, byFamily[fi]!]] : []));
  const redshifted = hasZ.some((h) => h === 1);
  return {
    posterior: posterior.sort((a, b) => b[1] - a[1]),
    aV: meanAv(layout, nKept),
    zMean: redshifted && wz > 0 ? sz / wz : null,
    pRedshifted: redshifted ? wz : null,
  };
}

/** The posterior-mean A_V over the kept models, in their order (0 for the unreddened families). */
function meanAv(layout: ModelLayout, nKept: number): number {
  const { kept, w } = layout.scratch;
  let aV = 0;
  for (let r = 0; r < nKept; r++) {
    const i = kept[r]!;
    aV += w[i]! * layout.aV[i]!;
  }
  return aV;
}

/** Draws: `count` models drawn from the posterior (inverse CDF over the kept models), each with its magnitudes, for training with realistic colour spread. */
function drawModels(
  plan: TranslationPlan,
  layout: ModelLayout,
  nKept: number,
  count: number,
  rng: Rng,
): TranslationDraw[] {
  const nOut = plan.outputs.length;
  const mags = keptMagnitudes(plan, layout, nKept);
  const { kept, w } = layout.scratch;
  const cdf: number[] = [];
  let acc = 0;
  for (let r = 0; r < nKept; r++) cdf.push((acc += w[kept[r]!]!));
  const draws: TranslationDraw[] = [];
  for (let d = 0; d < count; d++) {
    // 2^-32 resolution is plenty for weights kept above 1e-12 of the total
    const r = (rng.nextUint32() / 0x100000000) * acc;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    const i = kept[lo]!;
    const { key, fam } = layout.fams[layout.famOf[i]!]!;
    const m = layout.modelOf[i]!;
    draws.push({
      family: key,
      model: fam.set.names[m]!,
      a_v: fam.set.a_v?.[m] ?? 0,
      mag_ab: plan.outputs.map((_, k) => magAt(mags, nOut, lo, k)),
    });
  }
  return draws;
}
