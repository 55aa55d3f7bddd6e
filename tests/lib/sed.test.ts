import { beforeAll, describe, expect, it } from 'vitest';
import {
  loadComposite,
  loadFilter,
  loadPickles,
  loadVega,
  picklesFile,
  picklesTypeName,
  PICKLES_DWARFS,
  unknownFilterError,
} from '../../activities/io/sed-data.js';
import { bandFlux, bandWeights, closestNames, pivotWavelength, type Filter } from '../../lib/sed/filters.js';
import { fitGrid } from '../../lib/sed/fit.js';
import { DEFAULT_GRID } from '../../lib/sed/grid.js';
import {
  observationFromFluxes,
  observationFromMags,
  spectrumFnuOnGrid,
  type BandMeasurement,
} from '../../lib/sed/photometry.js';
import {
  abOffset,
  bandZeroPoints,
  GAIA_VEGAMAG,
  magSystemOf,
  sameSystem,
  zeroPointFnu,
} from '../../lib/sed/systems.js';
import { consistencyOffsets } from '../../lib/sed/diagnostics.js';
import {
  BLACKBODY_TEMPERATURES_K,
  blackbodyFnu,
  blackbodySet,
  compositeFnu,
  DISK_FRACTIONS,
  flambdaToGridFnu,
  meanFnu,
  nearestTypes,
  POWER_LAW_ALPHAS,
  powerLawSet,
  reddenedSet,
  twoComponentFnu,
  type ModelSet,
} from '../../lib/sed/templates.js';
import {
  predictedSigma,
  preparePlan,
  translateLabelFree,
  translateLabelFreeMags,
  translateSource,
  PAPER_ASSIGNMENT,
  CLASS_BLIND_ASSIGNMENT,
  FAMILY_KEYS,
  type FamilyKey,
  type TranslationPlan,
} from '../../lib/sed/translate.js';
import type { Observation } from '../../lib/sed/fit.js';
import { ccm89, redden } from '../../lib/sed/extinction.js';
import { Rng } from '../../lib/rng.js';
import { AB_ZERO_FNU_CGS, abMagFromFnu, fnuFromMag } from '../../lib/sed/units.js';
import { DATA } from '../helpers.js';

const grid = DEFAULT_GRID;

/**
 * The label-free posterior mean written plainly, as the method states it: every model of
 * every family with a prior (in the families' order) scaled by least squares, its weight
 * prior * exp(-(chi2 - chi2_min) / 2T) exponentiated and summed, the models above 1e-12 of
 * the total averaged. The library's kernel (band-major sums, the kept models' logarithms
 * only) must give this answer bit for bit.
 */
