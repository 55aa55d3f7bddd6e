import { describe, expect, it } from 'vitest';
import { colourPairs, columnMedians, computeFeatures, featureNames, hardnessRatio, imputeMatrix, type FeatureSpec } from '../../lib/features.js';
import { stratifiedFolds, stratifiedSplit } from '../../lib/folds.js';

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
    const v = computeFeatures(
      {
        flux_s: -1e-15,
        flux_m: null,
        flux_h: null,
        flux_b: null,
        hst_mag: {},
        gaia_g: null,
        gaia_bp: null,
        gaia_rp: null,
        pm_total_masyr: null,
        parallax_mas: null,
        sigma_eff_arcsec: null,
        nu: null,
        significance: null,
        var_p_intra: null,
        var_p_inter: null,
        a_v: null,
      },
      PHAT,
    );
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
    const count = (cls: string, part: number) => ids.filter((id, i) => labels[i] === cls && parts.get(id) === part).length;
    expect([count('AGN', 0), count('AGN', 1), count('AGN', 2)]).toEqual([72, 18, 10]);
    expect([count('STAR', 0), count('STAR', 1), count('STAR', 2)]).toEqual([36, 9, 5]);
    expect(stratifiedSplit(ids, labels, [0.72, 0.18, 0.1], 3)).toEqual(parts);
    expect(() => stratifiedSplit(ids, labels, [0.5, 0.4], 3)).toThrow(/sum to 1/);
  });
});
