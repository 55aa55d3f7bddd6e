import { AB_ZERO_FNU_CGS } from './sed/units.js';
import type { SourceRow } from '../schemas/tables.js';
import { median } from './stats.js';
import type { FeatureSpec } from '../schemas/features.js';

/**
 * The feature vector of one source (paper section 4.1, Table 3). The same function
 * serves training sources (SED-translated HST magnitudes) and targets (observed HST
 * magnitudes): only where the magnitudes come from differs.
 */
export interface FeatureInput {
  /** X-ray fluxes, erg/s/cm^2 (soft 0.5-1.2, medium 1.2-2, hard 2-7, broad 0.5-7 keV) */
  flux_s: number | null;
  flux_m: number | null;
  flux_h: number | null;
  flux_b: number | null;
  /** AB magnitude per HST filter name */
  hst_mag: Record<string, number | null>;
  gaia_g: number | null;
  gaia_bp: number | null;
  gaia_rp: number | null;
  pm_total_masyr: number | null;
  parallax_mas: number | null;
  /** the parallax's 1-sigma error, mas, and a geometric distance (Bailer-Jones et al. 2021), pc, where the catalog gives them */
  parallax_err_mas: number | null;
  dist_geo_pc: number | null;
  sigma_eff_arcsec: number | null;
  nu: number | null;
  significance: number | null;
  /** CSC variability probabilities within one observation and between observations (X-ray-only features) */
  var_p_intra: number | null;
  var_p_inter: number | null;
  /** visual extinction of the SED fit (training) or from elsewhere (targets) */
  a_v: number | null;
}

/** The features that need no counterpart: X-ray fluxes, hardness ratios, position error, significance. */
const XRAY_FEATURES = [
  'log_flux_s',
  'log_flux_m',
  'log_flux_h',
  'log_flux_b',
  'hr_sm',
  'hr_mh',
  'hr_sh',
  'hr_bm',
] as const;

export type { FeatureSpec };

/** Short filter name for feature names: HST_ACS_WFC.F475W -> F475W. */
export function shortFilterName(name: string): string {
  return name.split('.').pop() ?? name;
}

/**
 * HST colour pairs from a filter list in wavelength order: every consecutive pair, the
 * pairs three filters apart, and the full span when not already included. For the six
 * PHAT filters: 5 + 3 + 1 = the method's 9 colours (F275W-F336W ... F110W-F160W;
 * F275W-F814W, F336W-F110W, F475W-F160W; F275W-F160W).
 */
export function colourPairs(spec: FeatureSpec): [string, string][] {
  const f = [...spec.filters].sort((a, b) => a.pivot_aa - b.pivot_aa).map((x) => x.name);
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < f.length; i++) pairs.push([f[i]!, f[i + 1]!]);
  for (let i = 0; i + 3 < f.length; i++) pairs.push([f[i]!, f[i + 3]!]);
  if (f.length > 3 && !pairs.some(([a, b]) => a === f[0] && b === f[f.length - 1]))
    pairs.push([f[0]!, f[f.length - 1]!]);
  return pairs;
}

/**
 * Feature names in matrix column order. An X-ray-only spec (`xray_only`) has the X-ray
 * features of Table 3 (fluxes, hardness ratios, sigma_eff, significance) and the CSC
 * variability probabilities: what every source has, with or without a counterpart.
 */
export function featureNames(spec: FeatureSpec): string[] {
  if (spec.xray_only) return [...XRAY_FEATURES, 'sigma_eff', 'significance', 'var_p_intra', 'var_p_inter'];
  return [
    ...XRAY_FEATURES,
    ...colourPairs(spec).map(([a, b]) => `${shortFilterName(a)}-${shortFilterName(b)}`),
    ...spec.xray_optical_filters.map((f) => `log_fx_fopt_${shortFilterName(f)}`),
    'sigma_eff',
    'nu',
    'significance',
    ...(spec.include_gaia ? ['gaia_bp_rp', 'gaia_g_rp', 'pm_total', 'is_galactic_parallax'] : []),
    ...(spec.include_av ? ['sed_a_v'] : []),
    ...(spec.distance_snr_min !== undefined ? DISTANCE_FEATURES : []),
  ];
}

/** Features defined only where the parallax is significant (FeatureSpec.distance_snr_min). */
export const DISTANCE_FEATURES = ['log_lx_plx', 'abs_g_plx'];