function plainLabelFreeMean(plan: TranslationPlan, obs: Observation, priors: Partial<Record<FamilyKey, number>>) {
  const n = obs.flux_fnu.length;
  const nOut = plan.outputs.length;
  const models: { logPrior: number; a: number; b: number; outMag: number[]; aV: number }[] = [];
  for (const key of FAMILY_KEYS) {
    const prior = priors[key];
    const fam = plan.families[key];
    if (!fam || prior === undefined || !(prior > 0)) continue;
    for (let m = 0; m < fam.table.nModels; m++) {
      let a = 0;
      let b = 0;
      for (let k = 0; k < n; k++) {
        const e = obs.flux_err_fnu[k]!;
        const iv = 1 / (e * e);
        const mk = fam.table.flux[m * fam.table.nBands + obs.band[k]!]!;
        a += obs.flux_fnu[k]! * mk * iv;
        b += mk * mk * iv;
      }
      const shares = fam.set.prior;
      models.push({
        logPrior: shares ? Math.log(prior * shares[m]!) : Math.log(prior / fam.table.nModels),
        a,
        b,
        outMag: Array.from(fam.outMag.subarray(m * nOut, (m + 1) * nOut)),
        aV: fam.set.a_v?.[m] ?? 0,
      });
    }
  }
  let sff = 0;
  for (let k = 0; k < n; k++)
    sff += obs.flux_fnu[k]! * obs.flux_fnu[k]! * (1 / (obs.flux_err_fnu[k]! * obs.flux_err_fnu[k]!));
  const valid = models.map((x) => x.b > 0 && x.a > 0);
  const chi2 = models.map((x) => Math.max(0, sff - (x.a * x.a) / x.b));
  const chi2Min = Math.min(...chi2.filter((_, i) => valid[i]));
  const twoT = 2 * Math.max(1, chi2Min / (n - 1));
  const logW = models.map((x, i) => (valid[i] ? x.logPrior - (chi2[i]! - chi2Min) / twoT : -Infinity));
  const maxLog = Math.max(...logW);
  const w = logW.map((l) => Math.exp(l - maxLog));
  let sum = 0;
  for (const x of w) sum += x;
  const kept = w.flatMap((x, i) => (x / sum > 1e-12 ? [i] : []));
  const mag_ab = Array.from({ length: nOut }, (_, o) => {
    let sw = 0;
    let s1 = 0;
    for (const i of kept) {
      const mag = models[i]!.outMag[o]! - 2.5 * Math.log10(models[i]!.a / models[i]!.b);
      if (Number.isNaN(mag)) continue;
      sw += w[i]! / sum;
      s1 += (w[i]! / sum) * mag;
    }
    return sw === 0 ? null : s1 / sw;
  });
  let a_v = 0;
  for (const i of kept) a_v += (w[i]! / sum) * models[i]!.aV;
  return { mag_ab, a_v };
}
const PHAT = [
  'HST_WFC3_UVIS.F275W',
  'HST_WFC3_UVIS.F336W',
  'HST_ACS_WFC.F475W',
  'HST_ACS_WFC.F814W',
  'HST_WFC3_IR.F110W',
  'HST_WFC3_IR.F160W',
];
const GROUND = ['Gaia_DR3.G', 'Gaia_DR3.BP', 'Gaia_DR3.RP', '2MASS.J', '2MASS.H', '2MASS.Ks'];
const filters: Record<string, Filter> = {};
let vegaFnu: Float64Array;
const load = async (n: string) => (filters[n] ??= await loadFilter(DATA, n));
const synth = (name: string, fnu: Float64Array, conv: 'photon' | 'paper_eq3' = 'photon') =>
  bandFlux(bandWeights(filters[name]!, grid, conv), fnu);

beforeAll(async () => {
  for (const n of [...PHAT, ...GROUND]) await load(n);
  const vega = await loadVega(DATA, 'templates/vega_alpha_lyr_stis_005.txt');
  vegaFnu = spectrumFnuOnGrid(grid, vega.wavelength_aa, vega.flux_flam_cgs);
});

