import { describe, expect, it } from 'vitest';
import {
  colourPairs,
  columnMedians,
  computeFeatures,
  featureNames,
  hardnessRatio,
  imputeMatrix,
  type FeatureInput,
  type FeatureSpec,
} from '../../lib/features.js';
import { stratifiedFolds, stratifiedSplit } from '../../lib/folds.js';

/** A source with no measurement at all. */
const NOTHING: FeatureInput = {
  flux_s: null,
  flux_m: null,
  flux_h: null,
  flux_b: null,
  hst_mag: {},
  gaia_g: null,
  gaia_bp: null,
  gaia_rp: null,
  pm_total_masyr: null,
  parallax_mas: null,
  parallax_err_mas: null,
  dist_geo_pc: null,
  sigma_eff_arcsec: null,
  nu: null,
  significance: null,
  var_p_intra: null,
  var_p_inter: null,
  a_v: null,
};

const PHAT: FeatureSpec = {
  filters: [
    { name: 'HST_ACS_WFC.F814W', pivot_aa: 8057 },
    { name: 'HST_WFC3_UVIS.F275W', pivot_aa: 2710 },
    { name: 'HST_WFC3_IR.F160W', pivot_aa: 15369 },
    { name: 'HST_WFC3_UVIS.F336W', pivot_aa: 3355 },
    { name: 'HST_ACS_WFC.F475W', pivot_aa: 4747 },
    { name: 'HST_WFC3_IR.F110W', pivot_aa: 11534 },
  ],
  xray_optical_filters: ['HST_ACS_WFC.F475W', 'HST_ACS_WFC.F814W'],
  galactic_parallax_mas: 0.5,
  include_gaia: true,
};

