import type { WavelengthGrid } from './grid.js';

/** A photon-counting transmission curve. */
export interface Filter {
  name: string;
  wavelength_aa: Float64Array;
  throughput: Float64Array;
}

/** How a band average is taken (paper section 3.2 versus the standard AB definition). */
export type BandConvention = 'photon' | 'paper_eq3';

/**
 * The wavelengths (A) a filter transmits: from the first to the last tabulated point
 * with throughput above `frac` of its peak (1%: the curves' far wings are noise).
 */
export function transmittedRange(f: Filter, frac = 0.01): [number, number] {
  let peak = 0;
  for (let i = 0; i < f.throughput.length; i++) peak = Math.max(peak, f.throughput[i]!);
  let lo = -1;
  let hi = -1;
  for (let i = 0; i < f.throughput.length; i++) {
    if (f.throughput[i]! > frac * peak) {
      if (lo < 0) lo = i;
      hi = i;
    }
  }
  if (lo < 0) throw new Error(`filter ${f.name} transmits nowhere`);
  return [f.wavelength_aa[lo]!, f.wavelength_aa[hi]!];
}

/**
 * Pivot wavelength of a photon-counting curve (Tokunaga & Vacca 2005, Eq. A11;
 * synphot's `pivot`): lambda_p^2 = integral(T lambda dlambda) / integral(T / lambda dlambda).
 */
export function pivotWavelength(f: Filter): number {
  let num = 0;
  let den = 0;
  for (let j = 0; j + 1 < f.wavelength_aa.length; j++) {
    const l0 = f.wavelength_aa[j]!;
    const l1 = f.wavelength_aa[j + 1]!;
    const t0 = f.throughput[j]!;
    const t1 = f.throughput[j + 1]!;
    const dl = l1 - l0;
    num += 0.5 * dl * (t0 * l0 + t1 * l1);
    den += 0.5 * dl * (t0 / l0 + t1 / l1);
  }
  return Math.sqrt(num / den);
}

/**
 * Weights W on the model grid such that the band-averaged flux density of a spectrum
 * f_nu sampled on the grid is sum_i W_i f_nu(lambda_i).
 *
 * - `photon` (default, the AB definition for photon-counting curves; synphot, SVO):
 *   <f_nu> = integral(f_nu T dlambda/lambda) / integral(T dlambda/lambda)
 * - `paper_eq3` (the method's Eq. 3, kept to reproduce it):
 *   <f_nu> = integral(f_nu T dlambda) / integral(T dlambda)
 *
 * The integral is a trapezoid over the union of the filter's own samples and the grid
 * points inside its range, with T and f_nu each interpolated linearly, so neither a
 * finely sampled HST curve nor a coarse 2MASS curve loses resolution. The weights sum
 * to 1: a flat f_nu spectrum gets back exactly its value.
 */
export function bandWeights(f: Filter, grid: WavelengthGrid, convention: BandConvention = 'photon'): Float64Array {
  const g = grid.wavelength_aa;
  const n = g.length;
  const lo = f.wavelength_aa[0]!;
  const hi = f.wavelength_aa[f.wavelength_aa.length - 1]!;
  const gridHi = g[n - 1]!;
  if (lo < g[0]! || hi > gridHi) {
    // a tail of exact zeros beyond the grid is harmless; real throughput there is not
    for (let j = 0; j < f.wavelength_aa.length; j++) {
      const l = f.wavelength_aa[j]!;
      if ((l < g[0]! || l > gridHi) && f.throughput[j]! > 0) {
        throw new Error(`filter ${f.name} transmits at ${l} A, outside the model grid ${g[0]}-${gridHi} A`);
      }
    }
  }
  // merged abscissae: filter samples and grid nodes, inside the filter's range
  const pts: number[] = [];
  let j = 0;
  let i = Math.max(0, Math.ceil((lo - grid.start_aa) / grid.step_aa));
  while (j < f.wavelength_aa.length || (i < n && g[i]! <= hi)) {
    const lf = j < f.wavelength_aa.length ? f.wavelength_aa[j]! : Infinity;
    const lg = i < n && g[i]! <= hi ? g[i]! : Infinity;
    if (lf <= lg) {
      pts.push(lf);
      j++;
      if (lg === lf) i++;
    } else {
      pts.push(lg);
      i++;
    }
  }
  const weights = new Float64Array(n);
  let norm = 0;
  let k = 0; // index into the filter samples for interpolation of T
  const tAt = (l: number): number => {
    while (k < f.wavelength_aa.length - 2 && f.wavelength_aa[k + 1]! < l) k++;
    const l0 = f.wavelength_aa[k]!;
    const l1 = f.wavelength_aa[k + 1] ?? l0;
    const t = l1 === l0 ? 0 : (l - l0) / (l1 - l0);
    return Math.max(0, f.throughput[k]! * (1 - t) + (f.throughput[k + 1] ?? 0) * t);
  };
  const integrandWeight = (l: number, t: number) => (convention === 'photon' ? t / l : t);
  const spread = (l: number, w: number) => {
    // f_nu(l) = (1-u) f[i0] + u f[i0+1]: distribute the weight to the two grid nodes
    const x = (l - grid.start_aa) / grid.step_aa;
    const i0 = Math.min(n - 2, Math.max(0, Math.floor(x)));
    const u = Math.min(1, Math.max(0, x - i0));
    weights[i0]! += w * (1 - u);
    weights[i0 + 1]! += w * u;
  };
  for (let p = 0; p + 1 < pts.length; p++) {
    const l0 = pts[p]!;
    const l1 = pts[p + 1]!;
    const dl = l1 - l0;
    if (dl <= 0) continue;
    const w0 = 0.5 * dl * integrandWeight(l0, tAt(l0));
    const w1 = 0.5 * dl * integrandWeight(l1, tAt(l1));
    spread(l0, w0);
    spread(l1, w1);
    norm += w0 + w1;
  }
  if (!(norm > 0)) throw new Error(`filter ${f.name} has no transmission`);
  for (let q = 0; q < n; q++) weights[q]! /= norm;
  return weights;
}