describe('filters', () => {
  it('has the published pivot wavelengths of the PHAT filters (within 5 A)', () => {
    const pivots = PHAT.map((n) => pivotWavelength(filters[n]!));
    [2710, 3355, 4747, 8057, 11534, 15369].forEach((expected, i) =>
      expect(Math.abs(pivots[i]! - expected), PHAT[i]).toBeLessThan(5),
    );
  });

  it('has the published pivots of the ground bands (data README, within 5 A)', () => {
    const expected = [6218, 5110, 7769, 12393, 16495, 21638];
    GROUND.forEach((n, i) => expect(Math.abs(pivotWavelength(filters[n]!) - expected[i]!), n).toBeLessThan(5));
  });

  it('gives a flat 3631 Jy spectrum AB magnitude 0 in every filter, in both conventions', () => {
    const flat = new Float64Array(grid.wavelength_aa.length).fill(AB_ZERO_FNU_CGS);
    for (const n of [...PHAT, ...GROUND]) {
      expect(Math.abs(abMagFromFnu(synth(n, flat))), n).toBeLessThan(1e-6);
      expect(Math.abs(abMagFromFnu(synth(n, flat, 'paper_eq3'))), n).toBeLessThan(1e-6);
    }
  });

  it("reproduces Vega's AB magnitudes: the HST and 2MASS AB-minus-Vega offsets (within 0.03)", () => {
    const expected: Record<string, number> = {
      'HST_ACS_WFC.F475W': -0.1,
      'HST_ACS_WFC.F814W': 0.42,
      'HST_WFC3_IR.F110W': 0.76,
      'HST_WFC3_IR.F160W': 1.25,
      '2MASS.J': 0.89,
      '2MASS.H': 1.37,
      '2MASS.Ks': 1.84,
    };
    for (const [n, v] of Object.entries(expected))
      expect(Math.abs(abMagFromFnu(synth(n, vegaFnu)) - v), n).toBeLessThan(0.03);
  });

  it('derives the Gaia DR3 AB-minus-Vega offsets from the Vega spectrum (within 0.03 of 0.11, 0.02, 0.36)', () => {
    const offsets = ['Gaia_DR3.G', 'Gaia_DR3.BP', 'Gaia_DR3.RP'].map((n) =>
      abMagFromFnu(zeroPointFnu({ kind: 'vega_spectrum', vega_mag: 0.023 }, synth(n, vegaFnu))),
    );
    [0.11, 0.02, 0.36].forEach((v, i) => expect(Math.abs(offsets[i]! - v)).toBeLessThan(0.03));
    // the method's 3631 Jy for Gaia is off by exactly these offsets: 0.02-0.36 mag
    expect(Math.max(...offsets)).toBeGreaterThan(0.3);
  });

  it('gives each band its zero point: AB 3631 Jy, a published Vega zero point, Vega through the curve', () => {
    const zp = bandZeroPoints(
      grid,
      vegaFnu,
      [
        { filter: filters['Gaia_DR3.G']!, system: { kind: 'ab' } },
        { filter: filters['2MASS.J']!, system: { kind: 'vega_zp', zero_point_jy: 1594 } },
        { filter: filters['Gaia_DR3.G']!, system: { kind: 'vega_spectrum', vega_mag: 0.023 } },
      ],
      'photon',
    );
    expect(zp[0]).toBe(AB_ZERO_FNU_CGS);
    expect(zp[1]! / 1e-23).toBeCloseTo(1594, 9);
    // Gaia G: Vega's flux through G, dimmed by Vega's 0.023 mag: AB - Vega = 0.11 (Riello et al. 2021)
    expect(Math.abs(abMagFromFnu(zp[2]!) - 0.11)).toBeLessThan(0.03);
  });

  it('tells systems apart by kind and value: Gaia VEGAMAG is Vega at 0.023, not at 0', () => {
    expect(sameSystem({ kind: 'ab' }, magSystemOf('AB'))).toBe(true);
    expect(sameSystem({ kind: 'ab' }, { kind: 'st' })).toBe(false);
    expect(sameSystem({ kind: 'vega_spectrum', vega_mag: 0.023 }, GAIA_VEGAMAG)).toBe(true);
    expect(sameSystem(magSystemOf('Vega'), GAIA_VEGAMAG)).toBe(false);
    expect(sameSystem({ kind: 'vega_zp', zero_point_jy: 1594 }, { kind: 'vega_zp', zero_point_jy: 1594 })).toBe(true);
    expect(sameSystem({ kind: 'vega_zp', zero_point_jy: 1594 }, { kind: 'vega_zp', zero_point_jy: 1024 })).toBe(false);
    expect(sameSystem({ kind: 'vega_zp', zero_point_jy: 0 }, { kind: 'vega_spectrum', vega_mag: 0 })).toBe(false);
  });

  it('uses the 2MASS zero points of Cohen et al. (2003): 1594 Jy is AB 0.894', () => {
    expect(abMagFromFnu(zeroPointFnu({ kind: 'vega_zp', zero_point_jy: 1594 }, null))).toBeCloseTo(0.894, 3);
  });

  it('converts ST and Vega magnitudes to AB through the curve: the STScI zero points of ACS F814W, the 2MASS offsets', () => {
    const offset = (name: string, system: Parameters<typeof zeroPointFnu>[0]) =>
      abOffset(bandZeroPoints(grid, vegaFnu, [{ filter: filters[name]!, system }], 'photon')[0]!);
    // ST: m_AB - m_ST = -5 log10(pivot / A) + 18.692 (the definitions of the two systems)
    for (const n of ['HST_ACS_WFC.F814W', 'HST_WFC3_UVIS.F275W'])
      expect(offset(n, { kind: 'st' }), n).toBeCloseTo(-5 * Math.log10(pivotWavelength(filters[n]!)) + 18.6921, 3);
    // ACS/WFC F814W zero points (STScI): ABMAG 25.937, STMAG 26.776, VEGAMAG 25.517
    expect(Math.abs(offset('HST_ACS_WFC.F814W', { kind: 'st' }) - (25.937 - 26.776))).toBeLessThan(0.005);
    expect(
      Math.abs(offset('HST_ACS_WFC.F814W', { kind: 'vega_spectrum', vega_mag: 0 }) - (25.937 - 25.517)),
    ).toBeLessThan(0.01);
    // 2MASS AB - Vega (Blanton & Roweis 2007): J 0.91, H 1.39, Ks 1.85
    [0.91, 1.39, 1.85].forEach((v, i) => {
      const n = ['2MASS.J', '2MASS.H', '2MASS.Ks'][i]!;
      expect(Math.abs(offset(n, { kind: 'vega_spectrum', vega_mag: 0 }) - v), n).toBeLessThan(0.025);
    });
  });

  it('HST AB - Vega from the bundled curves and Vega agree with the STScI zero points to 0.02 mag; Vega -> AB -> Vega is exact', async () => {
    // ACS/WFC and WFC3 ABMAG - VEGAMAG zero points (STScI zero-point tables)
    const published: Record<string, number> = {
      'HST_ACS_WFC.F435W': -0.1,
      'HST_ACS_WFC.F475W': -0.1,
      'HST_ACS_WFC.F606W': 0.09,
      'HST_ACS_WFC.F814W': 0.42,
      'HST_WFC3_UVIS.F275W': 1.5,
      'HST_WFC3_UVIS.F336W': 1.18,
      'HST_WFC3_IR.F110W': 0.76,
      'HST_WFC3_IR.F160W': 1.25,
    };
    for (const [n, v] of Object.entries(published)) {
      const zp = bandZeroPoints(
        grid,
        vegaFnu,
        [{ filter: await load(n), system: { kind: 'vega_spectrum', vega_mag: 0 } }],
        'photon',
      )[0]!;
      expect(Math.abs(abOffset(zp) - v), n).toBeLessThan(0.02);
      // a Vega magnitude to AB and back: the same offset added and taken away
      for (const m of [12.345, 21.9, 27.01]) expect(m + abOffset(zp) - abOffset(zp)).toBeCloseTo(m, 12);
    }
  });

  it('names the closest known filters for an unknown name', async () => {
    expect(
      closestNames('HST_ACS_WFC.F457W', ['HST_ACS_WFC.F475W', 'HST_ACS_WFC.F435W', 'PS1.g', '2MASS.J'], 2),
    ).toEqual(['HST_ACS_WFC.F435W', 'HST_ACS_WFC.F475W']);
    const err = await unknownFilterError(DATA, 'F475W', 'config sed.output_filters.0');
    expect(err.message).toMatch(
      /^config sed\.output_filters\.0: unknown filter; closest known: HST_ACS_WFC\.F475W, HST_WFC3_UVIS\.F475W, .*got "F475W"$/,
    );
  });

  it('refuses a filter that transmits beyond the model grid', async () => {
    const w1 = await loadFilter(DATA, 'WISE.W1');
    expect(() => bandWeights(w1, grid)).toThrow(/WISE\.W1 transmits at \d+ A, outside the model grid 100-25000 A/);
  });
});

