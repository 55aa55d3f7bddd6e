import { computeFeatures, type FeatureInput, type FeatureSpec } from '../features.js';
import type { Rng } from '../rng.js';
import { InputError } from '../errors.js';
import type { ClassifyParams, MagnitudeColumn } from '../../schemas/catalog.js';
import type { InputBand } from '../../schemas/sed.js';
import { observationFromMags, type BandMeasurement, type ObservationResult } from '../sed/photometry.js';
import type { Observation } from '../sed/fit.js';
import { abOffset, GAIA_VEGAMAG, magSystemOf, sameSystem, type MagSystem } from '../sed/systems.js';
import {
  translateLabelFree,
  translateLabelFreeMags,
  unfittable,
  type LabelFreeOptions,
  type TranslateMany,
  type Translation,
  type TranslationPlan,
  type UncertaintyOptions,
} from '../sed/translate.js';
import { AB_ZERO_FNU_CGS } from '../sed/units.js';
import {
  drawFlux,
  drawMagnitude,
  drawTranslation,
  type DrawOutcome,
  type TranslatedMags,
} from '../uncertainty/montecarlo.js';
import type { TwoStageModel } from '../forest/two-stage.js';

/**
 * The science of classifying a target, free of I/O: its magnitudes in each band's system
 * and in AB, one value per filter, and its feature inputs (HST magnitudes observed where a
 * catalog has the filter, otherwise translated label-free by the code that translated the
 * training sources; the Gaia features in Gaia's VEGAMAG, as the training sources had them).
 */

/** The Gaia bands the features read, and their feature names. */
export const GAIA_FEATURE_BANDS = {
  'Gaia_DR3.G': 'gaia_g',
  'Gaia_DR3.BP': 'gaia_bp',
  'Gaia_DR3.RP': 'gaia_rp',
} as const;

/** A magnitude column as classify uses it: filter, system, f_nu of magnitude 0. */
export interface Band {
  filter: string;
  system: MagSystem;
  zero_point: number;
}

/** One observed band of one source, in its catalog's system and in AB. */
export interface Observed {
  filter: string;
  mag: number;
  err: number | null;
  zero_point: number;
  system: MagSystem;
  mag_ab: number;
  source: string;
}

/** A table's or catalog's magnitudes (`band`: the index of its column's Band) as observed bands of `source`. */
export function observedOf(
  mags: readonly { band: number; mag: number; err: number | null }[],
  bands: readonly Band[],
  source: string,
): Observed[] {
  return mags.map((m) => {
    const b = bands[m.band]!;
    return {
      filter: b.filter,
      mag: m.mag,
      err: m.err,
      zero_point: b.zero_point,
      system: b.system,
      mag_ab: m.mag + abOffset(b.zero_point),
      source,
    };
  });
}

/** One value per filter: the smallest error where two catalogs measure the same band (the first on a tie). */
export function bestPerFilter(obs: readonly Observed[]): Map<string, Observed> {
  const byFilter = new Map<string, Observed>();
  for (const o of obs) {
    const had = byFilter.get(o.filter);
    if (!had || (o.err ?? Infinity) < (had.err ?? Infinity)) byFilter.set(o.filter, o);
  }
  return byFilter;
}

/** Astrometry a target carries (its own, else its first counterpart's). */
export interface TargetAstrometry {
  parallax_mas: number | null;
  parallax_err_mas: number | null;
  dist_geo_pc: number | null;
  pm_total_masyr: number | null;
}

/** What the feature inputs read of an X-ray source besides its bands. */
export interface TargetSource {
  /** the 95% major semi-axis, arcsec: the training table's position error (the `sigma_eff` feature) */
  pos_err_95_arcsec: number | null;
  significance: number | null;
  var_p_intra: number | null;
  var_p_inter: number | null;
  a_v: number | null;
}

