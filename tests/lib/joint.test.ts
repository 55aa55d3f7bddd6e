import { describe, expect, it } from 'vitest';
import { jointCounterparts, R95_PER_SIGMA } from '../../lib/sky/counterparts.js';

/** One catalog's candidates at (east, north) offsets, 1-sigma errors, all eligible. */
const catalog = (pts: [number, number, number][], chosen: number | null, density = 1e-3) => ({
  candidates: pts.map(([east_arcsec, north_arcsec, sigma_arcsec]) => ({
    east_arcsec,
    north_arcsec,
    sigma_arcsec,
    eligible: true,
  })),
  chosen,
  density_arcsec2: density,
});
const x = { sigma_1_arcsec: 1 / R95_PER_SIGMA };

describe('one counterpart set across catalogs', () => {
  it('keeps choices that agree: the same star in Gaia and 2MASS, 0.1" apart', () => {
    const r = jointCounterparts(x, [catalog([[0.3, 0, 0.001]], 0), catalog([[0.4, 0, 0.08]], 0)], 0.9, 0.3);
    expect(r.chosen).toEqual([0, 0]);
    expect(r.rejected).toEqual([]);
    expect(r.pairs).toHaveLength(1);
    expect(r.pairs[0]!.sep_arcsec).toBeCloseTo(0.1, 12);
    // sigma of the separation: sqrt((0.001^2 + 0.3^2) + (0.08^2 + 0.3^2))
    expect(r.pairs[0]!.sigma_arcsec).toBeCloseTo(Math.sqrt(0.001 ** 2 + 0.08 ** 2 + 2 * 0.09), 12);
    expect(r.pairs[0]!.agree).toBe(true);
  });

  it('never joins two stars: a Gaia star 0.4" east and a 2MASS star 2.0" west of the X-ray source', () => {
    const r = jointCounterparts(x, [catalog([[0.4, 0, 0.001]], 0), catalog([[-2.0, 0, 0.08]], 0)], 0.9, 0.3);
    expect(r.rejected).toHaveLength(1);
    expect(r.rejected[0]!.sep_arcsec).toBeCloseTo(2.4, 12);
    expect(r.rejected[0]!.agree).toBe(false);
    // the nearer star alone has the larger weight: its Gaussian term exp(-0.4^2 w / 2) against exp(-2.0^2 w / 2)
    expect(r.chosen).toEqual([0, null]);
    expect(r.pairs).toEqual([]);
    // with 2MASS's star the nearer one, 2MASS's is kept and Gaia's left out
    expect(
      jointCounterparts(x, [catalog([[2.0, 0, 0.001]], 0), catalog([[-0.4, 0, 0.08]], 0)], 0.9, 0.3).chosen,
    ).toEqual([null, 0]);
  });

  it('weighs a pair of agreeing members against a nearer lone candidate by the field density', () => {
    // Gaia chose the star 0.3" east; 2MASS chose one 1.45" west, which Gaia lists too (its second candidate, 1.5" west).
    // By hand (sigma_x = 1/2.4477", members' sigma with the 0.3" floor; c = 0.9):
    //   W({g0})     = G(x, g0) (c/rho) (1 - c),  G(x, g0) = exp(-0.09 / 2(0.1669 + 0.09)) / 2 pi (0.2569) = 0.520
    //   W({g1, t0}) = G(x, g1, t0) (c/rho)^2,    G(x, g1, t0) = 2.784 * 0.2287 * exp(-5.109) = 0.00385
    // at rho = 1e-3 /arcsec^2: 46.8 against 3,116, the pair; at rho = 1 /arcsec^2: 0.0468 against 0.0031, the lone star
    const cats = (rho: number) => [
      catalog(
        [
          [0.3, 0, 0.001],
          [-1.5, 0, 0.001],
        ],
        0,
        rho,
      ),
      catalog([[-1.45, 0, 0.08]], 0, rho),
    ];
    const sparse = jointCounterparts(x, cats(1e-3), 0.9, 0.3);
    expect(sparse.rejected.map((p) => p.sep_arcsec)).toEqual([1.75]);
    expect(sparse.chosen).toEqual([1, 0]);
    expect(sparse.pairs[0]!.sep_arcsec).toBeCloseTo(0.05, 12);
    expect(jointCounterparts(x, cats(1), 0.9, 0.3).chosen).toEqual([0, null]);
  });
});
