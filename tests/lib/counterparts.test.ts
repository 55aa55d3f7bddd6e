import { describe, expect, it } from 'vitest';
import { CounterpartMatcher, falseMatchRate, frameTie, offsetPosition, positionOffset, R95_PER_SIGMA } from '../../lib/sky/counterparts.js';
import { Rng } from '../../lib/rng.js';

const opts = { radius_sigmas: 3, min_radius_arcsec: 0.5, prior_completeness: 0.9, density_radius_arcsec: 60 };
const at = (ra: number, dec: number, east: number, north: number) => offsetPosition(ra, dec, east, north);

function catalogOf(points: { ra_deg: number; dec_deg: number }[], sigma = 0) {
  return { ra_deg: points.map((p) => p.ra_deg), dec_deg: points.map((p) => p.dec_deg), sigma_arcsec: points.map(() => sigma) };
}

describe('counterparts: the method rule and the Bayesian posterior', () => {
  // one X-ray source with sigma_eff = 1" (R = 3"): candidates at 0.5" E (nu 0.5) and 2.5" N (nu 2.5);
  // 10 field sources at 30" (in the 3-60" annulus): density 10 / (pi (60^2 - 3^2))
  const x = { ra_deg: 150, dec_deg: 20, sigma_eff_arcsec: 1 };
  const points = [at(150, 20, 0.5, 0), at(150, 20, 0, 2.5), ...Array.from({ length: 10 }, (_, k) => at(150, 20, 30 * Math.cos(k), 30 * Math.sin(k)))];
  const m = new CounterpartMatcher(catalogOf(points), opts, 3).match(x);

  it('grades each candidate by nu and chooses the nearest (paper section 2.3)', () => {
    expect(m.radius_arcsec).toBe(3);
    expect(m.candidates.map((c) => [c.index, c.rank, c.quality])).toEqual([
      [0, 1, 'secure'],
      [1, 2, 'ambiguous'],
    ]);
    expect(m.candidates[0]!.nu).toBeCloseTo(0.5, 6);
    expect(m.candidates[1]!.nu).toBeCloseTo(2.5, 6);
    expect(m.method?.index).toBe(0);
  });

  it('posteriors by hand: LR = exp(-r^2/2s^2) / (2 pi s^2 rho), p_i = c LR_i / (1 - c + c P_out + c sum LR)', () => {
    const rho = 10 / (Math.PI * (3600 - 9));
    expect(m.density_arcsec2).toBeCloseTo(rho, 12);
    const s = 1 / R95_PER_SIGMA; // 0.4085"
    const lr = (r: number) => Math.exp((-r * r) / (2 * s * s)) / (2 * Math.PI * s * s * rho);
    const pOut = Math.exp((-3 * 3) / (2 * s * s));
    const denom = 0.1 + 0.9 * pOut + 0.9 * (lr(0.5) + lr(2.5));
    expect(m.candidates[0]!.p_i).toBeCloseTo((0.9 * lr(0.5)) / denom, 6);
    expect(m.candidates[1]!.p_i).toBeCloseTo((0.9 * lr(2.5)) / denom, 6);
    // a candidate at 1.22 sigma in a sparse field is almost surely the counterpart; one at 6 sigma is not
    expect(m.candidates[0]!.p_i).toBeGreaterThan(0.99);
    expect(m.candidates[1]!.p_i).toBeLessThan(1e-3);
    expect(m.p_any).toBeCloseTo(m.candidates[0]!.p_i + m.candidates[1]!.p_i, 12);
    expect(m.bayes?.index).toBe(0);
  });

  it('an empty field: no candidate, p_any 0', () => {
    const far = new CounterpartMatcher(catalogOf([at(150, 20, 100, 0)]), opts, 3).match(x);
    expect(far.candidates).toEqual([]);
    expect(far.p_any).toBe(0);
    expect(far.method).toBeNull();
  });

  it('the false-match rate of a uniform field is 1 - exp(-rho pi R^2)', () => {
    // 4000 random field stars in a 0.5 x 0.5 deg box at Dec 0: rho = 4000 / 1800^2 arcsec^-2
    const rng = new Rng(7);
    const stars = Array.from({ length: 4000 }, () => ({ ra_deg: 10 + 0.5 * rng.nextFloat(), dec_deg: -0.25 + 0.5 * rng.nextFloat() }));
    const matcher = new CounterpartMatcher(catalogOf(stars), opts, 3);
    const sources = Array.from({ length: 400 }, () => ({ ra_deg: 10.1 + 0.3 * rng.nextFloat(), dec_deg: -0.15 + 0.3 * rng.nextFloat(), sigma_eff_arcsec: 1 }));
    const fm = falseMatchRate(matcher, sources, [5, 10]);
    const rho = 4000 / 1800 ** 2;
    expect(fm.trials).toBe(400 * 2 * 4);
    expect(Math.abs(fm.method_rate - (1 - Math.exp(-rho * Math.PI * 9)))).toBeLessThan(0.01);
  });

  it('the frame tie recovers an offset applied to the counterparts', () => {
    const rng = new Rng(11);
    const pairs = Array.from({ length: 60 }, () => {
      const xray = { ra_deg: 200 + rng.nextFloat(), dec_deg: -40 + rng.nextFloat() };
      return { xray, counterpart: at(xray.ra_deg, xray.dec_deg, 0.3 + 0.1 * (rng.nextFloat() - 0.5), -0.2 + 0.1 * (rng.nextFloat() - 0.5)) };
    });
    const tie = frameTie(pairs);
    expect(tie.n).toBe(60);
    expect(tie.east_arcsec).toBeCloseTo(0.3, 1);
    expect(tie.north_arcsec).toBeCloseTo(-0.2, 1);
    const [e, n] = positionOffset({ ra_deg: 359.9999, dec_deg: 60 }, at(359.9999, 60, 1, -1));
    expect(e).toBeCloseTo(1, 6);
    expect(n).toBeCloseTo(-1, 6);
  });
});
