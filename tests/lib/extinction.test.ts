import { describe, expect, it } from 'vitest';
import { ccm89, redden } from '../../lib/sed/extinction.js';

describe('CCM89 extinction law', () => {
  it('reproduces the published A_lambda/A_V for R_V = 3.1 (Cardelli et al. 1989, Table 3)', () => {
    // band: effective wavelength (A), A_lambda/A_V
    const table: [string, number, number][] = [
      ['U', 3650, 1.569],
      ['B', 4400, 1.337],
      ['V', 5500, 1.0],
      ['R', 7000, 0.751],
      ['I', 9000, 0.479],
      ['J', 12500, 0.282],
      ['H', 16500, 0.19],
      ['K', 22000, 0.114],
    ];
    // Table 3 lists the mean observed curve through each band; the analytic law at the band's
    // effective wavelength agrees to about 0.01 (largest here: U, B and H, 0.010-0.012)
    for (const [band, l, expected] of table) expect(Math.abs(ccm89(l) - expected), band).toBeLessThan(0.015);
  });

  it('peaks at the 2175 A bump and rises in the far UV', () => {
    expect(ccm89(2175)).toBeGreaterThan(ccm89(2700));
    expect(ccm89(2175)).toBeGreaterThan(ccm89(1700));
    expect(ccm89(1100)).toBeGreaterThan(ccm89(1700));
    expect(ccm89(5500, 5.0)).toBeCloseTo(1, 2); // A_V / A_V is 1 for any R_V
    expect(() => ccm89(500)).toThrow(/1000-33333 A/);
  });

  it('reddens a spectrum by A_V magnitudes at V', () => {
    const l = Float64Array.from([5500, 22000]);
    const out = redden(l, Float64Array.from([1, 1]), 2);
    expect(-2.5 * Math.log10(out[0]!)).toBeCloseTo(2 * ccm89(5500), 10);
    expect(-2.5 * Math.log10(out[1]!)).toBeCloseTo(2 * ccm89(22000), 10);
  });
});