/** Band-averaged f_nu of a spectrum on the grid, given the band's weights. */
export function bandFlux(weights: Float64Array, flux_fnu: Float64Array): number {
  let s = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    if (w !== 0) s += w * flux_fnu[i]!;
  }
  return s;
}

/** Levenshtein distance, for "did you mean" suggestions of filter names. */
function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The known names closest to `name` (case-insensitive edit distance; a shared band name ranks first). */
export function closestNames(name: string, known: readonly string[], count = 3): string[] {
  const q = name.toLowerCase();
  const band = q.split('.').pop() ?? q;
  return [...known]
    .map((k) => {
      const kl = k.toLowerCase();
      const sameBand = kl.split('.').pop() === band ? -100 : 0;
      return { k, d: editDistance(q, kl) + sameBand };
    })
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
    .slice(0, count)
    .map((x) => x.k);
}

/** Fewest rows a filter curve may have (the bundle's coarsest, Bessell's, have 21). */
const MIN_FILTER_ROWS = 10;
/** A curve must fall to this fraction of its peak at both ends (every bundled curve ends at <= 2%). */
const EDGE_FRACTION = 0.02;

/**
 * What is wrong with a filter curve read from a file (wavelengths already checked to
 * increase), or undefined: too few rows, no positive throughput, a throughput below
 * -1% of the peak (tiny negatives of a measured curve are clipped to 0), a curve that
 * stops above 2% of its peak (cut short: it does not cover its band) and, for an HST
 * filter, a curve that transmits under 10% of its peak at the wavelength its name gives
 * (F475W: 4750 A; F110W, an IR filter: 11000 A). `row` is the 0-based data row.
 */
export function filterCurveProblem(
  name: string,
  wavelength_aa: Float64Array,
  throughput: Float64Array,
): { row?: number; problem: string } | undefined {
  const n = wavelength_aa.length;
  if (n < MIN_FILTER_ROWS)
    return { problem: `expected at least ${MIN_FILTER_ROWS} rows of a filter curve, found ${n}` };
  let peak = 0;
  for (let i = 0; i < n; i++) peak = Math.max(peak, throughput[i]!);
  if (!(peak > 0)) return { problem: 'the throughput is nowhere positive' };
  for (let i = 0; i < n; i++)
    if (throughput[i]! < -0.01 * peak)
      return { row: i, problem: `throughput ${throughput[i]} is below -1% of the curve's peak ${peak}` };
  for (const i of [0, n - 1])
    if (throughput[i]! > EDGE_FRACTION * peak)
      return {
        row: i,
        problem: `the curve stops at ${((100 * throughput[i]!) / peak).toFixed(0)}% of its peak at ${wavelength_aa[i]} A: it does not cover its band (cut short?)`,
      };
  const hst = /^HST_[A-Z0-9_]+\.F(\d{3,4})[A-Z]+$/.exec(name);
  if (hst) {
    const number = Number(hst[1]);
    // WFC3/IR names give the wavelength in 10 nm (F110W: 1.10 um), UV/optical ones in nm
    const nominal = number < 200 ? number * 100 : number * 10;
    const at = interpolate(wavelength_aa, throughput, nominal);
    if (at < 0.1 * peak)
      return {
        problem: `the curve transmits ${((100 * at) / peak).toFixed(0)}% of its peak at ${nominal} A, the wavelength its name gives (expected >= 10%)`,
      };
  }
  return undefined;
}

/** Linear interpolation of a tabulated curve, 0 outside it. */
function interpolate(x: Float64Array, y: Float64Array, at: number): number {
  if (at < x[0]! || at > x[x.length - 1]!) return 0;
  let j = 1;
  while (x[j]! < at) j++;
  const f = (at - x[j - 1]!) / (x[j]! - x[j - 1]!);
  return y[j - 1]! + f * (y[j]! - y[j - 1]!);
}
