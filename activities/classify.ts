import { join } from 'node:path';
import { computeFeatures, featureNames, imputeMatrix, type FeatureInput } from '../lib/features.js';
import { predictTwoStage, type TwoStagePrediction } from '../lib/forest/two-stage.js';
import { drawFlux, drawMagnitude, drawTranslation, type TranslatedMags } from '../lib/uncertainty/montecarlo.js';
import { neighbourScores } from '../lib/uncertainty/neighbours.js';
import { describeRule } from '../lib/uncertainty/rule.js';
import { predictDraws } from './montecarlo.js';
import { sourceRng } from './sed.js';
import { classifyVerdicts, readCalibration } from './classify-uncertainty.js';
import { InputError } from '../lib/errors.js';
import { canonicalJson } from '../lib/canonical.js';
import { DEFAULT_GRID } from '../lib/sed/grid.js';
import { pivotWavelength, type Filter } from '../lib/sed/filters.js';
import { abOffset, bandZeroPoints, observationFromMags, spectrumFnuOnGrid, type BandMeasurement, type MagSystem } from '../lib/sed/photometry.js';
import { AB_ZERO_FNU_CGS } from '../lib/sed/units.js';
import { preparePlan, translateLabelFree, unfittable, type Translation } from '../lib/sed/translate.js';
import { calibration, confusionMatrix } from '../lib/metrics/classification.js';
import { normalisedRows, summariseConfusion } from '../lib/metrics/summary.js';
import {
  ClassifyContext,
  ClassifyParams,
  matchesTable,
  matchSummaryTable,
  targetFeaturesTable,
  targetMagsTable,
  targetsTable,
  classifyClassMixTable,
  type MagnitudeColumn,
  type MagSystemName,
  type TargetFeatureRow,
  type TargetMagRow,
  type TargetRow,
} from '../schemas/catalog.js';
import { confusionTable, metricsTable, type ConfusionRow, type MetricRow } from '../schemas/evaluation.js';
import { predictionsTable, probabilitiesTable } from '../schemas/model.js';
import type { RawFileRef } from '../schemas/artifact.js';
import type { InputBand } from '../schemas/sed.js';
import { readTargetTable } from './io/target-table.js';
import { readPhotometry, readXraySources, type Magnitude, type XraySourceRow } from './io/catalog-rows.js';
import { filterFileName, loadFilter, loadVega, sedDataFiles } from './io/sed-data.js';
import { loadModel, modelNeighbourReference, modelTranslation, predictionTables, type PredictionExtras } from './io/model.js';
import { verifyRawFile } from './io/raw-file.js';
import { checkClass, type NoDataCounts } from './io/validate.js';
import { buildFamilies } from './translation.js';
import { matchCounterparts, type LoadedCatalog } from './classify-match.js';
import { defineStage, yieldToEventLoop } from './stage.js';

/** Sources whose Monte-Carlo draws are predicted at once. */
const MC_CHUNK = 500;

/** Gaia's VEGAMAG, in which the model's Gaia colour features were measured (Riello et al. 2021). */
const GAIA_SYSTEM: MagSystem = { kind: 'vega_spectrum', vega_mag: 0.023 };
const GAIA_FEATURE_BANDS = { 'Gaia_DR3.G': 'gaia_g', 'Gaia_DR3.BP': 'gaia_bp', 'Gaia_DR3.RP': 'gaia_rp' } as const;

export function magSystemOf(s: MagSystemName): MagSystem {
  if (s === 'AB') return { kind: 'ab' };
  if (s === 'ST') return { kind: 'st' };
  if (s === 'Vega') return { kind: 'vega_spectrum', vega_mag: 0 };
  return s;
}

