import type { MagSystemName } from '../../schemas/catalog.js';
import { AB_ZERO_FNU_CGS, JY_CGS, fnuFromFlambda } from './units.js';
import { bandFlux, bandWeights, pivotWavelength, type BandConvention, type Filter } from './filters.js';
import type { WavelengthGrid } from './grid.js';

/*
 * Magnitude systems, in one module (as synphot's units.py): what each system is, the
 * systems of the surveys XClass reads, the names a mapping may give, and the f_nu of
 * magnitude 0 in a band under each.
 */

/**
 * A survey's magnitude system. Gaia DR3 catalogue magnitudes are Vega magnitudes whose
 * zero points follow from the Vega spectrum through each passband (`vega_spectrum`);
 * 2MASS has published Vega zero points in Jy (`vega_zp`, Cohen et al. 2003);
 * Pan-STARRS is AB. `vega_mag` is Vega's own magnitude in the system: Gaia's VEGAMAG
 * sets it to 0.023 in every band (Riello et al. 2021, section 5.4), so the zero-point
 * flux is Vega's band flux times 10^(0.4 * 0.023).
 */
export type MagSystem =
  | { kind: 'ab' }
  | { kind: 'st' }
  | { kind: 'vega_zp'; zero_point_jy: number }
  | { kind: 'vega_spectrum'; vega_mag: number };

/** f_lambda of ST magnitude 0: m_ST = -2.5 log10(f_lambda) - 21.10 (erg/s/cm^2/A). */
const ST_ZERO_FLAM_CGS = 10 ** (-0.4 * 21.1);

/**
 * f_nu of magnitude 0 in a band, given Vega's band-averaged f_nu there (needed for
 * `vega_spectrum`) and the band's pivot wavelength (needed for `st`: f_nu = f_lambda
 * lambda_p^2 / c, the relation the pivot wavelength is defined to make exact).
 */
export function zeroPointFnu(
  system: MagSystem,
  vega_band_fnu_cgs: number | null,
  pivot_aa: number | null = null,
): number {
  switch (system.kind) {
    case 'ab':
      return AB_ZERO_FNU_CGS;
    case 'st':
      if (pivot_aa === null || !(pivot_aa > 0)) throw new Error('an ST magnitude needs the band pivot wavelength');
      return fnuFromFlambda(pivot_aa, ST_ZERO_FLAM_CGS);
    case 'vega_zp':
      return system.zero_point_jy * JY_CGS;
    case 'vega_spectrum':
      if (vega_band_fnu_cgs === null || !(vega_band_fnu_cgs > 0))
        throw new Error("a vega_spectrum system needs Vega's flux through the band");
      return vega_band_fnu_cgs * 10 ** (0.4 * system.vega_mag);
  }
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
  return bands.map((b) =>
    zeroPointFnu(b.system, bandFlux(bandWeights(b.filter, grid, convention), vegaFnu), pivotWavelength(b.filter)),
  );
}

/** What to add to a magnitude with this zero point to make it AB: -2.5 log10(zp / 3631 Jy). */
export function abOffset(zero_point_fnu_cgs: number): number {
  return -2.5 * Math.log10(zero_point_fnu_cgs / AB_ZERO_FNU_CGS);
}

/** Gaia DR3's VEGAMAG: Vega's magnitude is 0.023 in every band (Riello et al. 2021, section 5.4). */
export const GAIA_VEGAMAG: MagSystem = { kind: 'vega_spectrum', vega_mag: 0.023 };

/** 2MASS's Vega zero points, Jy (Cohen et al. 2003). */
export const TWO_MASS_ZERO_POINTS_JY = { J: 1594, H: 1024, Ks: 666.7 } as const;

/** A system as a mapping names it (`AB`, `Vega`: Vega's spectrum at magnitude 0, `ST`) or as the SED settings write it. */
export function magSystemOf(s: MagSystemName): MagSystem {
  if (s === 'AB') return { kind: 'ab' };
  if (s === 'ST') return { kind: 'st' };
  if (s === 'Vega') return { kind: 'vega_spectrum', vega_mag: 0 };
  return s;
}

/** Whether two systems are the same (Monte-Carlo draws ask this per band and draw: compared field by field). */
export function sameSystem(a: MagSystem, b: MagSystem): boolean {
  switch (a.kind) {
    case 'ab':
    case 'st':
      return b.kind === a.kind;
    case 'vega_zp':
      return b.kind === 'vega_zp' && b.zero_point_jy === a.zero_point_jy;
    case 'vega_spectrum':
      return b.kind === 'vega_spectrum' && b.vega_mag === a.vega_mag;
  }
}
