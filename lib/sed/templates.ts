import { extinctionCurve, transmission } from './extinction.js';
import { interpolate, type WavelengthGrid } from './grid.js';
import { C_AA_PER_S, H_ERG_S, K_ERG_PER_K, fnuFromFlambda } from './units.js';

/**
 * SED model families (paper section 3.1). Every spectrum is f_nu on the common grid,
 * in arbitrary units: a fit scales it to the data.
 */
export type Family = 'pickles' | 'composite' | 'powerlaw' | 'blackbody' | 'two_component' | 'composite_z' | 'salvato';

export interface ModelSet {
  family: Family;
  /** human-readable grid point, e.g. `T=6000K`, `K5V+disk f=0.3` */
  names: string[];
  /** the grid parameter (T in K, alpha, f_disk), null for a template */
  values: (number | null)[];
  spectra: Float64Array[];
  /** per model, the visual extinction applied (absent: an unreddened family) */
  a_v?: number[];
  /** models per base spectrum when reddened: model index = base * nAv + A_V step */
  nAv?: number;
  /** per model, its redshift (the redshifted AGN families) */
  z?: number[];
  /** per model, its share of the family's prior (summing to 1); absent: an even split over the models */
  prior?: number[];
  /**
   * per model, the observed-frame range [lo, hi] (A) the template is defined on: a band
   * reaching outside it has no model flux (lib/sed/translate.ts `preparePlan`), it is not extrapolated
   */
  coverage_aa?: [number, number][];
}

/**
 * A family reddened by each A_V in `a_vs` (CCM89 with R_V), base-major: the models of
 * base spectrum b are b * nAv ... b * nAv + nAv - 1, so a candidate list of base
 * spectra (nearest spectral type) expands to their reddened copies.
 */
export function reddenedSet(grid: WavelengthGrid, set: ModelSet, a_vs: readonly number[], r_v: number): ModelSet {
  if (set.a_v) throw new Error(`family ${set.family} is already reddened`);
  // the law once per grid, the transmission once per A_V: shared by every base spectrum
  const curve = extinctionCurve(grid.wavelength_aa, r_v);
  const through = a_vs.map((a) => transmission(curve, a));
  const names: string[] = [];
  const values: (number | null)[] = [];
  const spectra: Float64Array[] = [];
  const a_v: number[] = [];
  set.spectra.forEach((spec, b) => {
    a_vs.forEach((a, j) => {
      names.push(a === 0 ? set.names[b]! : `${set.names[b]!} A_V=${a}`);
      values.push(set.values[b] ?? null);
      spectra.push(a === 0 ? spec : spec.map((f, i) => f * through[j]![i]!));
      a_v.push(a);
    });
  });
  return { family: set.family, names, values, spectra, a_v, nAv: a_vs.length };
}

/** Normalisation window for mixing: the mean f_nu over 5450-5550 A (V-band centre). */
const NORM_LO_AA = 5450;
const NORM_HI_AA = 5550;

export function meanFnu(grid: WavelengthGrid, fnu: Float64Array, lo_aa = NORM_LO_AA, hi_aa = NORM_HI_AA): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < fnu.length; i++) {
    const l = grid.wavelength_aa[i]!;
    if (l >= lo_aa && l <= hi_aa) {
      s += fnu[i]!;
      n++;
    }
  }
  return s / n;
}

function normalised(grid: WavelengthGrid, fnu: Float64Array): Float64Array {
  const m = meanFnu(grid, fnu);
  if (!(m > 0)) throw new Error('spectrum has no flux at 5450-5550 A to normalise by');
  return fnu.map((v) => v / m);
}

/** Planck B_nu(T) up to a constant: nu^3 / (exp(h nu / k T) - 1), with nu = c / lambda. */
export function blackbodyFnu(grid: WavelengthGrid, temperature_k: number): Float64Array {
  const out = new Float64Array(grid.wavelength_aa.length);
  for (let i = 0; i < out.length; i++) {
    const nu = C_AA_PER_S / grid.wavelength_aa[i]!;
    const x = (H_ERG_S * nu) / (K_ERG_PER_K * temperature_k);
    out[i] = x > 700 ? 0 : (nu * nu * nu) / Math.expm1(x);
  }
  return normalised(grid, out);
}

/** f_nu proportional to (5500 A / lambda)^alpha (paper section 3.1). */
function powerLawFnu(grid: WavelengthGrid, alpha: number): Float64Array {
  return grid.wavelength_aa.map((l) => (5500 / l) ** alpha);
}