/** 1 pc in cm (IAU 2015 B2: 648000/pi au, au = 1.495978707e13 cm). */
export const PARSEC_CM = (648000 / Math.PI) * 1.495978707e13;

/**
 * A source's distance where its parallax is significant: the catalog's geometric
 * distance (Bailer-Jones et al. 2021, `rgeo`) where given, else 1000/parallax pc; null
 * when the parallax is missing, not positive, or its S/N (parallax / error) is at most
 * `min_snr`: below that, 1/parallax is biased and the geometric distance is mostly its
 * prior.
 */
export function significantDistancePc(
  parallax_mas: number | null,
  parallax_err_mas: number | null,
  dist_geo_pc: number | null,
  min_snr: number,
): number | null {
  if (parallax_mas === null || parallax_err_mas === null || !(parallax_mas > 0) || !(parallax_err_mas > 0)) return null;
  if (!(parallax_mas / parallax_err_mas > min_snr)) return null;
  return dist_geo_pc !== null && dist_geo_pc > 0 ? dist_geo_pc : 1000 / parallax_mas;
}

/** log10 of the broad-band X-ray luminosity L_X = 4 pi d^2 F_X (erg/s), d in pc, F_X in erg/s/cm^2. */
export function logXrayLuminosity(flux_cgs: number | null, distance_pc: number | null): number | null {
  if (flux_cgs === null || !(flux_cgs > 0) || distance_pc === null || !(distance_pc > 0)) return null;
  return Math.log10(4 * Math.PI * flux_cgs) + 2 * Math.log10(distance_pc * PARSEC_CM);
}

/** Absolute magnitude M = m - 5 log10(d / 10 pc) (no extinction correction). */
export function absoluteMagnitude(mag: number | null, distance_pc: number | null): number | null {
  if (mag === null || distance_pc === null || !(distance_pc > 0)) return null;
  return mag - 5 * Math.log10(distance_pc / 10);
}

/**
 * What a missing value becomes before the forest sees it, per column: the training
 * median (paper section 4.2), except for the distance features, which are missing for
 * every source without a significant parallax (every AGN, every in-galaxy target): there
 * the median of the sources that have them (nearby stars) would make each such source
 * look like a nearby star. They get MISSING_BELOW_RANGE instead, below every real value,
 * so a split on the feature sets them apart as a missing-value branch would.
 */
export const MISSING_BELOW_RANGE = -100;
export function imputationValues(names: readonly string[], rows: readonly (number | null)[][]): (number | null)[] {
  const medians = columnMedians(rows, names.length);
  return names.map((n, k) => (DISTANCE_FEATURES.includes(n) ? MISSING_BELOW_RANGE : medians[k]!));
}

/** log10 of a positive flux; a non-positive or missing one is missing (never the log of a negative). */
function logPositive(v: number | null): number | null {
  return v !== null && v > 0 ? Math.log10(v) : null;
}

/** Hardness ratio (a - b)/(a + b) (paper Eqs. 6-7); missing when either flux is missing or the sum is not positive. */
export function hardnessRatio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || !(a + b > 0)) return null;
  return (a - b) / (a + b);
}

function diff(a: number | null | undefined, b: number | null | undefined): number | null {
  return a === null || a === undefined || b === null || b === undefined ? null : a - b;
}