/** The model's translation, with the target's bands as its inputs. */
export interface TargetTranslation {
  /** the target's input filters, in the order of the plan's inputs */
  inputNames: readonly string[];
  plan: TranslationPlan;
  missing_err_frac: number;
  err_floor_mag: number;
  labelFree: LabelFreeOptions;
  sigma: UncertaintyOptions;
  /** Gaia's VEGAMAG zero point through each Gaia band the target has */
  gaiaZp: ReadonlyMap<string, number>;
}

/** A target's bands as the fit's observation (in the plan's input bands), and the names of the bands it uses. */
export function targetObservation(
  env: Pick<TargetTranslation, 'inputNames' | 'missing_err_frac' | 'err_floor_mag'>,
  byFilter: ReadonlyMap<string, Observed>,
): { obsRes: ObservationResult; used: string[] } {
  const { inputNames } = env;
  const measurements: BandMeasurement[] = inputNames.map((f, band) => {
    const o = byFilter.get(f);
    return {
      band,
      name: f,
      mag: o?.mag ?? null,
      mag_err: o?.err ?? null,
      zero_point_fnu_cgs: o?.zero_point ?? AB_ZERO_FNU_CGS,
    };
  });
  const obsRes = observationFromMags(measurements, {
    missing_err_frac: env.missing_err_frac,
    err_floor_mag: env.err_floor_mag,
  });
  const used = obsRes.ok ? Array.from(obsRes.obs.band, (b) => inputNames[b]!) : [];
  return { obsRes, used };
}

/**
 * The label-free fits featureInputs would make for each target's bands (undefined where
 * there is nothing to fit: featureInputs says why), made together, by `many` (the
 * engine's threads) when given, else here. Each fit is the same pure function of its
 * observation wherever it runs, so the results are the same bits.
 */
export async function fitTargets(
  env: TargetTranslation,
  byFilters: readonly ReadonlyMap<string, Observed>[],
  many?: TranslateMany,
  onChunk?: (done: number, total: number) => void,
): Promise<(Translation | undefined)[]> {
  const at: number[] = [];
  const observations: Observation[] = [];
  byFilters.forEach((byFilter, i) => {
    const { obsRes, used } = targetObservation(env, byFilter);
    if (obsRes.ok && used.length >= 3) {
      at.push(i);
      observations.push(obsRes.obs);
    }
  });
  const fits = many
    ? await many(env.plan, observations, env.labelFree, env.sigma, onChunk)
    : observations.map((o) => translateLabelFree(env.plan, o, env.labelFree, env.sigma, null));
  const out: (Translation | undefined)[] = byFilters.map(() => undefined);
  at.forEach((i, k) => (out[i] = fits[k]));
  return out;
}

/**
 * One set of a source's measurements (as measured, or a Monte-Carlo draw) through
 * translation to the feature inputs: HST magnitudes observed where a catalog has the
 * filter, else translated label-free; the Gaia features in Gaia's VEGAMAG. A draw brings
 * its translation (`given`; null: none); else the fit is made here.
 */