/** A tabulated f_lambda spectrum (any units) -> normalised f_nu on the grid; zero outside its range. */
export function flambdaToGridFnu(
  grid: WavelengthGrid,
  wavelength_aa: ArrayLike<number>,
  flux_flam: ArrayLike<number>,
): Float64Array {
  const onGrid = interpolate(wavelength_aa, flux_flam, grid.wavelength_aa);
  const fnu = onGrid.map((f, i) => fnuFromFlambda(grid.wavelength_aa[i]!, f));
  return normalised(grid, fnu);
}

/**
 * The Vanden Berk et al. (2001) composite, extended to the grid.
 *
 * Redward of its last bin (8554.5 A) the composite continues as the power law
 * f_nu ~ lambda^beta fitted (least squares in log f_nu - log lambda) to 7000-8500 A,
 * the reddest stretch clear of H-alpha; Vanden Berk et al. measure the same steep red
 * slope (alpha_nu = -2.45) there, which the host galaxy and hot dust keep rising into
 * the near-IR. Blueward of 800.5 A it is zero: the Lyman continuum is absorbed, and no
 * filter in the bundle transmits there. Returns the spectrum and the fitted beta.
 */
export function compositeFnu(
  grid: WavelengthGrid,
  wavelength_aa: ArrayLike<number>,
  flux_flam: ArrayLike<number>,
): { fnu: Float64Array; beta: number } {
  const n = wavelength_aa.length;
  let sx = 0,
    sy = 0,
    sxx = 0,
    sxy = 0,
    m = 0;
  for (let i = 0; i < n; i++) {
    const l = wavelength_aa[i]!;
    const f = flux_flam[i]!;
    if (l < 7000 || l > 8500 || !(f > 0)) continue;
    const x = Math.log(l);
    const y = Math.log(fnuFromFlambda(l, f));
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
    m++;
  }
  const beta = (m * sxy - sx * sy) / (m * sxx - sx * sx);
  const intercept = (sy - beta * sx) / m;
  const lastL = wavelength_aa[n - 1]!;
  // anchor the extension on the fitted continuum at the last bin, so there is no step
  const fnu = new Float64Array(grid.wavelength_aa.length);
  const inside = interpolate(wavelength_aa, flux_flam, grid.wavelength_aa);
  for (let i = 0; i < fnu.length; i++) {
    const l = grid.wavelength_aa[i]!;
    if (l <= lastL) fnu[i] = Math.max(0, fnuFromFlambda(l, inside[i]!));
    else fnu[i] = Math.exp(intercept + beta * Math.log(l));
  }
  return { fnu: normalised(grid, fnu), beta };
}

/**
 * Two-component model (paper Eq. 1): (1 - f) star + f disk, with the disk flat in
 * f_nu. Both parts are first normalised to the same mean f_nu over 5450-5550 A, so
 * f_disk is the disk's share of the flux density at 5500 A.
 */
export function twoComponentFnu(grid: WavelengthGrid, star_fnu: Float64Array, f_disk: number): Float64Array {
  const star = normalised(grid, star_fnu);
  return star.map((s) => (1 - f_disk) * s + f_disk);
}

/** A rest-frame template as tabulated: f_lambda (any units) on increasing wavelengths. */
export interface RestTemplate {
  name: string;
  wavelength_aa: ArrayLike<number>;
  flux_flam: ArrayLike<number>;
}

/**
 * Rest-frame templates observed at each redshift of a grid: f_nu,obs(l) is proportional
 * to f_nu,rest(l / (1 + z)) (the (1 + z) factors are constants the fit's scale absorbs),
 * sampled on the grid and normalised at 5450-5550 A observed. Each model is defined on
 * its template's tabulated range times (1 + z) (`coverage_aa`), zero outside it; nothing
 * is extrapolated. `prior(z)` weights the redshifts (any non-negative function; shares
 * are normalised over the grid and split evenly over the templates; a redshift of
 * weight 0 gets no model). Model index = template * nz + redshift step.
 */