/** One source's features, in featureNames(spec) order; null where a value is missing. */
export function computeFeatures(x: FeatureInput, spec: FeatureSpec): (number | null)[] {
  const fxOpt = spec.xray_optical_filters.map((f) => {
    const m = x.hst_mag[f];
    if (m === null || m === undefined || x.flux_b === null || !(x.flux_b > 0)) return null;
    // f_nu from the AB magnitude; the ratio F_X / f_nu carries units of Hz
    return Math.log10(x.flux_b / (AB_ZERO_FNU_CGS * 10 ** (-0.4 * m)));
  });
  const xray = [
    logPositive(x.flux_s),
    logPositive(x.flux_m),
    logPositive(x.flux_h),
    logPositive(x.flux_b),
    hardnessRatio(x.flux_s, x.flux_m),
    hardnessRatio(x.flux_m, x.flux_h),
    hardnessRatio(x.flux_s, x.flux_h),
    hardnessRatio(x.flux_b, x.flux_m),
  ];
  if (spec.xray_only) return [...xray, x.sigma_eff_arcsec, x.significance, x.var_p_intra, x.var_p_inter];
  return [
    ...xray,
    ...colourPairs(spec).map(([a, b]) => diff(x.hst_mag[a], x.hst_mag[b])),
    ...fxOpt,
    x.sigma_eff_arcsec,
    x.nu,
    x.significance,
    ...(spec.include_gaia
      ? [
          diff(x.gaia_bp, x.gaia_rp),
          diff(x.gaia_g, x.gaia_rp),
          x.pm_total_masyr,
          x.parallax_mas === null ? null : x.parallax_mas > spec.galactic_parallax_mas ? 1 : 0,
        ]
      : []),
    ...(spec.include_av ? [x.a_v] : []),
    ...(spec.distance_snr_min !== undefined ? distanceFeatures(x, spec.distance_snr_min) : []),
  ];
}

/** log_lx_plx and abs_g_plx (Gaia G) of a source, both null without a significant parallax. */
function distanceFeatures(x: FeatureInput, min_snr: number): (number | null)[] {
  const d = significantDistancePc(x.parallax_mas, x.parallax_err_mas, x.dist_geo_pc, min_snr);
  return [logXrayLuminosity(x.flux_b, d), absoluteMagnitude(x.gaia_g, d)];
}

/** Column medians over the given rows, ignoring missing values; null for a column with none. */
export function columnMedians(rows: readonly (number | null)[][], nFeatures: number): (number | null)[] {
  const out: (number | null)[] = [];
  for (let f = 0; f < nFeatures; f++) {
    const v = rows.map((r) => r[f]).filter((x): x is number => x !== null && x !== undefined);
    out.push(v.length === 0 ? null : median(v));
  }
  return out;
}

/**
 * Imputation (paper section 4.2): a missing value becomes the training median of its
 * column; a column with no training value at all becomes 0. Returns a column-major
 * matrix and the count of values imputed per column.
 */
export function imputeMatrix(
  rows: readonly (number | null)[][],
  medians: readonly (number | null)[],
): { x: Float64Array; nSamples: number; nFeatures: number; imputed: number[] } {
  const n = rows.length;
  const nF = medians.length;
  const x = new Float64Array(n * nF);
  const imputed = new Array<number>(nF).fill(0);
  rows.forEach((r, i) => {
    if (r.length !== nF) throw new Error(`features: row ${i} has ${r.length} values, the model expects ${nF}`);
    for (let f = 0; f < nF; f++) {
      const v = r[f];
      if (v === null || v === undefined || Number.isNaN(v)) {
        x[f * n + i] = medians[f] ?? 0;
        imputed[f]!++;
      } else x[f * n + i] = v;
    }
  });
  return { x, nSamples: n, nFeatures: nF, imputed };
}

/**
 * The feature inputs of a training source: its X-ray fluxes, Gaia magnitudes and
 * astrometry from `sources`, HST magnitudes and A_V from its translation. The features
 * stage and predict's Monte-Carlo draws build them here alike.
 */
export function sourceFeatureInput(s: SourceRow, hst: Record<string, number | null>, a_v: number | null): FeatureInput {
  return {
    flux_s: s.flux_s_cgs,
    flux_m: s.flux_m_cgs,
    flux_h: s.flux_h_cgs,
    flux_b: s.flux_b_cgs,
    hst_mag: hst,
    gaia_g: s.gaia_g_mag,
    gaia_bp: s.gaia_bp_mag,
    gaia_rp: s.gaia_rp_mag,
    pm_total_masyr: s.pm_total_masyr,
    parallax_mas: s.parallax_mas,
    parallax_err_mas: s.parallax_err_mas,
    dist_geo_pc: s.dist_geo_pc,
    // the MUWCLASS table gives the 95% position-error radius, the quantity the method's
    // sqrt((r0^2 + r1^2)/2) of the 95% error ellipse reduces to for a circle
    sigma_eff_arcsec: s.pos_err_95_arcsec,
    // the MUWCLASS table is already matched and carries no separation
    nu: null,
    significance: s.significance,
    var_p_intra: s.var_p_intra,
    var_p_inter: s.var_p_inter,
    a_v,
  };
}