describe('consistency check (method section 3.4)', () => {
  it('compares each predicted HST magnitude with the ground band nearest in pivot wavelength', () => {
    const plan = {
      nInput: 3,
      inputNames: ['g', 'i', 'J'],
      inputPivots_aa: [5000, 8000, 12400],
      outputs: [
        { name: 'F475W', pivot_aa: 4750 },
        { name: 'F814W', pivot_aa: 8050 },
        { name: 'F160W', pivot_aa: 15400 },
      ],
      families: {},
    };
    // measured AB 20, 19, 18 in g, i, J; J not measured for this source
    const obs = {
      band: Int32Array.from([0, 1]),
      flux_fnu: Float64Array.from([fnuFromMag(20, AB_ZERO_FNU_CGS), fnuFromMag(19, AB_ZERO_FNU_CGS)]),
      flux_err_fnu: Float64Array.from([1, 1]),
    };
    const out = consistencyOffsets(plan, obs, [20.1, 18.8, null], ['F475W', 'F814W', 'F160W', 'F999W']);
    expect(out.map((o) => [o.output, o.band])).toEqual([
      ['F475W', 0],
      ['F814W', 1],
    ]);
    expect(out[0]!.offset_mag).toBeCloseTo(0.1, 9);
    expect(out[1]!.offset_mag).toBeCloseTo(-0.2, 9);
  });
});