export function redshiftedSet(
  grid: WavelengthGrid,
  family: 'composite_z' | 'salvato',
  templates: readonly RestTemplate[],
  zs: readonly number[],
  prior: (z: number) => number,
): ModelSet {
  const weights = zs.map((z) => Math.max(0, prior(z)));
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new Error(`redshift prior is zero on the whole grid ${zs[0]}..${zs[zs.length - 1]}`);
  const kept = zs.flatMap((_, j) => (weights[j]! > 0 ? [j] : []));
  const out: Required<Pick<ModelSet, 'z' | 'prior' | 'coverage_aa'>> & ModelSet = {
    family,
    names: [],
    values: [],
    spectra: [],
    z: [],
    prior: [],
    coverage_aa: [],
  };
  for (const t of templates) {
    const n = t.wavelength_aa.length;
    const restFnu = Float64Array.from({ length: n }, (_, i) =>
      Math.max(0, fnuFromFlambda(t.wavelength_aa[i]!, t.flux_flam[i]!)),
    );
    for (const j of kept) {
      const z = zs[j]!;
      const at = grid.wavelength_aa.map((l) => l / (1 + z));
      const fnu = interpolate(t.wavelength_aa, restFnu, at);
      out.names.push(`${t.name} z=${z}`);
      out.values.push(z);
      out.spectra.push(normalised(grid, fnu));
      out.z.push(z);
      out.prior.push(weights[j]! / total / templates.length);
      out.coverage_aa.push([t.wavelength_aa[0]! * (1 + z), t.wavelength_aa[n - 1]! * (1 + z)]);
    }
  }
  return out;
}

/** Evenly stepped values lo..hi inclusive, exact to the step's decimals (no 0.15000000000000002). */
export function steps(lo: number, hi: number, step: number): number[] {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 2);
  const n = Math.round((hi - lo) / step);
  return Array.from({ length: n + 1 }, (_, i) => Number((lo + i * step).toFixed(decimals)));
}

/** The paper's blackbody grid: 2,000-9,750 K by 250 K and 10,000-50,000 K by 1,000 K (73 points). */
export const BLACKBODY_TEMPERATURES_K = [...steps(2000, 9750, 250), ...steps(10000, 50000, 1000)];
/** The paper's power-law grid: alpha -2.5..+1.5 by 0.05 (81 points). */
export const POWER_LAW_ALPHAS = steps(-2.5, 1.5, 0.05);
/** Disk fractions of the two-component model. */
export const DISK_FRACTIONS = steps(0, 0.5, 0.1);

export function blackbodySet(grid: WavelengthGrid, temps = BLACKBODY_TEMPERATURES_K): ModelSet {
  return {
    family: 'blackbody',
    names: temps.map((t) => `T=${t}K`),
    values: temps,
    spectra: temps.map((t) => blackbodyFnu(grid, t)),
  };
}

export function powerLawSet(grid: WavelengthGrid, alphas = POWER_LAW_ALPHAS): ModelSet {
  return {
    family: 'powerlaw',
    names: alphas.map((a) => `alpha=${a}`),
    values: alphas,
    spectra: alphas.map((a) => powerLawFnu(grid, a)),
  };
}

export function twoComponentSet(
  grid: WavelengthGrid,
  starName: string,
  star_fnu: Float64Array,
  fractions = DISK_FRACTIONS,
): ModelSet {
  return {
    family: 'two_component',
    names: fractions.map((f) => `${starName}+disk f=${f}`),
    values: fractions,
    spectra: fractions.map((f) => twoComponentFnu(grid, star_fnu, f)),
  };
}

/** MK spectral type -> a number on one axis (O0 = 0 ... M9 = 69), for nearest-type lookup. */
function spectralTypeIndex(type: string): number | null {
  const m = /^\s*([OBAFGKM])\s*(\d+(?:\.\d+)?)?/i.exec(type);
  if (!m) return null;
  const cls = 'OBAFGKM'.indexOf(m[1]!.toUpperCase());
  return cls * 10 + (m[2] !== undefined ? Number(m[2]) : 5);
}

/** Indices of the library types nearest to `type` (all of them when the type is unknown or unparseable). */
export function nearestTypes(libraryTypes: readonly string[], type: string | null): number[] {
  const all = libraryTypes.map((_, i) => i);
  if (type === null) return all;
  const target = spectralTypeIndex(type);
  if (target === null) return all;
  let best = Infinity;
  const idx = libraryTypes.map((t) => spectralTypeIndex(t));
  for (const v of idx) if (v !== null) best = Math.min(best, Math.abs(v - target));
  return all.filter((i) => idx[i] !== null && Math.abs(idx[i]! - target) === best);
}