describe('features (paper Table 3)', () => {
  it('has the 26 PHAT features, colours in wavelength order', () => {
    const names = featureNames(PHAT);
    expect(names).toHaveLength(26);
    expect(colourPairs(PHAT).map(([a, b]) => `${a.split('.')[1]}-${b.split('.')[1]}`)).toEqual([
      'F275W-F336W',
      'F336W-F475W',
      'F475W-F814W',
      'F814W-F110W',
      'F110W-F160W',
      'F275W-F814W',
      'F336W-F110W',
      'F475W-F160W',
      'F275W-F160W',
    ]);
    expect(featureNames({ ...PHAT, include_gaia: false })).toHaveLength(22);
  });

  it('computes a hand-checked source', () => {
    const mags = {
      'HST_WFC3_UVIS.F275W': 20,
      'HST_WFC3_UVIS.F336W': 19.5,
      'HST_ACS_WFC.F475W': 19,
      'HST_ACS_WFC.F814W': 18,
      'HST_WFC3_IR.F110W': 17.6,
      'HST_WFC3_IR.F160W': 17.1,
    };
    const source = {
      flux_s: 1e-14,
      flux_m: 3e-14,
      flux_h: 0,
      flux_b: 4e-14,
      hst_mag: mags,
      gaia_g: 18.2,
      gaia_bp: 18.6,
      gaia_rp: 17.7,
      pm_total_masyr: 3.2,
      parallax_mas: 0.7,
      parallax_err_mas: 0.1,
      dist_geo_pc: null,
      sigma_eff_arcsec: 0.8,
      nu: null,
      significance: 12,
      var_p_intra: 0.2,
      var_p_inter: null,
      a_v: 1.25,
    };
    const v = computeFeatures(source, PHAT);
    const f = Object.fromEntries(featureNames(PHAT).map((n, i) => [n, v[i]]));
    expect(f['log_flux_s']).toBeCloseTo(-14, 12);
    expect(f['log_flux_h']).toBeNull(); // zero flux: missing, never log(0)
    expect(f['hr_sm']).toBeCloseTo(-0.5, 12); // (1 - 3)/(1 + 3)
    expect(f['hr_mh']).toBeCloseTo(1, 12); // (3 - 0)/(3 + 0)
    expect(f['hr_bm']).toBeCloseTo(1 / 7, 12); // (4 - 3)/(4 + 3)
    expect(f['F275W-F336W']).toBeCloseTo(0.5, 12);
    expect(f['F275W-F160W']).toBeCloseTo(2.9, 12);
    // F475W = 19 AB: f_nu = 3631e-23 * 10^(-7.6); log10(4e-14 / f_nu)
    expect(f['log_fx_fopt_F475W']).toBeCloseTo(Math.log10(4e-14 / (3631e-23 * 10 ** -7.6)), 12);
    expect(f['gaia_bp_rp']).toBeCloseTo(0.9, 12);
    expect(f['gaia_g_rp']).toBeCloseTo(0.5, 12);
    expect(f['is_galactic_parallax']).toBe(1);
    expect(f['nu']).toBeNull();
    expect(f['sed_a_v']).toBeUndefined();
    const withAv = computeFeatures(source, { ...PHAT, include_av: true });
    expect(featureNames({ ...PHAT, include_av: true }).at(-1)).toBe('sed_a_v');
    expect(withAv.at(-1)).toBe(1.25);
    // the X-ray-only set: the same X-ray values, no HST, Gaia or SED feature, the variability probabilities
    const xray = { ...PHAT, xray_only: true as const };
    expect(featureNames(xray)).toEqual([
      'log_flux_s',
      'log_flux_m',
      'log_flux_h',
      'log_flux_b',
      'hr_sm',
      'hr_mh',
      'hr_sh',
      'hr_bm',
      'sigma_eff',
      'significance',
      'var_p_intra',
      'var_p_inter',
    ]);
    const x = computeFeatures(source, xray);
    expect(x.slice(0, 8)).toEqual(v.slice(0, 8));
    expect(x.slice(8)).toEqual([0.8, 12, 0.2, null]);
  });

  it('never takes the log of a negative flux, and leaves a hardness ratio of non-positive sums missing', () => {
    expect(hardnessRatio(-1e-15, 1e-15)).toBeNull();
    expect(hardnessRatio(null, 1e-15)).toBeNull();
    const v = computeFeatures({ ...NOTHING, flux_s: -1e-15 }, PHAT);
    expect(v.every((x) => x === null)).toBe(true);
  });

  it('imputes with training medians, then 0 for a column with no training value', () => {
    const train = [
      [1, null, 5],
      [3, null, null],
      [2, null, 7],
    ];
    const med = columnMedians(train, 3);
    expect(med).toEqual([2, null, 6]);
    const m = imputeMatrix(
      [
        [null, null, null],
        [10, 1, 2],
      ],
      med,
    );
    expect(Array.from(m.x)).toEqual([2, 10, 0, 1, 6, 2]); // column-major
    expect(m.imputed).toEqual([1, 1, 1]);
  });

  it('takes medians from the training rows only (a leakage check)', () => {
    // the held-out row has an extreme value; if it leaked into the medians they would move
    const rows = [[1], [2], [3], [1000]];
    const trainIdx = [0, 1, 2];
    expect(
      columnMedians(
        trainIdx.map((i) => rows[i]!),
        1,
      ),
    ).toEqual([2]);
    expect(columnMedians(rows, 1)).not.toEqual([2]);
  });
});

describe('stratified folds', () => {
  it('keeps class proportions, covers every source once, and does not depend on row order', () => {
    const ids = Array.from({ length: 103 }, (_, i) => `s${i}`);
    const labels = ids.map((_, i) => (i < 80 ? 'AGN' : i < 98 ? 'STAR' : 'CV'));
    const f = stratifiedFolds(ids, labels, 5, 7);
    expect(f.size).toBe(103);
    for (let k = 0; k < 5; k++) {
      const agn = ids.filter((id, i) => labels[i] === 'AGN' && f.get(id) === k).length;
      expect(agn).toBe(16);
      const star = ids.filter((id, i) => labels[i] === 'STAR' && f.get(id) === k).length;
      expect(star === 3 || star === 4).toBe(true);
    }
    // the 5 CVs land in 5 different folds
    expect(new Set(ids.filter((_, i) => labels[i] === 'CV').map((id) => f.get(id))).size).toBe(5);
    const reversed = stratifiedFolds([...ids].reverse(), [...labels].reverse(), 5, 7);
    expect([...reversed.entries()].sort()).toEqual([...f.entries()].sort());
  });
});