export function featureInputs(
  env: TargetTranslation,
  s: TargetSource,
  byFilter: ReadonlyMap<string, Observed>,
  flux: { s: number | null; m: number | null; h: number | null; b: number | null },
  fixed: { astrometry: TargetAstrometry; nu: number | null },
  given?: TranslatedMags | null,
  fitted?: Translation,
): {
  used: string[];
  t: Pick<Translation, 'status' | 'mag_ab' | 'mag_err' | 'a_v' | 'family' | 'chi2_red' | 'reason'>;
  hstObserved: Record<string, number | null>;
  input: FeatureInput;
} {
  const { plan } = env;
  const { obsRes, used } = targetObservation(env, byFilter);
  // a Monte-Carlo draw brings its translation (null: none); a fit made beforehand (on the engine's threads) is used as made; else the fit itself
  const t: Pick<Translation, 'status' | 'mag_ab' | 'mag_err' | 'a_v' | 'family' | 'chi2_red' | 'reason'> =
    given !== undefined
      ? {
          status: given ? 'ok' : 'failed',
          mag_ab: given?.mag_ab ?? [],
          mag_err: [],
          a_v: given?.a_v ?? null,
          family: null,
          chi2_red: null,
          reason: null,
        }
      : !obsRes.ok || used.length < 3
        ? unfittable(obsRes, used, plan.outputs.length)!
        : (fitted ?? translateLabelFree(plan, obsRes.obs, env.labelFree, env.sigma, null));
  const hstObserved: Record<string, number | null> = {};
  const hstFull: Record<string, number | null> = {};
  plan.outputs.forEach((o, k) => {
    const seen = byFilter.get(o.name);
    const translated = t.status === 'ok' ? (t.mag_ab[k] ?? null) : null;
    hstObserved[o.name] = seen ? seen.mag_ab : null;
    hstFull[o.name] = seen ? seen.mag_ab : translated;
  });
  // the Gaia features in Gaia's own VEGAMAG, as the training sources had them
  const gaia = (filter: keyof typeof GAIA_FEATURE_BANDS): number | null => {
    const o = byFilter.get(filter);
    if (!o) return null;
    if (sameSystem(o.system, GAIA_VEGAMAG)) return o.mag;
    return o.mag_ab - abOffset(env.gaiaZp.get(filter)!);
  };
  const input: FeatureInput = {
    flux_s: flux.s,
    flux_m: flux.m,
    flux_h: flux.h,
    flux_b: flux.b,
    hst_mag: hstFull,
    gaia_g: gaia('Gaia_DR3.G'),
    gaia_bp: gaia('Gaia_DR3.BP'),
    gaia_rp: gaia('Gaia_DR3.RP'),
    pm_total_masyr: fixed.astrometry.pm_total_masyr,
    parallax_mas: fixed.astrometry.parallax_mas,
    parallax_err_mas: fixed.astrometry.parallax_err_mas,
    dist_geo_pc: fixed.astrometry.dist_geo_pc,
    // the training table's position error: the 95% major semi-axis (catalog-rows.ts)
    sigma_eff_arcsec: s.pos_err_95_arcsec,
    nu: fixed.nu,
    significance: s.significance,
    var_p_intra: s.var_p_intra,
    var_p_inter: s.var_p_inter,
    a_v: t.status === 'ok' ? t.a_v : s.a_v,
  };
  return { used, t, hstObserved, input };
}

/**
 * Mapped magnitude columns that would change answers silently, refused with one line:
 * a filter mapped twice in one table (which of the two would be used?), and a survey
 * band (one of the model's SED input bands: Gaia, 2MASS, Pan-STARRS) declared in another
 * system than its survey's unless the column says `system_explicit`.
 */
export function checkMagnitudeColumns(
  file: string,
  columns: readonly MagnitudeColumn[],
  surveyBands: readonly InputBand[],
): void {
  const seen = new Map<string, string>();
  for (const c of columns) {
    const before = seen.get(c.filter);
    if (before !== undefined)
      throw new InputError(
        { file, row: 1, column: c.column, value: c.filter },
        `expected one column per filter in a table (${before} is mapped to ${c.filter} too)`,
      );
    seen.set(c.filter, c.column);
    const survey = surveyBands.find((b) => b.filter === c.filter);
    if (survey && c.system_explicit !== true && !sameSystem(magSystemOf(c.system), survey.system))
      throw new InputError(
        { file, row: 1, column: c.column, value: JSON.stringify(c.system) },
        `expected ${c.filter} in its survey's system ${JSON.stringify(survey.system)} (set "system_explicit": true in the mapping if the column really is in another)`,
      );
  }
}

/** Every filter curve a classify step reads for its magnitude columns. */
export function classifyFilters(p: Pick<ClassifyParams, 'mapping' | 'photometry'>): string[] {
  const cols = [...(p.mapping.magnitudes ?? []), ...p.photometry.flatMap((c) => c.mapping.magnitudes)];
  return [...new Set(cols.map((m) => m.filter))];
}

/** The measured X-ray fluxes of a target, with their 1-sigma errors. */
export type TargetFluxes = Record<'s' | 'm' | 'h' | 'b', { value: number | null; err: number | null }>;

