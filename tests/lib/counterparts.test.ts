import { describe, expect, it } from 'vitest';
import {
  CounterpartMatcher,
  falseMatchRate,
  frameTie,
  offsetPosition,
  positionOffset,
  R95_PER_SIGMA,
} from '../../lib/sky/counterparts.js';
import { Rng } from '../../lib/rng.js';

const opts = { radius_sigmas: 3, min_radius_arcsec: 0.5, prior_completeness: 0.9, density_radius_arcsec: 60 };
const at = (ra: number, dec: number, east: number, north: number) => offsetPosition(ra, dec, east, north);

function catalogOf(points: { ra_deg: number; dec_deg: number }[], sigma = 0) {
  return {
    ra_deg: points.map((p) => p.ra_deg),
    dec_deg: points.map((p) => p.dec_deg),
    sigma_arcsec: points.map(() => sigma),
  };
}

describe('counterparts: the method rule and the Bayesian posterior', () => {
  // one X-ray source with sigma_eff = 1" (R = 3"): candidates at 0.5" E (nu 0.5) and 2.5" N (nu 2.5);
  // 10 field sources at 30" (in the 3-60" annulus): density 10 / (pi (60^2 - 3^2))
  const x = { ra_deg: 150, dec_deg: 20, sigma_eff_arcsec: 1 };
  const points = [
    at(150, 20, 0.5, 0),
    at(150, 20, 0, 2.5),
    ...Array.from({ length: 10 }, (_, k) => at(150, 20, 30 * Math.cos(k), 30 * Math.sin(k))),
  ];
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
    const stars = Array.from({ length: 4000 }, () => ({
      ra_deg: 10 + 0.5 * rng.nextFloat(),
      dec_deg: -0.25 + 0.5 * rng.nextFloat(),
    }));
    const matcher = new CounterpartMatcher(catalogOf(stars), opts, 3);
    const sources = Array.from({ length: 400 }, () => ({
      ra_deg: 10.1 + 0.3 * rng.nextFloat(),
      dec_deg: -0.15 + 0.3 * rng.nextFloat(),
      sigma_eff_arcsec: 1,
    }));
    const fm = falseMatchRate(matcher, sources, [5, 10]);
    const rho = 4000 / 1800 ** 2;
    expect(fm.trials).toBe(400 * 2 * 4);
    expect(Math.abs(fm.method_rate - (1 - Math.exp(-rho * Math.PI * 9)))).toBeLessThan(0.01);
  });

  it('the frame tie recovers an offset applied to the counterparts', () => {
    const rng = new Rng(11);
    const pairs = Array.from({ length: 60 }, () => {
      const xray = { ra_deg: 200 + rng.nextFloat(), dec_deg: -40 + rng.nextFloat() };
      return {
        xray,
        counterpart: at(
          xray.ra_deg,
          xray.dec_deg,
          0.3 + 0.1 * (rng.nextFloat() - 0.5),
          -0.2 + 0.1 * (rng.nextFloat() - 0.5),
        ),
      };
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

describe('counterparts on a simulated crowded field with known truth', () => {
  // 3000 X-ray sources over 1 x 1 deg at Dec -30 with sigma_eff 0.6-1.6"; 70% have a counterpart in the
  // catalog, offset by a Gaussian of the X-ray 1-sigma error; field stars at 0.02 per arcsec^2 (a
  // crowded field: about 0.6 chance stars within a 3" search radius)
  const rng = new Rng(2024);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
  const cosd = Math.cos((-30 * Math.PI) / 180);
  const area = 3600 * 3600 * cosd; // arcsec^2 of 1 deg of RA x 1 deg of Dec at Dec -30
  const xs = Array.from({ length: 3000 }, () => ({
    ra_deg: 40 + rng.nextFloat(),
    dec_deg: -30.5 + rng.nextFloat(),
    sigma_eff_arcsec: 0.6 + rng.nextFloat(),
  }));
  const stars: { ra_deg: number; dec_deg: number }[] = [];
  const truthOf = new Map<number, number>();
  xs.forEach((x, i) => {
    if (rng.nextFloat() >= 0.7) return;
    const s = x.sigma_eff_arcsec / R95_PER_SIGMA;
    truthOf.set(i, stars.length);
    stars.push(offsetPosition(x.ra_deg, x.dec_deg, s * gauss(), s * gauss()));
  });
  const nField = Math.round(0.02 * area);
  for (let k = 0; k < nField; k++) stars.push({ ra_deg: 40 + rng.nextFloat(), dec_deg: -30.5 + rng.nextFloat() });
  const matcher = new CounterpartMatcher(catalogOf(stars), { ...opts, prior_completeness: 0.7 }, 5);
  // sources away from the field's edges, where the local density is counted in a full circle
  const inner = xs
    .map((x, i) => [x, i] as const)
    .filter(([x]) => x.ra_deg > 40.03 && x.ra_deg < 40.97 && x.dec_deg > -30.47 && x.dec_deg < -29.53);
  const results = inner.map(([x, i]) => ({ m: matcher.match(x), truth: truthOf.get(i) ?? null }));

  it('the false-match rate measured from shifted positions agrees with the true one within 2 points', () => {
    // true: the share of sources with no counterpart in the catalog that the method's rule matches anyway
    const lonely = results.filter((r) => r.truth === null);
    const trueRate = lonely.filter((r) => r.m.method !== null).length / lonely.length;
    const measured = falseMatchRate(
      matcher,
      inner.map(([x]) => x),
      [5, 10],
    ).method_rate;
    expect(lonely.length).toBeGreaterThan(700);
    expect(trueRate).toBeGreaterThan(0.2); // crowded: a real problem to measure
    expect(Math.abs(measured - trueRate)).toBeLessThan(0.02);
  });

  it('the posteriors are calibrated: of candidates with p_i near 0.8, about 80% are the counterpart', () => {
    const candidates = results.flatMap((r) => r.m.candidates.map((c) => ({ p: c.p_i, true: c.index === r.truth })));
    for (const [lo, hi] of [
      [0.7, 0.9],
      [0.3, 0.7],
      [0.9, 1.0],
    ] as const) {
      const bin = candidates.filter((c) => c.p >= lo && c.p < hi + (hi === 1 ? 1e-9 : 0));
      const meanP = bin.reduce((a, c) => a + c.p, 0) / bin.length;
      const share = bin.filter((c) => c.true).length / bin.length;
      expect(bin.length, `${lo}-${hi}`).toBeGreaterThan(100);
      expect(Math.abs(share - meanP), `${lo}-${hi}: mean p ${meanP.toFixed(3)}, true ${share.toFixed(3)}`).toBeLessThan(
        0.05,
      );
    }
    // p_any against having a counterpart at all
    const meanAny = results.reduce((a, r) => a + r.m.p_any, 0) / results.length;
    const withTruth = results.filter((r) => r.truth !== null).length / results.length;
    expect(Math.abs(meanAny - withTruth)).toBeLessThan(0.03);
  });
});