describe('model families', () => {
  it('has the paper grid sizes: 81 power laws, 73 blackbodies, 6 disk fractions, 36 Pickles dwarfs', () => {
    expect(POWER_LAW_ALPHAS).toHaveLength(81);
    expect(POWER_LAW_ALPHAS[0]).toBe(-2.5);
    expect(POWER_LAW_ALPHAS.at(-1)).toBe(1.5);
    expect(POWER_LAW_ALPHAS).toContain(-0.45);
    expect(BLACKBODY_TEMPERATURES_K).toHaveLength(73);
    expect(BLACKBODY_TEMPERATURES_K.slice(0, 2)).toEqual([2000, 2250]);
    expect(BLACKBODY_TEMPERATURES_K.slice(31, 33)).toEqual([9750, 10000]);
    expect(DISK_FRACTIONS).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5]);
    expect(PICKLES_DWARFS.map(picklesTypeName).slice(0, 6)).toEqual(['O5V', 'O9V', 'B0V', 'B1V', 'B3V', 'B5-7V']);
    expect(PICKLES_DWARFS).toHaveLength(36);
  });

  it("puts the blackbody's f_nu peak where Wien's law for frequency says (lambda = c / (5.879e10 Hz/K * T))", () => {
    const bb = blackbodyFnu(grid, 6000);
    let imax = 0;
    bb.forEach((v, i) => (imax = v > bb[imax]! ? i : imax));
    expect(Math.abs(grid.wavelength_aa[imax]! - 2.99792458e18 / (5.879e10 * 6000))).toBeLessThan(10);
  });

  it('makes f_disk the disk share of f_nu at 5500 A', () => {
    const k5 = new Float64Array(grid.wavelength_aa.length).map((_, i) => (grid.wavelength_aa[i]! / 5500) ** 2);
    const mix = twoComponentFnu(grid, k5, 0.3);
    expect(meanFnu(grid, mix)).toBeCloseTo(1, 12);
    // far in the blue the star has almost nothing: what is left is the flat disk
    expect(mix[grid.wavelength_aa.indexOf(1000)]).toBeCloseTo(0.7 * meanFnuNormalised(k5, 1000) + 0.3, 10);
  });

  it('extends the quasar composite redward continuously with its fitted red slope', async () => {
    const comp = await loadComposite(DATA, 'templates/vandenberk2001_composite.txt');
    const { fnu, beta } = compositeFnu(grid, comp.wavelength_aa, comp.flux_flam);
    // Vanden Berk et al. (2001): alpha_nu = -2.45 redward of ~5000 A, i.e. f_nu ~ lambda^2.45
    expect(beta).toBeGreaterThan(1.5);
    expect(beta).toBeLessThan(3.5);
    const i = grid.wavelength_aa.indexOf(8550);
    expect(Math.abs(fnu[i + 1]! / fnu[i]! - 1)).toBeLessThan(0.05);
    expect(fnu[grid.wavelength_aa.indexOf(500)]).toBe(0);
    expect(fnu[grid.wavelength_aa.indexOf(25000)]).toBeGreaterThan(fnu[i]!);
  });

  it('picks the nearest Pickles type when the spectral type is known, all of them otherwise', () => {
    const types = PICKLES_DWARFS.map(picklesTypeName);
    expect(nearestTypes(types, 'G3V').map((i) => types[i])).toEqual(['G2V']);
    expect(nearestTypes(types, 'K6V').map((i) => types[i])).toEqual(['K5V', 'K7V']);
    expect(nearestTypes(types, null)).toHaveLength(36);
    expect(nearestTypes(types, 'WN7')).toHaveLength(36);
  });
});

function meanFnuNormalised(star: Float64Array, at_aa: number): number {
  return star[grid.wavelength_aa.indexOf(at_aa)]! / meanFnu(grid, star);
}

