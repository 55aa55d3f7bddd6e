import { describe, expect, it } from 'vitest';
import { loadComposite, loadFilter, loadLePhareTemplate, salvatoTemplateFiles } from '../../activities/io/sed-data.js';
import { redshiftPrior } from '../../activities/translation.js';
import { bandFlux, bandWeights, transmittedRange } from '../../lib/sed/filters.js';
import { DEFAULT_GRID } from '../../lib/sed/grid.js';
import { flambdaToGridFnu, powerLawSet, redshiftedSet } from '../../lib/sed/templates.js';
import { preparePlan, translateLabelFree } from '../../lib/sed/translate.js';
import { observationFromFluxes } from '../../lib/sed/photometry.js';
import { DATA } from '../helpers.js';

const COMPOSITE = 'templates/vandenberk2001_composite.txt';
const colour = (fnu: Float64Array, a: Float64Array, b: Float64Array) =>
  -2.5 * Math.log10(bandFlux(a, fnu) / bandFlux(b, fnu));

describe('redshifted AGN templates', () => {
  it("gives the composite's colours at z = 1 that the composite shifted by hand gives", async () => {
    const comp = await loadComposite(DATA, COMPOSITE);
    const [g, i, f475, f814] = await Promise.all(
      ['PS1.g', 'PS1.i', 'HST_ACS_WFC.F475W', 'HST_ACS_WFC.F814W'].map((f) => loadFilter(DATA, f)),
    );
    const w = [g!, i!, f475!, f814!].map((f) => bandWeights(f, DEFAULT_GRID));
    const set = redshiftedSet(DEFAULT_GRID, 'composite_z', [{ name: 'VandenBerk2001', ...comp }], [1], () => 1);
    expect(set.names).toEqual(['VandenBerk2001 z=1']);
    expect(set.coverage_aa).toEqual([[1601, 17109]]); // 800.5-8554.5 A rest
    // by hand: observed wavelengths (1 + z) lambda, f_lambda / (1 + z), onto the grid
    const shifted = flambdaToGridFnu(
      DEFAULT_GRID,
      comp.wavelength_aa.map((l) => 2 * l),
      comp.flux_flam.map((f) => f / 2),
    );
    for (const [a, b] of [
      [0, 1],
      [2, 3],
    ] as const) {
      const got = colour(set.spectra[0]!, w[a]!, w[b]!);
      expect(got).toBeCloseTo(colour(shifted, w[a]!, w[b]!), 3);
    }
    // at z = 1, g (~4800 A) sees the rest 2400 A continuum and i (~7500 A) rest 3750 A: the composite is blue (alpha_nu ~ -0.44)
    expect(colour(set.spectra[0]!, w[0]!, w[1]!)).toBeGreaterThan(-0.5);
    expect(colour(set.spectra[0]!, w[0]!, w[1]!)).toBeLessThan(0.5);
  });

  it('cuts a band the template does not reach at a redshift instead of extrapolating', async () => {
    const comp = await loadComposite(DATA, COMPOSITE);
    const filters = await Promise.all(
      ['PS1.g', 'PS1.i', '2MASS.Ks', 'HST_WFC3_UVIS.F275W'].map((f) => loadFilter(DATA, f)),
    );
    const [ks, f275] = [transmittedRange(filters[2]!), transmittedRange(filters[3]!)];
    // Ks reaches 2.3 microns: rest 8554.5 A (the composite's last bin) covers it from z = 1.7
    expect(ks[1] / 8554.5 - 1).toBeGreaterThan(1.6);
    const set = redshiftedSet(
      DEFAULT_GRID,
      'composite_z',
      [{ name: 'VandenBerk2001', ...comp }],
      [0, 1, 2, 3],
      () => 1,
    );
    const plan = preparePlan(
      DEFAULT_GRID,
      filters.slice(0, 3),
      filters.slice(3),
      { composite_z: set, powerlaw: powerLawSet(DEFAULT_GRID) },
      'photon',
    );
    const fam = plan.families.composite_z!;
    const flux = (m: number, b: number) => fam.table.flux[m * fam.table.nBands + b]!;
    expect([0, 1, 2, 3].map((m) => Number.isNaN(flux(m, 2)))).toEqual([true, true, false, false]);
    // F275W (blue edge ~2300 A) at z = 3 would need rest < 800.5 A: cut, its magnitude NaN
    expect(f275[0] / 4).toBeLessThan(800.5);
    expect(Number.isNaN(fam.outMag[3 * plan.outputs.length]!)).toBe(true);
    expect(Number.isNaN(fam.outMag[1 * plan.outputs.length]!)).toBe(false);

    // a source seen in g, i and Ks cannot be a composite at z < 1.7: the posterior puts its redshift at 2-3
    const model = (m: number) => [0, 1, 2].map((b) => flux(m, b) * 1e-28);
    const truth = model(2);
    const res = observationFromFluxes(
      truth.map((f, b) => ({ band: b, name: `b${b}`, flux_fnu: f, flux_err_fnu: f * 0.02 })),
    );
    if (!res.ok) throw new Error(res.reason);
    const t = translateLabelFree(
      plan,
      res.obs,
      { priors: { composite_z: 1, powerlaw: 1 }, draws: 0 },
      { chi2_coeff: 0.1, cap_mag: 1, uv_sigma_mag: 0.4, uv_pivot_aa: 4000 },
      null,
    );
    expect(t.status).toBe('ok');
    expect(t.z_mean).toBeGreaterThanOrEqual(2);
    expect(t.z_mean).toBeLessThanOrEqual(3);
    expect(t.p_redshifted).toBeGreaterThan(0.5);
  });

  it('weights redshifts by the prior and the templates evenly', () => {
    const gamma = redshiftPrior({ kind: 'gamma', shape: 3, scale: 0.35 });
    expect(gamma(0)).toBe(0);
    // the Gamma(3, 0.35) density peaks at (k - 1) theta = 0.7
    expect(gamma(0.7)).toBeGreaterThan(gamma(0.6));
    expect(gamma(0.7)).toBeGreaterThan(gamma(0.8));
    const flat = { name: 'flat', wavelength_aa: [100, 30000], flux_flam: [1, 1] };
    const set = redshiftedSet(DEFAULT_GRID, 'salvato', [flat, { ...flat, name: 'flat2' }], [0, 0.5, 1], gamma);
    // z = 0 has no prior weight: no model
    expect(set.z).toEqual([0.5, 1, 0.5, 1]);
    const w = [0.5, 1].map(gamma);
    expect(set.prior![0]).toBeCloseTo(w[0]! / (w[0]! + w[1]!) / 2, 12);
    expect(set.prior!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('reads the Salvato et al. 2009 library through its LePhare list, repeated wavelengths as one point', async () => {
    const files = await salvatoTemplateFiles(DATA, 'templates/agn_salvato09/AGN_MOD.list');
    expect(files).toHaveLength(30);
    expect(files[0]).toBe('templates/agn_salvato09/CB1_0_LOIII4.sed');
    expect(files).toContain('templates/agn_salvato09/I22491_template_norm.sed.save');
    // Sey2 lists 3e6 A six times: one point
    const sey2 = await loadLePhareTemplate(DATA, 'templates/agn_salvato09/Sey2_template_norm.sed');
    expect(sey2.wavelength_aa.filter((l) => l === 3e6)).toHaveLength(1);
    for (let k = 1; k < sey2.wavelength_aa.length; k++)
      expect(sey2.wavelength_aa[k]!).toBeGreaterThan(sey2.wavelength_aa[k - 1]!);
    const qso = await loadLePhareTemplate(DATA, 'templates/agn_salvato09/pl_QSO_DR2_029_t0.spec');
    expect(qso.wavelength_aa[0]).toBe(200);
  });
});
