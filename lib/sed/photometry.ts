import type { Observation } from './fit.js';
import { AB_ZERO_FNU_CGS, JY_CGS, fnuErrFromMagErr, fnuFromFlambda, fnuFromMag } from './units.js';
import { bandFlux, bandWeights, pivotWavelength, type BandConvention, type Filter } from './filters.js';
import { interpolate, type WavelengthGrid } from './grid.js';

/**
 * A survey's magnitude system. Gaia DR3 catalogue magnitudes are Vega magnitudes whose
 * zero points follow from the Vega spectrum through each passband (`vega_spectrum`);
 * 2MASS has published Vega zero points in Jy (`vega_zp`, Cohen et al. 2003);
 * Pan-STARRS is AB. `vega_mag` is Vega's own magnitude in the system: Gaia's VEGAMAG
 * sets it to 0.023 in every band (Riello et al. 2021, section 5.4), so the zero-point
 * flux is Vega's band flux times 10^(0.4 * 0.023).
 */
export type MagSystem = { kind: 'ab' } | { kind: 'st' } | { kind: 'vega_zp'; zero_point_jy: number } | { kind: 'vega_spectrum'; vega_mag: number };

/** f_lambda of ST magnitude 0: m_ST = -2.5 log10(f_lambda) - 21.10 (erg/s/cm^2/A). */
export const ST_ZERO_FLAM_CGS = 10 ** (-0.4 * 21.1);

/**
 * f_nu of magnitude 0 in a band, given Vega's band-averaged f_nu there (needed for
 * `vega_spectrum`) and the band's pivot wavelength (needed for `st`: f_nu = f_lambda
 * lambda_p^2 / c, the relation the pivot wavelength is defined to make exact).
 */
export function zeroPointFnu(system: MagSystem, vega_band_fnu_cgs: number | null, pivot_aa: number | null = null): number {
  switch (system.kind) {
    case 'ab':
      return AB_ZERO_FNU_CGS;
    case 'st':
      if (pivot_aa === null || !(pivot_aa > 0)) throw new Error('an ST magnitude needs the band pivot wavelength');
      return fnuFromFlambda(pivot_aa, ST_ZERO_FLAM_CGS);
    case 'vega_zp':
      return system.zero_point_jy * JY_CGS;
    case 'vega_spectrum':
      if (vega_band_fnu_cgs === null || !(vega_band_fnu_cgs > 0)) throw new Error("a vega_spectrum system needs Vega's flux through the band");
      return vega_band_fnu_cgs * 10 ** (0.4 * system.vega_mag);
  }
}

/** A spectrum in f_lambda (erg/s/cm^2/A) resampled onto the grid as f_nu (erg/s/cm^2/Hz). */
export function spectrumFnuOnGrid(grid: WavelengthGrid, wavelength_aa: Float64Array, flux_flam_cgs: Float64Array): Float64Array {
  return interpolate(wavelength_aa, flux_flam_cgs, grid.wavelength_aa).map((f, i) => fnuFromFlambda(grid.wavelength_aa[i]!, f));
}

/**
 * The f_nu of magnitude 0 in each band under its system: AB 3631 Jy, a published Vega
 * zero point, or Vega's spectrum (`vegaFnu`, on the grid) through the band's curve.
 */
export function bandZeroPoints(
  grid: WavelengthGrid,
  vegaFnu: Float64Array,
  bands: readonly { filter: Filter; system: MagSystem }[],
  convention: BandConvention,
): number[] {
  return bands.map((b) => zeroPointFnu(b.system, bandFlux(bandWeights(b.filter, grid, convention), vegaFnu), pivotWavelength(b.filter)));
}

/** What to add to a magnitude with this zero point to make it AB: -2.5 log10(zp / 3631 Jy). */
export function abOffset(zero_point_fnu_cgs: number): number {
  return -2.5 * Math.log10(zero_point_fnu_cgs / AB_ZERO_FNU_CGS);
}

export interface BandMeasurement {
  /** column of the model flux tables for this band */
  band: number;
  name: string;
  mag: number | null;
  mag_err: number | null;
  zero_point_fnu_cgs: number;
}

export interface PhotometryOptions {
  /** fractional flux error adopted when a band has no magnitude error (paper: 10%) */
  missing_err_frac: number;
  /** systematic floor added in quadrature to every magnitude error (0 = the paper) */
  err_floor_mag: number;
}

export type ObservationResult = { ok: true; obs: Observation; notes: string[] } | { ok: false; reason: string };

/**
 * Magnitudes -> fluxes with errors (paper section 3.2, step 1). A band with no
 * magnitude is left out; a magnitude that is not a finite number, or a flux that is
 * not positive, is recorded as a reason rather than fitted.
 */
export function observationFromMags(bands: readonly BandMeasurement[], opts: PhotometryOptions): ObservationResult {
  const band: number[] = [];
  const flux: number[] = [];
  const err: number[] = [];
  const notes: string[] = [];
  for (const b of bands) {
    if (b.mag === null) continue;
    if (!Number.isFinite(b.mag)) return { ok: false, reason: `band ${b.name}: magnitude ${b.mag} is not a finite number` };
    const f = fnuFromMag(b.mag, b.zero_point_fnu_cgs);
    if (!(f > 0) || !Number.isFinite(f)) return { ok: false, reason: `band ${b.name}: flux ${f} is not positive and finite` };
    let e: number;
    if (b.mag_err !== null && Number.isFinite(b.mag_err) && b.mag_err > 0) {
      e = fnuErrFromMagErr(f, Math.hypot(b.mag_err, opts.err_floor_mag));
    } else {
      e = f * opts.missing_err_frac;
      if (opts.err_floor_mag > 0) e = Math.hypot(e, fnuErrFromMagErr(f, opts.err_floor_mag));
      notes.push(`${b.name}: no magnitude error, ${Math.round(opts.missing_err_frac * 100)}% adopted`);
    }
    band.push(b.band);
    flux.push(f);
    err.push(e);
  }
  return { ok: true, obs: { band: Int32Array.from(band), flux_fnu: Float64Array.from(flux), flux_err_fnu: Float64Array.from(err) }, notes };
}

/** Observation from fluxes directly (f_nu in cgs); non-finite or non-positive values are reasons. */
export function observationFromFluxes(bands: readonly { band: number; name: string; flux_fnu: number; flux_err_fnu: number }[]): ObservationResult {
  for (const b of bands) {
    if (!Number.isFinite(b.flux_fnu)) return { ok: false, reason: `band ${b.name}: flux ${b.flux_fnu} is not a finite number` };
    if (!(b.flux_fnu > 0)) return { ok: false, reason: `band ${b.name}: flux ${b.flux_fnu} is not positive` };
    if (!(b.flux_err_fnu > 0) || !Number.isFinite(b.flux_err_fnu))
      return { ok: false, reason: `band ${b.name}: flux error ${b.flux_err_fnu} is not positive and finite` };
  }
  return {
    ok: true,
    obs: {
      band: Int32Array.from(bands.map((b) => b.band)),
      flux_fnu: Float64Array.from(bands.map((b) => b.flux_fnu)),
      flux_err_fnu: Float64Array.from(bands.map((b) => b.flux_err_fnu)),
    },
    notes: [],
  };
}