describe('fitting and translation', () => {
  const sigma = { chi2_coeff: 0.1, cap_mag: 1, uv_sigma_mag: 0.4, uv_pivot_aa: 4000 };
  const gaiaVega = { kind: 'vega_spectrum', vega_mag: 0.023 } as const;
  const systems = [
    gaiaVega,
    gaiaVega,
    gaiaVega,
    { kind: 'vega_zp', zero_point_jy: 1594 },
    { kind: 'vega_zp', zero_point_jy: 1024 },
    { kind: 'vega_zp', zero_point_jy: 666.7 },
  ] as const;

  /** Magnitudes of a spectrum in Gaia + 2MASS, fitted back with a family; returns the fit and the true HST magnitudes. */
  function roundTrip(spectrum: Float64Array, set: ModelSet) {
    const inputs = GROUND.map((n) => filters[n]!);
    const plan = preparePlan(
      grid,
      inputs,
      PHAT.map((n) => filters[n]!),
      { blackbody: set },
      'photon',
    );
    const { obs, truth } = observe(spectrum, 0);
    return { t: translateSource(plan, obs, ['blackbody', 'blackbody'], sigma), truth };
  }

  it('fits magnitudes of a 6,000 K blackbody back to 6,000 K and predicts HST magnitudes within 0.01', () => {
    const { t, truth } = roundTrip(blackbodyFnu(grid, 6000), blackbodySet(grid));
    expect(t.status).toBe('ok');
    expect(t.model_value).toBe(6000);
    expect(t.chi2_red!).toBeLessThan(1e-6);
    t.mag_ab.forEach((m, i) => expect(Math.abs(m! - truth[i]!), PHAT[i]).toBeLessThan(0.01));
  });

  it('does the same for a Pickles type and a power law', async () => {
    const spectra = await Promise.all(
      PICKLES_DWARFS.map(async (c) => {
        const s = await loadPickles(DATA, picklesFile(c));
        return flambdaToGridFnu(grid, s.wavelength_aa, s.flux_flam);
      }),
    );
    const pickles: ModelSet = {
      family: 'pickles',
      names: PICKLES_DWARFS.map(picklesTypeName),
      values: PICKLES_DWARFS.map(() => null),
      spectra,
    };
    const g2 = PICKLES_DWARFS.indexOf('g2v');
    const p = roundTrip(spectra[g2]!, pickles);
    expect(p.t.model).toBe('G2V');
    p.t.mag_ab.forEach((m, i) => expect(Math.abs(m! - p.truth[i]!)).toBeLessThan(0.01));

    const pl = roundTrip(powerLawSet(grid, [-0.5]).spectra[0]!, powerLawSet(grid));
    expect(pl.t.model_value).toBe(-0.5);
    pl.t.mag_ab.forEach((m, i) => expect(Math.abs(m! - pl.truth[i]!)).toBeLessThan(0.01));
  });

  /** Gaia + 2MASS observation of a spectrum (f_nu scaled to a faint source), 0.01 mag errors raised to the floor (default 0.03). */
  function observe(spectrum: Float64Array, errFloorMag = 0.03) {
    const zps = GROUND.map((n, i) => zeroPointFnu(systems[i]!, synth(n, vegaFnu)));
    const scaled = spectrum.map((v) => v * 1e-27);
    const bands: BandMeasurement[] = GROUND.map((n, i) => ({
      band: i,
      name: n,
      mag: -2.5 * Math.log10(synth(n, scaled) / zps[i]!),
      mag_err: 0.01,
      zero_point_fnu_cgs: zps[i]!,
    }));
    const obs = observationFromMags(bands, { missing_err_frac: 0.1, err_floor_mag: errFloorMag });
    if (!obs.ok) throw new Error(obs.reason);
    return { obs: obs.obs, truth: PHAT.map((n) => abMagFromFnu(synth(n, scaled))) };
  }

  it('reddens a family base-major, A_V = 0 first, dimming 5500 A by 10^(-0.4 A_V A_5500/A_V)', () => {
    const bb = blackbodySet(grid, [4000, 8000]);
    const red = reddenedSet(grid, bb, [0, 1, 2.5], 3.1);
    expect(red.names).toEqual([
      'T=4000K',
      'T=4000K A_V=1',
      'T=4000K A_V=2.5',
      'T=8000K',
      'T=8000K A_V=1',
      'T=8000K A_V=2.5',
    ]);
    expect(red.a_v).toEqual([0, 1, 2.5, 0, 1, 2.5]);
    expect(red.nAv).toBe(3);
    expect(red.spectra[3]).toBe(bb.spectra[1]);
    const i5500 = grid.wavelength_aa.findIndex((l) => l >= 5500);
    const expected = 10 ** (-0.4 * 2.5 * ccm89(grid.wavelength_aa[i5500]!));
    expect(red.spectra[5]![i5500]! / bb.spectra[1]![i5500]!).toBeCloseTo(expected, 10);
    expect(ccm89(5500)).toBeCloseTo(1, 2); // A_V is the extinction at V
  });

  it('translates without a label: a reddened 6,000 K blackbody gets its A_V back and HST magnitudes within 0.05', () => {
    const a_vs = [0, 0.5, 1, 1.5, 2, 2.5, 3];
    const inputs = GROUND.map((n) => filters[n]!);
    const bb = reddenedSet(grid, blackbodySet(grid), a_vs, 3.1);
    const families = {
      pickles: reddenedSet(grid, blackbodySet(grid, [3000, 3500]), a_vs, 3.1),
      composite: powerLawSet(grid, [0]),
      powerlaw: powerLawSet(grid),
      blackbody: bb,
      two_component_lmxb: reddenedSet(
        grid,
        { ...blackbodySet(grid, [4500]), family: 'two_component' as const },
        a_vs,
        3.1,
      ),
      two_component_hmxb: reddenedSet(
        grid,
        { ...blackbodySet(grid, [20000]), family: 'two_component' as const },
        a_vs,
        3.1,
      ),
    };
    const plan = preparePlan(
      grid,
      inputs,
      PHAT.map((n) => filters[n]!),
      families,
      'photon',
    );
    const { obs, truth } = observe(redden(grid.wavelength_aa, blackbodyFnu(grid, 6000), 1.5));
    const priors = Object.fromEntries(Object.keys(families).map((k) => [k, 1])) as Record<FamilyKey, number>;
    const t = translateLabelFree(plan, obs, { priors, draws: 0 }, sigma, null);
    expect(t.status).toBe('ok');
    expect(t.family).toBe('blackbody');
    expect(t.model).toBe('T=6000K A_V=1.5');
    expect(t.a_v!).toBeGreaterThan(1);
    expect(t.a_v!).toBeLessThan(2);
    expect(t.family_posterior).toMatch(/^blackbody:0\.\d{3}/);
    // optical/IR within 0.05; in the UV, blueward of every input band, T and A_V trade off
    // and the average moves away from the truth, but the sigma carries that spread
    t.mag_ab.forEach((m, i) =>
      expect(Math.abs(m! - truth[i]!), PHAT[i]).toBeLessThan(i < 2 ? 2 * t.mag_err[i]! : 0.05),
    );
    expect(t.mag_err[1]!).toBeGreaterThan(
      predictedSigma(t.chi2_red!, pivotWavelength(filters[PHAT[1]!]!), sigma) + 0.001,
    );
    // draws: reproducible from the generator's seed, each a model with its own magnitudes
    const d1 = translateLabelFree(plan, obs, { priors, draws: 20 }, sigma, new Rng(7)).draws;
    const d2 = translateLabelFree(plan, obs, { priors, draws: 20 }, sigma, new Rng(7)).draws;
    expect(d1).toHaveLength(20);
    expect(d1).toEqual(d2);
    for (const d of d1) expect(d.mag_ab[3]! - truth[3]!).toBeLessThan(0.2);
    // a prior of 0 removes a family from the average
    const noBb = translateLabelFree(plan, obs, { priors: { ...priors, blackbody: 0 }, draws: 0 }, sigma, null);
    expect(noBb.family_posterior).not.toMatch(/blackbody/);
    // what a Monte-Carlo draw reads: the same magnitudes and A_V, bit for bit, under priors that change between calls
    for (const [p, full] of [
      [priors, t],
      [{ ...priors, blackbody: 0 }, noBb],
      [priors, t],
    ] as const)
      expect(translateLabelFreeMags(plan, obs, p)).toEqual({ mag_ab: full.mag_ab, a_v: full.a_v });
    // and the method written plainly gives the same bits
    for (const [p, full] of [
      [priors, t],
      [{ ...priors, blackbody: 0 }, noBb],
    ] as const)
      expect(plainLabelFreeMean(plan, obs, p)).toEqual({ mag_ab: full.mag_ab, a_v: full.a_v });
    const twoBands = {
      band: obs.band.slice(0, 2),
      flux_fnu: obs.flux_fnu.slice(0, 2),
      flux_err_fnu: obs.flux_err_fnu.slice(0, 2),
    };
    expect(translateLabelFree(plan, twoBands, { priors, draws: 0 }, sigma, null).status).toBe('failed');
    expect(translateLabelFreeMags(plan, twoBands, priors)).toBeNull();
  });

  it('normalises to the brightest band and computes chi2_red by hand on a 3-band case', () => {
    // one model with fluxes (1, 2, 4); data (2, 3, 8) with sigma 1: anchor is band 2 (8), s = 2
    // residuals: (2 - 2)^2 + (3 - 4)^2 = 1; chi2_red = 1 / (3 - 1) = 0.5
    const table = { nModels: 1, nBands: 3, flux: Float64Array.from([1, 2, 4]) };
    const obs = {
      band: Int32Array.from([0, 1, 2]),
      flux_fnu: Float64Array.from([2, 3, 8]),
      flux_err_fnu: Float64Array.from([1, 1, 1]),
    };
    expect(fitGrid(obs, table)).toEqual({ ok: true, model: 0, chi2_red: 0.5, scale: 2, anchor: 2 });
  });

  it('computes predicted-magnitude sigmas by Eqs. 4-5', () => {
    expect(predictedSigma(4, 8000, sigma)).toBeCloseTo(0.2, 12);
    expect(predictedSigma(1e6, 8000, sigma)).toBe(1);
    expect(predictedSigma(4, 2710, sigma)).toBeCloseTo(Math.hypot(0.2, 0.4), 12);
  });

  it('falls back when the primary family fails, and records why both failed', () => {
    const inputs = GROUND.map((n) => filters[n]!);
    const zero: ModelSet = {
      family: 'composite',
      names: ['dark'],
      values: [null],
      spectra: [new Float64Array(grid.wavelength_aa.length)],
    };
    const plan = preparePlan(
      grid,
      inputs,
      [filters['HST_ACS_WFC.F814W']!],
      { composite: zero, blackbody: blackbodySet(grid) },
      'photon',
    );
    const obs = {
      band: Int32Array.from([0, 1, 2]),
      flux_fnu: Float64Array.from([1e-26, 8e-27, 1.1e-26]),
      flux_err_fnu: Float64Array.from([1e-28, 1e-28, 1e-28]),
    };
    const t = translateSource(plan, obs, ['composite', 'blackbody'], sigma);
    expect(t.status).toBe('ok');
    expect(t.used_fallback).toBe(true);
    expect(t.family).toBe('blackbody');
    const both = translateSource(plan, obs, ['composite', 'composite'], sigma);
    expect(both).toMatchObject({
      status: 'failed',
      reason: 'composite: no model has flux in the anchor band; composite: no model has flux in the anchor band',
    });
    expect(translateSource(plan, obs, null, sigma)).toMatchObject({
      status: 'skipped',
      reason: 'class is not SED-translated',
    });
  });

  it('records bad input as a reason: NaN, negative flux, missing errors, fewer than 3 bands', () => {
    const zp = AB_ZERO_FNU_CGS;
    const b = (band: number, mag: number | null, mag_err: number | null): BandMeasurement => ({
      band,
      name: `b${band}`,
      mag,
      mag_err,
      zero_point_fnu_cgs: zp,
    });
    expect(observationFromMags([b(0, Number.NaN, 0.1)], { missing_err_frac: 0.1, err_floor_mag: 0 })).toEqual({
      ok: false,
      reason: 'band b0: magnitude NaN is not a finite number',
    });
    expect(observationFromFluxes([{ band: 0, name: 'g', flux_fnu: -1e-27, flux_err_fnu: 1e-28 }])).toEqual({
      ok: false,
      reason: 'band g: flux -1e-27 is not positive',
    });
    const r = observationFromMags([b(0, 15, null), b(1, null, null), b(2, 16, 0.05)], {
      missing_err_frac: 0.1,
      err_floor_mag: 0,
    });
    expect(r.ok && Array.from(r.obs.band)).toEqual([0, 2]);
    expect(r.ok && r.obs.flux_err_fnu[0]! / r.obs.flux_fnu[0]!).toBeCloseTo(0.1, 12);
    expect(r.ok && r.obs.flux_err_fnu[1]! / r.obs.flux_fnu[1]!).toBeCloseTo((Math.LN10 / 2.5) * 0.05, 12);
    const table = { nModels: 1, nBands: 3, flux: Float64Array.from([1, 1, 1]) };
    expect(fitGrid(r.ok ? r.obs : (undefined as never), table)).toEqual({
      ok: false,
      reason: 'fewer than 3 valid bands (2)',
    });
  });

  it("maps classes to families as the method's Table 2, and class-blind to Pickles/blackbody", () => {
    expect(PAPER_ASSIGNMENT['AGN']).toEqual(['composite', 'powerlaw']);
    expect(PAPER_ASSIGNMENT['HMXB']).toEqual(['two_component_hmxb', 'blackbody']);
    expect(PAPER_ASSIGNMENT['CV']).toEqual(['two_component_lmxb', 'blackbody']);
    expect(PAPER_ASSIGNMENT['SNR']).toBeNull();
    expect(CLASS_BLIND_ASSIGNMENT['AGN']).toEqual(['pickles', 'blackbody']);
    expect(CLASS_BLIND_ASSIGNMENT['SNR']).toBeNull();
  });
});
