/**
 * The common wavelength grid every SED model is evaluated on (paper section 3.1):
 * 100-25,000 Angstrom in 5 Angstrom steps, 4,981 points.
 */
export interface WavelengthGrid {
  start_aa: number;
  step_aa: number;
  wavelength_aa: Float64Array;
}

function makeGrid(start_aa = 100, end_aa = 25000, step_aa = 5): WavelengthGrid {
  const n = Math.round((end_aa - start_aa) / step_aa) + 1;
  const wavelength_aa = new Float64Array(n);
  for (let i = 0; i < n; i++) wavelength_aa[i] = start_aa + i * step_aa;
  return { start_aa, step_aa, wavelength_aa };
}

export const DEFAULT_GRID = makeGrid();

/**
 * Linear interpolation of a tabulated function (x increasing) at `at`; zero outside
 * the tabulated range (a spectrum or a filter carries no flux where it is not defined).
 */
export function interpolate(x: ArrayLike<number>, y: ArrayLike<number>, at: ArrayLike<number>): Float64Array {
  const out = new Float64Array(at.length);
  const n = x.length;
  if (n === 0) return out;
  let j = 0;
  for (let i = 0; i < at.length; i++) {
    const a = at[i]!;
    if (a < x[0]! || a > x[n - 1]!) continue;
    while (j < n - 2 && x[j + 1]! < a) j++;
    while (j > 0 && x[j]! > a) j--;
    const x0 = x[j]!;
    const x1 = x[Math.min(j + 1, n - 1)]!;
    const t = x1 === x0 ? 0 : (a - x0) / (x1 - x0);
    out[i] = y[j]! * (1 - t) + y[Math.min(j + 1, n - 1)]! * t;
  }
  return out;
}
