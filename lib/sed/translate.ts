import { bandFlux, bandWeights, pivotWavelength, type BandConvention, type Filter } from './filters.js';
import { fitGrid, type BandFluxTable, type FitResult, type Observation } from './fit.js';
import type { WavelengthGrid } from './grid.js';
import type { ModelSet } from './templates.js';
import { abMagFromFnu } from './units.js';

/**
 * Model families a class is translated with: the method's Table 2 (`paper`) or one
 * mapping for every class (`class_blind`, the ablation). Keys name entries of the
 * family library; null means the class is not translated (SNR).
 */
export type FamilyKey = 'pickles' | 'composite' | 'powerlaw' | 'blackbody' | 'two_component_lmxb' | 'two_component_hmxb';

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
  const prepared: Partial<Record<FamilyKey, PreparedFamily>> = {};
  for (const [key, set] of Object.entries(families) as [FamilyKey, ModelSet][]) {
    const nBands = all.length;
    const flux = new Float64Array(set.spectra.length * nBands);
    set.spectra.forEach((spec, m) => weights.forEach((w, b) => (flux[m * nBands + b] = bandFlux(w, spec))));
    prepared[key] = { set, table: { nModels: set.spectra.length, nBands, flux } };
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
  /** per output filter, AB magnitude and sigma (null when the model has no flux there) */
  mag_ab: (number | null)[];
  mag_err: (number | null)[];
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
  const empty = (status: Translation['status'], reason: string): Translation => ({
    status,
    reason,
    family: null,
    model: null,
    model_value: null,
    chi2_red: null,
    n_bands: obs.flux_fnu.length,
    anchor_band: null,
    used_fallback: false,
    mag_ab: plan.outputs.map(() => null),
    mag_err: plan.outputs.map(() => null),
  });
  if (families === null) return empty('skipped', 'class is not SED-translated');
  const reasons: string[] = [];
  for (let attempt = 0; attempt < families.length; attempt++) {
    const key = families[attempt]!;
    const fam = plan.families[key];
    if (!fam) throw new Error(`translation plan has no family ${key}`);
    const fit: FitResult = fitGrid(obs, fam.table, candidates[key]);
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
      mag_ab,
      mag_err,
    };
  }
  return empty('failed', reasons.join('; '));
}
