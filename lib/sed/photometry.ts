import type { Observation } from './fit.js';
import { fnuErrFromMagErr, fnuFromFlambda, fnuFromMag } from './units.js';
import { interpolate, type WavelengthGrid } from './grid.js';

/** A spectrum in f_lambda (erg/s/cm^2/A) resampled onto the grid as f_nu (erg/s/cm^2/Hz). */
export function spectrumFnuOnGrid(
  grid: WavelengthGrid,
  wavelength_aa: Float64Array,
  flux_flam_cgs: Float64Array,
): Float64Array {
  return interpolate(wavelength_aa, flux_flam_cgs, grid.wavelength_aa).map((f, i) =>
    fnuFromFlambda(grid.wavelength_aa[i]!, f),
  );
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
    if (!Number.isFinite(b.mag))
      return { ok: false, reason: `band ${b.name}: magnitude ${b.mag} is not a finite number` };
    const f = fnuFromMag(b.mag, b.zero_point_fnu_cgs);
    if (!(f > 0) || !Number.isFinite(f))
      return { ok: false, reason: `band ${b.name}: flux ${f} is not positive and finite` };
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
  return {
    ok: true,
    obs: { band: Int32Array.from(band), flux_fnu: Float64Array.from(flux), flux_err_fnu: Float64Array.from(err) },
    notes,
  };
}

/** Observation from fluxes directly (f_nu in cgs); non-finite or non-positive values are reasons. */
export function observationFromFluxes(
  bands: readonly { band: number; name: string; flux_fnu: number; flux_err_fnu: number }[],
): ObservationResult {
  for (const b of bands) {
    if (!Number.isFinite(b.flux_fnu))
      return { ok: false, reason: `band ${b.name}: flux ${b.flux_fnu} is not a finite number` };
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