/**
 * Monte-Carlo draws of a target for the X-ray-only model: the fluxes alone, drawn as
 * predict draws a training source's (xrayDrawFeatures), each through the features.
 */
export function xrayOnlyDraws(
  input: FeatureInput,
  flux: TargetFluxes,
  spec: FeatureSpec,
  draws: number,
  rng: Rng,
): (number | null)[][] {
  const rows: (number | null)[][] = [];
  for (let d = 0; d < draws; d++) {
    const [fs, fm, fh, fb] = (['s', 'm', 'h', 'b'] as const).map((b) => drawFlux(flux[b].value, flux[b].err, rng));
    rows.push(computeFeatures({ ...input, flux_s: fs!, flux_m: fm!, flux_h: fh!, flux_b: fb! }, spec));
  }
  return rows;
}

/** What a target's Monte-Carlo draws for the full model read (fullModelDraws is a pure function of it). */
export interface DrawTarget {
  s: TargetSource & { flux: TargetFluxes };
  byFilter: ReadonlyMap<string, Observed>;
  fixed: { astrometry: TargetAstrometry; nu: number | null };
  /** the seed of the source's own generator */
  seed: number;
}

/** Many targets' draws for the full model through it (imputed with `medians`), summarised per target, as the engine's threads make them. */
export type DrawPredictMany = (
  env: TargetTranslation,
  spec: FeatureSpec,
  mc: { draws: number; translation: 'exact' | 'linear' },
  targets: readonly DrawTarget[],
  model: TwoStageModel,
  medians: readonly (number | null)[],
  onChunk?: (done: number, total: number) => void,
) => Promise<DrawOutcome[]>;

/**
 * Monte-Carlo draws of a target for the full model: its fluxes and every observed band's
 * magnitude drawn from their errors, each draw through translation (a fit of its input-band
 * magnitudes, or, `linear`, the measured fit moved by its Jacobian) and the features.
 */
export function fullModelDraws(
  env: TargetTranslation,
  s: TargetSource & { flux: TargetFluxes },
  byFilter: ReadonlyMap<string, Observed>,
  fixed: { astrometry: TargetAstrometry; nu: number | null },
  spec: FeatureSpec,
  mc: { draws: number; translation: 'exact' | 'linear' },
  rng: Rng,
): (number | null)[][] {
  const { inputNames } = env;
  const rows: (number | null)[][] = [];
  const magsOf = (bands: ReadonlyMap<string, Observed>) => inputNames.map((f) => bands.get(f)?.mag ?? null);
  const translated = drawTranslation(mc.translation, magsOf(byFilter), (mags) => {
    const stepped = new Map(byFilter);
    inputNames.forEach((f, k) => {
      const o = byFilter.get(f);
      if (o && mags[k] !== null) stepped.set(f, { ...o, mag: mags[k]!, mag_ab: mags[k]! + abOffset(o.zero_point) });
    });
    // featureInputs' fit of these bands, its magnitudes and A_V alone (what the features read)
    const { obsRes, used } = targetObservation(env, stepped);
    return obsRes.ok && used.length >= 3 ? translateLabelFreeMags(env.plan, obsRes.obs, env.labelFree.priors) : null;
  });
  for (let d = 0; d < mc.draws; d++) {
    const flux = {
      s: drawFlux(s.flux.s.value, s.flux.s.err, rng),
      m: drawFlux(s.flux.m.value, s.flux.m.err, rng),
      h: drawFlux(s.flux.h.value, s.flux.h.err, rng),
      b: drawFlux(s.flux.b.value, s.flux.b.err, rng),
    };
    const bands = new Map<string, Observed>();
    for (const [f, o] of byFilter) {
      const mag = drawMagnitude(o.mag, o.err, rng, env.err_floor_mag, env.missing_err_frac)!;
      bands.set(f, { ...o, mag, mag_ab: mag + abOffset(o.zero_point) });
    }
    rows.push(computeFeatures(featureInputs(env, s, bands, flux, fixed, translated(magsOf(bands))).input, spec));
  }
  return rows;
}