function sameSystem(a: MagSystem, b: MagSystem): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * Mapped magnitude columns that would change answers silently, refused with one line:
 * a filter mapped twice in one table (which of the two would be used?), and a survey
 * band (one of the model's SED input bands: Gaia, 2MASS, Pan-STARRS) declared in another
 * system than its survey's unless the column says `system_explicit`.
 */
export function checkMagnitudeColumns(file: string, columns: readonly MagnitudeColumn[], surveyBands: readonly InputBand[]): void {
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

/** A magnitude column as the stage uses it: filter, system, f_nu of magnitude 0. */
interface Band {
  filter: string;
  system: MagSystem;
  zero_point: number;
}

/** One observed band of one source, in its catalog's system and in AB. */
interface Observed {
  filter: string;
  mag: number;
  err: number | null;
  zero_point: number;
  system: MagSystem;
  mag_ab: number;
  source: string;
}

/**
 * `classify`: a trained model applied to a field as astronomers have it. An X-ray
 * source list (CSC 2.0, the MUWCLASS layout, XClass's own, or any table through a
 * column mapping) and photometry catalogs (Gaia, 2MASS, Pan-STARRS, HSC, ...) in CSV,
 * TSV, Parquet, VOTable or FITS; magnitudes in AB, Vega or ST converted through the
 * filter curves and the CALSPEC Vega spectrum; counterparts by the method's rule or
 * a Bayesian posterior (classify-match.ts); HST magnitudes observed where the target
 * has them, otherwise translated label-free with the model's own SED settings by the
 * code that translated its training sources; then the model's features and forest.
 * Sources with no counterpart keep their X-ray features; their optical features are
 * imputed with the training medians, and every feature records which it was.
 */
export const classifyStage = defineStage({
  name: 'classify',
  version: 4,
  params: ClassifyParams,
  inputs: { roles: { model: { from: ['train'] }, calibration: { from: ['evaluate'], optional: true } } },
  context: ClassifyContext,
  async run(ctx, p) {
    const { paths, data_dir } = ctx.context;
    const pathOf = (ref: RawFileRef) => {
      const path = paths[ref.name];
      if (path === undefined) throw new Error(`classify: no path for ${ref.name} in the step's context`);
      return path;
    };
    await verifyRawFile(p.table, pathOf(p.table));
    for (const c of p.photometry) await verifyRawFile(c.table, pathOf(c.table));
    const modelRef = ctx.inputs.model;
    const { model, medians, spec } = await loadModel(ctx.store, modelRef);
    const { settings: sed } = await modelTranslation(ctx.store, modelRef);
    const dataFiles = new Map([...sed.data_files, ...p.data_files].map((f) => [f.name, f] as const));
    // the target's bands, in the order of their columns: the translation's input filters
    const inputNames = classifyFilters(p);
    for (const name of [...(await sedDataFiles(sed, data_dir)), ...inputNames.map(filterFileName)]) {
      const ref = dataFiles.get(name);
      if (!ref) throw new Error(`classify: data file ${name} is read but not among the params' data_files`);
      await verifyRawFile(ref, join(data_dir, name));
    }
    checkMagnitudeColumns(p.table.name, p.mapping.magnitudes ?? [], sed.input_bands);
    for (const c of p.photometry) checkMagnitudeColumns(c.table.name, c.mapping.magnitudes, sed.input_bands);
    const noData = p.no_data ?? [];
    const noDataCounts: NoDataCounts = {};
    const file = p.table.name;
    ctx.progress(0, 4, 'reading tables');
    const xrayTable = await readTargetTable(pathOf(p.table), file);
    if (xrayTable.records.length === 0) throw new InputError({ file }, 'no rows to classify');
    const xr = readXraySources(xrayTable, p.mapping, noData);
    Object.assign(noDataCounts, xr.noData);
    const sources = xr.rows;
    const catalogs: LoadedCatalog[] = [];
    for (const c of p.photometry) {
      const t = await readTargetTable(pathOf(c.table), c.table.name);
      if (t.records.length === 0) throw new InputError({ file: c.table.name }, 'the photometry catalog has no rows');
      const rows = readPhotometry(t, c.mapping, noData);
      for (const [k, v] of Object.entries(rows.noData)) noDataCounts[`${c.name}.${k}`] = v;
      catalogs.push({ name: c.name, file: c.table.name, rows: rows.rows });
    }
    if (p.label_map) for (const s of sources) if (s.label !== null) checkClass({ file, row: s.line, column: p.mapping.label! }, s.label, p.label_map);

    // filters, Vega and the zero point of every magnitude column
    const grid = DEFAULT_GRID;
    const filters = new Map<string, Filter>();
    for (const f of inputNames) filters.set(f, await loadFilter(data_dir, f));
    const vega = await loadVega(data_dir, sed.templates.vega);
    const vegaFnu = spectrumFnuOnGrid(grid, vega.wavelength_aa, vega.flux_flam_cgs);
    // once per magnitude column (not per source): its system and the f_nu of magnitude 0
    const bandsOf = (cols: readonly MagnitudeColumn[]): Band[] => {
      const systems = cols.map((c) => magSystemOf(c.system));
      const zps = bandZeroPoints(
        grid,
        vegaFnu,
        cols.map((c, k) => ({ filter: filters.get(c.filter)!, system: systems[k]! })),
        sed.convention,
      );
      return cols.map((c, k) => ({ filter: c.filter, system: systems[k]!, zero_point: zps[k]! }));
    };
    const tableBands = bandsOf(p.mapping.magnitudes ?? []);
    const catalogBands = p.photometry.map((c) => bandsOf(c.mapping.magnitudes));
    const pivots = new Map([...filters].map(([name, f]) => [name, pivotWavelength(f)]));
    // Gaia's VEGAMAG zero point through each Gaia band the target has, for the Gaia features
    const gaiaZp = new Map(
      Object.keys(GAIA_FEATURE_BANDS)
        .filter((f) => filters.has(f))
        .map((f) => [f, bandZeroPoints(grid, vegaFnu, [{ filter: filters.get(f)!, system: GAIA_SYSTEM }], sed.convention)[0]!]),
    );
    const observedOf = (mags: readonly Magnitude[], bands: readonly Band[], source: string): Observed[] =>
      mags.map((m) => {
        const b = bands[m.band]!;
        return { filter: b.filter, mag: m.mag, err: m.err, zero_point: b.zero_point, system: b.system, mag_ab: m.mag + abOffset(b.zero_point), source };
      });

    ctx.progress(1, 4, 'matching counterparts');
    const matched = matchCounterparts(sources, catalogs, p.counterparts, file);

    // the translation plan: the model's SED settings, the target's bands as inputs
    ctx.progress(2, 4, 'translating');
    const families = await buildFamilies(data_dir, sed);
    const outputFilters = await Promise.all(sed.output_filters.map((f) => loadFilter(data_dir, f)));
    const plan = preparePlan(
      grid,
      inputNames.map((f) => filters.get(f)!),
      outputFilters,
      families,
      sed.convention,
    );
    const labelFree = { priors: sed.label_free.priors, draws: 0 };
    const sigma = { chi2_coeff: sed.sigma_chi2_coeff, cap_mag: sed.sigma_cap_mag, uv_sigma_mag: sed.uv_sigma_mag, uv_pivot_aa: sed.uv_pivot_aa };
    const names = featureNames(spec);
    const featureFilters = spec.filters.map((f) => f.name);

    /**
     * One set of a source's measurements (as measured, or a Monte-Carlo draw) through
     * translation to the feature inputs: HST magnitudes observed where a catalog has the
     * filter, else translated label-free; the Gaia features in Gaia's VEGAMAG.
     */
    const featureInputs = (
      s: XraySourceRow,
      byFilter: ReadonlyMap<string, Observed>,
      flux: { s: number | null; m: number | null; h: number | null; b: number | null },
      fixed: { astrometry: { parallax_mas: number | null; pm_total_masyr: number | null }; nu: number | null },
      given?: TranslatedMags | null,
    ) => {
      const measurements: BandMeasurement[] = inputNames.map((f, band) => {
        const o = byFilter.get(f);
        return { band, name: f, mag: o?.mag ?? null, mag_err: o?.err ?? null, zero_point_fnu_cgs: o?.zero_point ?? AB_ZERO_FNU_CGS };
      });
      const obsRes = observationFromMags(measurements, { missing_err_frac: sed.missing_err_frac, err_floor_mag: sed.err_floor_mag });
      const used = obsRes.ok ? Array.from(obsRes.obs.band, (b) => inputNames[b]!) : [];
      // a Monte-Carlo draw brings its translation (null: none); else the fit itself
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
            : translateLabelFree(plan, obsRes.obs, labelFree, sigma, null);
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
        if (sameSystem(o.system, GAIA_SYSTEM)) return o.mag;
        return o.mag_ab - abOffset(gaiaZp.get(filter)!);
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
        sigma_eff_arcsec: s.sigma_eff_arcsec,
        nu: fixed.nu,
        significance: s.significance,
        var_p_intra: s.var_p_intra,
        var_p_inter: s.var_p_inter,
        a_v: t.status === 'ok' ? t.a_v : s.a_v,
      };
      return { used, t, hstObserved, input };
    };
    const mc = p.uncertainty.mc;
    const drawRows: (number | null)[][][] = [];

    const targets: TargetRow[] = [];
    const magsOut: TargetMagRow[] = [];
    const featureRows: TargetFeatureRow[] = [];
    const full: (number | null)[][] = [];
    const observedOnly: (number | null)[][] = [];
    for (const [si, s] of sources.entries()) {
      const cps = catalogs.map((c, ci) => ({ c, choice: matched.choices[ci]![si]! }));
      const obs: Observed[] = observedOf(s.mags, tableBands, 'table');
      let astrometry = { parallax_mas: s.parallax_mas, pm_total_masyr: s.pm_total_masyr };
      cps.forEach(({ c, choice }, ci) => {
        if (choice.index === null) return;
        const row = c.rows[choice.index]!;
        obs.push(...observedOf(row.mags, catalogBands[ci]!, c.name));
        astrometry = {
          parallax_mas: astrometry.parallax_mas ?? row.parallax_mas,
          pm_total_masyr: astrometry.pm_total_masyr ?? row.pm_total_masyr,
        };
      });
      // one value per filter: the smallest error where two catalogs measure the same band
      const byFilter = new Map<string, Observed>();
      for (const o of obs) {
        const had = byFilter.get(o.filter);
        if (!had || (o.err ?? Infinity) < (had.err ?? Infinity)) byFilter.set(o.filter, o);
      }
      const firstChosen = cps.find((x) => x.choice.index !== null)?.choice;
      const fixed = { astrometry, nu: s.nu ?? firstChosen?.nu ?? null };
      const measured = { s: s.flux.s.value, m: s.flux.m.value, h: s.flux.h.value, b: s.flux.b.value };
      const { used, t, hstObserved, input } = featureInputs(s, byFilter, measured, fixed);
      let nObs = 0;
      let nTrans = 0;
      plan.outputs.forEach((o, k) => {
        const seen = byFilter.get(o.name);
        const translated = t.status === 'ok' ? (t.mag_ab[k] ?? null) : null;
        if (seen && featureFilters.includes(o.name)) nObs++;
        else if (translated !== null && featureFilters.includes(o.name)) nTrans++;
        if (seen)
          magsOut.push({ id: s.id, filter: o.name, pivot_aa: o.pivot_aa, mag_ab: seen.mag_ab, mag_err: seen.err, origin: 'observed', source: seen.source });
        else if (translated !== null)
          magsOut.push({
            id: s.id,
            filter: o.name,
            pivot_aa: o.pivot_aa,
            mag_ab: translated,
            mag_err: t.mag_err[k] ?? null,
            origin: 'translated',
            source: 'sed',
          });
      });
      for (const o of byFilter.values())
        if (!plan.outputs.some((x) => x.name === o.filter))
          magsOut.push({
            id: s.id,
            filter: o.filter,
            pivot_aa: pivots.get(o.filter)!,
            mag_ab: o.mag_ab,
            mag_err: o.err,
            origin: 'observed',
            source: o.source,
          });
      // Monte-Carlo draws of the fluxes and magnitudes, each through translation and features (the source's own generator)
      if (mc.draws > 0) {
        const rng = sourceRng(mc.seed, s.id);
        const rows: (number | null)[][] = [];
        // each draw's translation: a fit of its input-band magnitudes, or (`linear`) the measured fit moved by its Jacobian
        const magsOf = (bands: ReadonlyMap<string, Observed>) => inputNames.map((f) => bands.get(f)?.mag ?? null);
        const translated = drawTranslation(mc.translation, magsOf(byFilter), (mags) => {
          const stepped = new Map(byFilter);
          inputNames.forEach((f, k) => {
            const o = byFilter.get(f);
            if (o && mags[k] !== null) stepped.set(f, { ...o, mag: mags[k]!, mag_ab: mags[k]! + abOffset(o.zero_point) });
          });
          const r = featureInputs(s, stepped, measured, fixed).t;
          return r.status === 'ok' ? { mag_ab: r.mag_ab, a_v: r.a_v } : null;
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
            const mag = drawMagnitude(o.mag, o.err, rng, sed.err_floor_mag, sed.missing_err_frac)!;
            bands.set(f, { ...o, mag, mag_ab: mag + abOffset(o.zero_point) });
          }
          rows.push(computeFeatures(featureInputs(s, bands, flux, fixed, translated(magsOf(bands))).input, spec));
        }
        drawRows.push(rows);
      }
      const v = computeFeatures(input, spec);
      const vObs = computeFeatures({ ...input, hst_mag: hstObserved, a_v: s.a_v }, spec);
      full.push(v);
      observedOnly.push(vObs);
      const quality = s.mags.length > 0 ? 'prematched' : (firstChosen?.quality ?? 'none');
      targets.push({
        id: s.id,
        line: s.line,
        ra_deg: matched.positions[si]?.ra_deg ?? s.ra_deg,
        dec_deg: matched.positions[si]?.dec_deg ?? s.dec_deg,
        sigma_eff_arcsec: s.sigma_eff_arcsec,
        significance: s.significance,
        flux_s_cgs: s.flux.s.value,
        flux_s_err_cgs: s.flux.s.err,
        flux_m_cgs: s.flux.m.value,
        flux_m_err_cgs: s.flux.m.err,
        flux_h_cgs: s.flux.h.value,
        flux_h_err_cgs: s.flux.h.err,
        flux_b_cgs: s.flux.b.value,
        flux_b_err_cgs: s.flux.b.err,
        var_p_intra: s.var_p_intra,
        var_p_inter: s.var_p_inter,
        counterparts:
          cps
            .filter((x) => x.choice.index !== null)
            .map((x) => `${x.c.name}:${x.c.rows[x.choice.index!]!.id}`)
            .join(';') || null,
        counterpart_reason:
          [...(s.mags.length > 0 ? ['table: photometry already matched in the X-ray table'] : []), ...cps.map((x) => x.choice.reason)].join('; ') ||
          'no photometry',
        match_quality: quality,
        nu: input.nu,
        hst_provenance: nObs > 0 && nTrans > 0 ? 'mixed' : nObs > 0 ? 'observed' : nTrans > 0 ? 'translated' : 'none',
        n_bands: used.length,
        bands: used.join(','),
        sed_status: t.status === 'ok' ? 'ok' : `${t.status}: ${t.reason}`,
        sed_family: t.family,
        sed_chi2_red: t.chi2_red,
        label: s.label,
      });
      if (si % (mc.draws > 0 ? 50 : 500) === 0) ctx.progress(2, 4, `translating ${si}/${sources.length}`);
      // a source's draws take tens of milliseconds: let the heartbeat timer run between them (Temporal)
      if (mc.draws > 0 && si % 10 === 9) await yieldToEventLoop();
    }

    ctx.progress(3, 4, 'predicting');
    const m = imputeMatrix(full, medians);
    full.forEach((row, i) =>
      row.forEach((value, k) =>
        featureRows.push({
          id: sources[i]!.id,
          feature: names[k]!,
          value,
          used: m.x[k * m.nSamples + i]!,
          provenance: value === null ? 'imputed' : observedOnly[i]![k] === value ? 'observed' : 'translated',
        }),
      ),
    );
    const labelOf = (s: XraySourceRow): string | null => (s.label === null ? null : p.label_map ? (p.label_map[s.label] ?? null) : s.label);
    const single = predictTwoStage(model, m);
    let preds: TwoStagePrediction[] = single;
    let extras: PredictionExtras[] = single.map(() => ({ mc_draws: 0, significance: null, ood_score: null, class_set: null, ood: null }));
    if (mc.draws > 0) {
      // in chunks: 10^4 sources x 100 draws would be 10^6 feature rows at once
      preds = [];
      extras = [];
      for (let at = 0; at < sources.length; at += MC_CHUNK) {
        ctx.progress(3, 4, `predicting Monte-Carlo draws ${at}/${sources.length}`);
        const r = await predictDraws(model, medians, single.slice(at, at + MC_CHUNK), drawRows.slice(at, at + MC_CHUNK), ctx.trees);
        preds.push(...r.preds);
        extras.push(...r.extras.map((x) => ({ ...x, ood_score: null, class_set: null, ood: null })));
      }
    }
    const reference = await modelNeighbourReference(ctx.store, modelRef, p.uncertainty.ood_neighbours);
    const calibration = ctx.inputs.calibration ? await readCalibration(ctx.store, ctx.inputs.calibration, p.uncertainty.conformal_level) : null;
    const verdicts = classifyVerdicts(model, preds, extras, neighbourScores(reference, m), calibration, p.uncertainty);
    preds = verdicts.preds;
    const { rows: out, proba } = predictionTables(
      model,
      preds,
      sources.map((s) => ({ id: s.id, label: labelOf(s), fold: null })),
      verdicts.extras,
    );
    const scoring = selfScore(
      out.map((r, i) => ({ label: r.label, final_class: r.final_class, proba: preds[i]!.proba })),
      model.finalClasses,
      p.scoring ?? { eval_classes: {}, calibration_bins: 10 },
    );
    ctx.progress(4, 4, 'writing');
    const count = <T>(xs: readonly T[], key: (x: T) => string) =>
      xs.reduce<Record<string, number>>((acc, x) => ((acc[key(x)] = (acc[key(x)] ?? 0) + 1), acc), {});
    return {
      table: predictionsTable,
      rows: out,
      extraTables: {
        probabilities: { table: probabilitiesTable, rows: proba },
        targets: { table: targetsTable, rows: targets },
        matches: { table: matchesTable, rows: matched.matches },
        match_summary: { table: matchSummaryTable, rows: matched.summary },
        ...(verdicts.classMix.length > 0 ? { class_mix: { table: classifyClassMixTable, rows: verdicts.classMix } } : {}),
        mags: { table: targetMagsTable, rows: magsOut },
        features: { table: targetFeaturesTable, rows: featureRows },
        ...(scoring ? { metrics: { table: metricsTable, rows: scoring.metrics }, confusion: { table: confusionTable, rows: scoring.confusion } } : {}),
      },
      rawFiles: [p.table, ...p.photometry.map((c) => c.table)],
      notes: {
        classified: out.length,
        final_classes: model.finalClasses,
        by_class: count(out, (r) => r.final_class),
        uncertain: out.filter((r) => r.uncertain).length,
        by_match_quality: count(targets, (r) => r.match_quality),
        by_hst_provenance: count(targets, (r) => r.hst_provenance),
        no_counterpart:
          'sources with no photometry keep their X-ray features; their optical features are imputed with the training medians (provenance `imputed` in table features)',
        imputed_by_feature: Object.fromEntries(names.map((f, k) => [f, m.imputed[k]!])),
        no_data_by_column: noDataCounts,
        scored: scoring ? scoring.n : 0,
        mc_draws: mc.draws,
        calibration: calibration ? { evaluate: calibration.ref.id, protocol: calibration.protocol, level: calibration.level } : null,
        uncertain_rule: describeRule(p.uncertainty.rule, p.uncertainty.conformal_level),
        ...(calibration
          ? {}
          : {
              no_calibration: 'no cross-validation evaluation of this model was found: sources carry no conformal set and no OOD flag (their scores are given)',
            }),
        ...verdicts.notes,
      },
    };
  },
});

/**
 * Balanced accuracy, per-class precision/recall/F1, the confusion matrix and ECE over the
 * rows whose label is known, as `evaluate` scores cross-validation: classes merged by
 * eval_classes, ECE on the maximum of the final probability vector.
 */
function selfScore(
  rows: readonly { label: string | null; final_class: string; proba: Float64Array }[],
  finalClasses: readonly string[],
  s: NonNullable<ClassifyParams['scoring']>,
): { metrics: MetricRow[]; confusion: ConfusionRow[]; n: number } | null {
  const as = (c: string) => s.eval_classes[c] ?? c;
  const scored = rows.flatMap((r) => {
    if (r.label === null) return [];
    let best = 0;
    r.proba.forEach((v, k) => (best = v > r.proba[best]! ? k : best));
    const label = as(r.label);
    return [{ label, final_class: as(r.final_class), maxP: r.proba[best]!, argmaxCorrect: finalClasses[best] === label }];
  });
  if (scored.length === 0) return null;
  const c = confusionMatrix(
    scored.map((r) => r.label),
    scored.map((r) => r.final_class),
  );
  const base = { protocol: 'classify', level: 'full', subset: 'all', statistic: 'pooled', fold: null } as const;
  const cal = calibration(
    scored.map((r) => r.maxP),
    scored.map((r) => r.argmaxCorrect),
    s.calibration_bins,
  );
  const metrics: MetricRow[] = [
    ...summariseConfusion(c).map((v) => ({ ...base, ...v })),
    { ...base, metric: 'ece', class: null, value: cal.ece, n: scored.length },
  ];
  const confusion: ConfusionRow[] = normalisedRows(c).map((r) => ({
    protocol: 'classify',
    level: 'full',
    subset: 'all',
    true_class: r.trueClass,
    predicted_class: r.predictedClass,
    count: r.count,
    fraction: r.fraction,
  }));
  return { metrics, confusion, n: scored.length };
}