describe("stratified split (the method's 72/18/10)", () => {
  it('splits every class in the given proportions, deterministically', () => {
    const ids = Array.from({ length: 150 }, (_, i) => `s${String(i).padStart(3, '0')}`);
    const labels = ids.map((_, i) => (i < 100 ? 'AGN' : 'STAR'));
    const parts = stratifiedSplit(ids, labels, [0.72, 0.18, 0.1], 3);
    const count = (cls: string, part: number) =>
      ids.filter((id, i) => labels[i] === cls && parts.get(id) === part).length;
    expect([count('AGN', 0), count('AGN', 1), count('AGN', 2)]).toEqual([72, 18, 10]);
    expect([count('STAR', 0), count('STAR', 1), count('STAR', 2)]).toEqual([36, 9, 5]);
    expect(stratifiedSplit(ids, labels, [0.72, 0.18, 0.1], 3)).toEqual(parts);
    expect(() => stratifiedSplit(ids, labels, [0.5, 0.4], 3)).toThrow(/sum to 1/);
  });
});

describe('distance features where the parallax is significant', () => {
  it('a star at 100 pc and one at 1 kpc, by hand', async () => {
    const { absoluteMagnitude, logXrayLuminosity, significantDistancePc, PARSEC_CM } =
      await import('../../lib/features.js');
    // 1 pc = 3.0857e18 cm
    expect(PARSEC_CM).toBeCloseTo(3.0856775814913673e18, 2);
    // 10 +- 0.1 mas, no geometric distance: 100 pc; F_X = 1e-13: L_X = 4 pi (3.0857e20 cm)^2 1e-13 = 1.1965e29 erg/s
    const d100 = significantDistancePc(10, 0.1, null, 5)!;
    expect(d100).toBe(100);
    expect(logXrayLuminosity(1e-13, d100)).toBeCloseTo(Math.log10(1.19649e29), 4);
    expect(absoluteMagnitude(10, d100)).toBeCloseTo(5, 12);
    // 1 +- 0.1 mas (S/N 10): 1 kpc, L_X of 1e-14 = 10^30.078; with a geometric distance of 950 pc, that distance
    expect(logXrayLuminosity(1e-14, significantDistancePc(1, 0.1, null, 5))).toBeCloseTo(30.0779, 4);
    expect(significantDistancePc(1, 0.1, 950, 5)).toBe(950);
    expect(absoluteMagnitude(15, 950)).toBeCloseTo(15 - 5 * Math.log10(95), 12);
    // the example: 480 pc and 1e-14 erg/s/cm^2 give about 3e29 erg/s
    expect(10 ** logXrayLuminosity(1e-14, 480)!).toBeCloseTo(2.757e29, -26);
    // not significant: S/N 5 exactly (the threshold is strict), 4 even with a geometric distance, a negative parallax, no error
    expect(significantDistancePc(1, 0.2, null, 5)).toBeNull();
    expect(significantDistancePc(1, 0.25, 1200, 5)).toBeNull();
    expect(significantDistancePc(-1, 0.1, null, 5)).toBeNull();
    expect(significantDistancePc(1, null, 1000, 5)).toBeNull();
  });

  it('are features only with distance_snr_min, and their missing values sit below every real value, not at a class median', async () => {
    const { imputationValues, MISSING_BELOW_RANGE } = await import('../../lib/features.js');
    const spec = { ...PHAT, distance_snr_min: 5 };
    expect(featureNames(spec).slice(-2)).toEqual(['log_lx_plx', 'abs_g_plx']);
    expect(featureNames(PHAT)).not.toContain('log_lx_plx');
    const star = { ...NOTHING, flux_b: 1e-13, gaia_g: 10, parallax_mas: 10, parallax_err_mas: 0.1 };
    const v = computeFeatures(star, spec);
    expect(v.at(-2)).toBeCloseTo(Math.log10(1.19649e29), 4);
    expect(v.at(-1)).toBeCloseTo(5, 12);
    expect(computeFeatures({ ...star, parallax_err_mas: 3 }, spec).slice(-2)).toEqual([null, null]);
    const names = ['hr_sm', 'log_lx_plx', 'abs_g_plx'];
    const rows = [
      [0.1, 29, 5],
      [0.3, null, null],
      [0.2, 30, 7],
    ];
    expect(imputationValues(names, rows)).toEqual([0.2, MISSING_BELOW_RANGE, MISSING_BELOW_RANGE]);
    expect(MISSING_BELOW_RANGE).toBeLessThan(-30);
  });
});
