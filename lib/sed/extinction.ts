/**
 * The Cardelli, Clayton & Mathis (1989, ApJ 345, 245) extinction law: A_lambda / A_V =
 * a(x) + b(x) / R_V with x = 1 / lambda in inverse microns, valid for 0.3 <= x <= 10
 * (1,000 A to 3.3 microns). Eqs. 2 (infrared), 3 (optical/near-IR), 4-5 (ultraviolet
 * with the far-UV curvature terms for x >= 5.9) and the far-UV polynomials for 8 <= x <= 10.
 */
export function ccm89(wavelength_aa: number, r_v = 3.1): number {
  const x = 1e4 / wavelength_aa;
  if (x < 0.3 || x > 10) throw new Error(`CCM89 is defined for 1000-33333 A, got ${wavelength_aa} A`);
  let a: number;
  let b: number;
  if (x < 1.1) {
    a = 0.574 * x ** 1.61;
    b = -0.527 * x ** 1.61;
  } else if (x < 3.3) {
    const y = x - 1.82;
    a =
      1 +
      0.17699 * y -
      0.50447 * y ** 2 -
      0.02427 * y ** 3 +
      0.72085 * y ** 4 +
      0.01979 * y ** 5 -
      0.7753 * y ** 6 +
      0.32999 * y ** 7;
    b =
      1.41338 * y +
      2.28305 * y ** 2 +
      1.07233 * y ** 3 -
      5.38434 * y ** 4 -
      0.62251 * y ** 5 +
      5.3026 * y ** 6 -
      2.09002 * y ** 7;
  } else if (x < 8) {
    const fa = x >= 5.9 ? -0.04473 * (x - 5.9) ** 2 - 0.009779 * (x - 5.9) ** 3 : 0;
    const fb = x >= 5.9 ? 0.213 * (x - 5.9) ** 2 + 0.1207 * (x - 5.9) ** 3 : 0;
    a = 1.752 - 0.316 * x - 0.104 / ((x - 4.67) ** 2 + 0.341) + fa;
    b = -3.09 + 1.825 * x + 1.206 / ((x - 4.62) ** 2 + 0.263) + fb;
  } else {
    const z = x - 8;
    a = -1.073 - 0.628 * z + 0.137 * z ** 2 - 0.07 * z ** 3;
    b = 13.67 + 4.257 * z - 0.42 * z ** 2 + 0.374 * z ** 3;
  }
  return a + b / r_v;
}

/**
 * Reddens an f_nu spectrum on a wavelength grid by A_V magnitudes: f * 10^(-0.4 A_V
 * A_lambda/A_V). Outside the law's range (below 1,000 A or beyond 3.3 microns) the
 * law's value at the nearer edge is used, so the grid's ends stay finite.
 */
export function redden(wavelength_aa: Float64Array, flux_fnu: Float64Array, a_v: number, r_v = 3.1): Float64Array {
  const t = transmission(extinctionCurve(wavelength_aa, r_v), a_v);
  return flux_fnu.map((f, i) => f * t[i]!);
}

/** A_lambda / A_V on a wavelength grid, clamped to the law's range as in `redden`. */
export function extinctionCurve(wavelength_aa: Float64Array, r_v = 3.1): Float64Array {
  return wavelength_aa.map((l) => ccm89(Math.min(Math.max(l, 1000), 33333), r_v));
}

/** The fraction of flux that gets through A_V magnitudes of extinction: 10^(-0.4 A_V A_lambda/A_V). */
export function transmission(curve: Float64Array, a_v: number): Float64Array {
  return curve.map((c) => 10 ** (-0.4 * a_v * c));
}
