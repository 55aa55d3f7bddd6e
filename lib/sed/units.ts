/** Speed of light in Angstrom per second. */
export const C_AA_PER_S = 2.99792458e18;
/** Planck constant (erg s) and Boltzmann constant (erg/K), CODATA 2018 exact values. */
export const H_ERG_S = 6.62607015e-27;
export const K_ERG_PER_K = 1.380649e-16;
/** 1 Jansky in erg/s/cm^2/Hz. */
export const JY_CGS = 1e-23;
/** The AB reference flux density, 3631 Jy (Oke & Gunn 1983). */
export const AB_ZERO_FNU_CGS = 3631 * JY_CGS;

/** f_nu = f_lambda * lambda^2 / c (f_lambda per Angstrom, lambda in Angstrom). */
export function fnuFromFlambda(wavelength_aa: number, flux_flam_cgs: number): number {
  return (flux_flam_cgs * wavelength_aa * wavelength_aa) / C_AA_PER_S;
}

/** AB magnitude of a band-averaged f_nu: m = -2.5 log10(f_nu / 3631 Jy). */
export function abMagFromFnu(flux_fnu_cgs: number): number {
  return -2.5 * Math.log10(flux_fnu_cgs / AB_ZERO_FNU_CGS);
}

/** f_nu of a magnitude in a system whose zero-magnitude flux density is `zero_point_fnu_cgs`. */
export function fnuFromMag(mag: number, zero_point_fnu_cgs: number): number {
  return zero_point_fnu_cgs * 10 ** (-0.4 * mag);
}

/** sigma_f = f * ln(10)/2.5 * sigma_m (paper section 3.2, step 1). */
export function fnuErrFromMagErr(flux_fnu_cgs: number, mag_err: number): number {
  return (flux_fnu_cgs * Math.LN10 * mag_err) / 2.5;
}
