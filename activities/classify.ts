import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeFeatures, featureNames, imputeMatrix } from '../lib/features.js';
import { predictTwoStage, predictTwoStageWith, type TwoStagePrediction } from '../lib/forest/two-stage.js';
import { neighbourScores } from '../lib/uncertainty/neighbours.js';
import { describeRule } from '../lib/uncertainty/rule.js';
import { predictDraws } from './montecarlo.js';
import { sourceRng, sourceSeed } from './translation.js';
import { classifyVerdicts, readCalibration } from './classify-uncertainty.js';
import { InputError } from '../lib/errors.js';
import { DEFAULT_GRID } from '../lib/sed/grid.js';
import { pivotWavelength, type Filter } from '../lib/sed/filters.js';
import { spectrumFnuOnGrid } from '../lib/sed/photometry.js';
import { bandZeroPoints, GAIA_VEGAMAG, magSystemOf } from '../lib/sed/systems.js';
import { preparePlan } from '../lib/sed/translate.js';
import {
  ClassifyContext,
  ClassifyParams,
  counterpartMatchesTable,
  matchSummaryTable,
  targetFeaturesTable,
  targetMagsTable,
  targetsTable,
  classifyClassMixTable,
  counterpartPairsTable,
  populationShiftTable,
  type ClassifyClassMixRow,
  type PopulationShiftRow,
  type MagnitudeColumn,
  type TargetFeatureRow,
  type TargetMagRow,
  type TargetRow,
} from '../schemas/catalog.js';
import { confusionTable, metricsTable } from '../schemas/evaluation.js';
import { predictionsTable, probabilitiesTable, type PredictionRow, type ProbabilityRow } from '../schemas/model.js';
import type { ArtifactRef } from '../schemas/step.js';
import type { RawFileRef } from '../schemas/artifact.js';
import { openTableZones, readTargetTable } from './io/formats/registry.js';
import { declinationZones, inZone, nearZone } from '../lib/sky/zones.js';
import { readPhotometry, readXraySources, type Astrometry, type XraySourceRow } from './io/catalog-rows.js';
import { filterFileName, loadFilter, loadVega, sedDataFiles } from './io/sed-data.js';
import {
  loadModel,
  modelNeighbourReference,
  modelTrainingRows,
  modelTranslation,
  predictionTables,
  type LoadedModel,
  type PredictionExtras,
} from './io/model.js';
import { verifyRawFile } from './io/raw-file.js';
import { checkClass, type NoDataCounts } from './io/validate.js';
import { buildFamilies } from './translation.js';
import { FieldMatch, type LoadedCatalog, type ZoneMatch } from './classify-match.js';
import { mostShifted, populationShift } from '../lib/metrics/shift.js';
import { selfScore } from '../lib/metrics/self-score.js';
import { defineStage, yieldToEventLoop, type InputRefsOf, type StageContext, type StageOutput } from './stage.js';
import {
  bestPerFilter,
  checkMagnitudeColumns,
  classifyFilters,
  fullModelDraws,
  xrayOnlyDraws,
  featureInputs as featureInputsOf,
  fitTargets,
  type DrawTarget,
  GAIA_FEATURE_BANDS,
  observedOf,
  type Band,
  type Observed,
  type TargetTranslation,
} from '../lib/classify/targets.js';
import { countBy, largestFirst } from '../lib/group.js';

/** Which model classifies a target (schemas/catalog.ts targets.model_used). */
type Route = 'full' | 'xray_only';
const ROUTES: readonly Route[] = ['full', 'xray_only'];

/** Counts by key for the notes, the largest first. */
const countLargestFirst = <T>(xs: readonly T[], key: (x: T) => string) => largestFirst(countBy(xs, key));

/** Sources whose Monte-Carlo draws are predicted at once. */
const MC_CHUNK = 500;

/** classify's input roles: the model, its calibration, the X-ray-only model and its calibration. */
const CLASSIFY_INPUTS = {
  roles: {
    model: { from: ['train'] },
    calibration: { from: ['evaluate'], optional: true },
    xray_model: { from: ['train'], optional: true },
    xray_calibration: { from: ['evaluate'], optional: true },
  },
} as const;

/** What classify's phases see of the step. */
type ClassifyStageContext = StageContext<InputRefsOf<(typeof CLASSIFY_INPUTS)['roles'], undefined>, ClassifyContext>;
type MatchedCounterparts = ReturnType<FieldMatch['finish']>;

/**
 * `classify`: a trained model applied to a field as astronomers have it. An X-ray
 * source list (CSC 2.0, the MUWCLASS layout, XClass's own, or any table through a
 * column mapping) and photometry catalogs (Gaia, 2MASS, Pan-STARRS, HSC, ...) in CSV,
 * TSV, Parquet, VOTable or FITS; magnitudes in AB, Vega or ST converted through the
 * filter curves and the CALSPEC Vega spectrum; counterparts by the method's rule or
 * a Bayesian posterior (classify-match.ts); HST magnitudes observed where the target
 * has them, otherwise translated label-free with the model's own SED settings by the
 * code that translated its training sources; then the model's features and forest.
 * A source without every HST magnitude the model reads (no counterpart, too few bands)
 * goes to the X-ray-only model (`xray_model` input) instead of getting imputed optical
 * features; each route has its own medians, draws, OOD reference and calibration, and
 * every feature records whether it was observed, translated or imputed. Per route, the
 * targets' features against the model's training rows (population shift).
 */
export const classifyStage = defineStage({
  name: 'classify',
  version: 5,
  params: ClassifyParams,
  inputs: CLASSIFY_INPUTS,

  context: ClassifyContext,
  tables: {
    data: predictionsTable,
    probabilities: probabilitiesTable,
    targets: targetsTable,
    matches: counterpartMatchesTable,
    match_summary: matchSummaryTable,
    counterpart_pairs: counterpartPairsTable,
    class_mix: classifyClassMixTable,
    mags: targetMagsTable,
    features: targetFeaturesTable,
    population_shift: populationShiftTable,
    metrics: metricsTable,
    confusion: confusionTable,
  },
  async run(ctx, p) {
    const loaded = await loadTargets(ctx, p);
    ctx.progress(1, 4, 'matching counterparts');
    const { matched, prepared } = await matchZones(ctx, p, loaded);
    ctx.progress(2, 4, 'translating');
    const described = await describeTargets(ctx, p, loaded, matched, prepared);
    ctx.progress(3, 4, 'predicting');
    const predicted = await predictTargets(ctx, p, loaded, described);
    ctx.progress(4, 4, 'writing');
    return classifyOutput(ctx, p, loaded, matched, described, predicted);
  },
});

/** The load phase: the raw files verified, the models, the target's tables read, its bands and the translation. */
async function loadTargets(ctx: ClassifyStageContext, p: ClassifyParams) {
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
  // the X-ray-only model for targets without every HST magnitude the full model reads
  const xrayRef = ctx.inputs.xray_model;
  const xray = xrayRef ? await loadModel(ctx.store, xrayRef) : null;
  if (xrayRef && xray && !xray.spec.xray_only)
    throw new InputError(
      { file: `train/${xrayRef.id.slice(0, 12)}`, column: 'feature_spec' },
      'an X-ray-only model as the xray_model input',
    );
  if (xrayRef && xray && xray.model.finalClasses.join(',') !== model.finalClasses.join(','))
    throw new InputError(
      { file: `train/${xrayRef.id.slice(0, 12)}`, column: 'final_classes', value: xray.model.finalClasses.join(',') },
      `the final classes of the full model (${model.finalClasses.join(',')})`,
    );
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
  // rows repeated exactly (overlapping cone searches downloaded together), merged: file -> rows dropped
  const merged: Record<string, number> = xr.merged > 0 ? { [file]: xr.merged } : {};
  const sources = xr.rows;
  if (p.label_map)
    for (const s of sources)
      if (s.label !== null) checkClass({ file, row: s.line, column: p.mapping.label! }, s.label, p.label_map);

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
      .map((f) => [
        f,
        bandZeroPoints(grid, vegaFnu, [{ filter: filters.get(f)!, system: GAIA_VEGAMAG }], sed.convention)[0]!,
      ]),
  );

  // the translation plan: the model's SED settings, the target's bands as inputs
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
  const sigma = {
    chi2_coeff: sed.sigma_chi2_coeff,
    cap_mag: sed.sigma_cap_mag,
    uv_sigma_mag: sed.uv_sigma_mag,
    uv_pivot_aa: sed.uv_pivot_aa,
  };
  const featureFilters = spec.filters.map((f) => f.name);
  const env: TargetTranslation = {
    inputNames,
    plan,
    missing_err_frac: sed.missing_err_frac,
    err_floor_mag: sed.err_floor_mag,
    labelFree,
    sigma,
    gaiaZp,
  };
  return {
    modelRef,
    model,
    medians,
    spec,
    xrayRef,
    xray,
    sed,
    inputNames,
    file,
    sources,
    catalogPaths: p.photometry.map((c) => pathOf(c.table)),
    noData,
    noDataCounts,
    merged,
    tableBands,
    catalogBands,
    pivots,
    plan,
    env,
    featureFilters,
  };
}
type LoadedTargets = Awaited<ReturnType<typeof loadTargets>>;

/** Per source, what the describe phase needs of its counterparts (held instead of the catalogs' rows). */
interface PreparedSource {
  /** one value per filter: the smallest error where two catalogs measure the same band */
  byFilter: Map<string, Observed>;
  fixed: { astrometry: Astrometry; nu: number | null };
  measured: { s: number | null; m: number | null; h: number | null; b: number | null };
  /** `catalog:id` of each counterpart used, `;`-joined */
  counterparts: string | null;
  /** per catalog, why its counterpart was chosen or not */
  reasons: string[];
  /** the first chosen counterpart's match quality */
  firstQuality: string | null;
}

/**
 * The match phase, zone by zone (lib/sky/zones.ts): each zone reads the rows of every
 * photometry catalog within the counterpart search's reach of it (formats/registry.ts
 * readTargetTableNear: CSV, TSV and Parquet cut inside DuckDB's scan), matches its
 * sources and keeps per source its bands and astrometry (PreparedSource), so that one
 * zone's catalog rows are in memory at a time. The zones hold at most the context's
 * `zone_sources` sources each; a field with the frame tie is one zone (its median is over
 * the whole field). Counts, orders and sums follow the field's rows, so the tables are the
 * same bits for any cut (FieldMatch; tests/activities/classify-zones.test.ts).
 */
async function matchZones(ctx: ClassifyStageContext, p: ClassifyParams, loaded: LoadedTargets) {
  const { sources, file, tableBands, catalogBands, catalogPaths, noData, noDataCounts, merged } = loaded;
  const field = new FieldMatch(
    sources,
    p.photometry.map((c) => ({ name: c.name, file: c.table.name })),
    p.counterparts,
    file,
  );
  const perZone =
    p.counterparts.frame_tie || p.photometry.length === 0 ? Infinity : (ctx.context.zone_sources ?? Infinity);
  const zones = declinationZones(
    sources.flatMap((s) => (s.dec_deg === null ? [] : [s.dec_deg])),
    perZone,
  );
  // a degree of declination more than the reach: every candidate, density circle and shifted trial of a zone's sources
  const margin = field.reachArcsec() / 3600 + 1e-6;
  const prepared = new Array<PreparedSource>(sources.length);
  // per catalog: no-data markers (count and first line, to keep the whole table's order of columns), repeats merged, rows owned
  const catNoData = p.photometry.map(() => new Map<string, { n: number; first: number }>());
  const catMerged = p.photometry.map(() => 0);
  const catRows = p.photometry.map(() => 0);
  // with zones: each catalog opened once (a CSV converted by DuckDB to a Parquet file here), then read a band at a time
  const scratch = zones.length > 1 ? await mkdtemp(join(tmpdir(), 'xclass-zones-')) : null;
  try {
    const zoned = scratch
      ? await Promise.all(
          p.photometry.map((c, ci) =>
            openTableZones(
              catalogPaths[ci]!,
              c.table.name,
              c.mapping.dec,
              c.mapping.scales?.[c.mapping.dec] ?? 1,
              scratch,
            ),
          ),
        )
      : null;
    for (const zone of zones) {
      if (zones.length > 1) ctx.progress(1, 4, `matching counterparts: zone ${zone.index + 1}/${zones.length}`);
      // sources without a position are matched to nothing: the first zone takes them
      const idx = sources.flatMap((s, si) =>
        (s.dec_deg === null ? zone.index === 0 : inZone(zone, s.dec_deg)) ? [si] : [],
      );
      const catalogs: LoadedCatalog[] = [];
      const owned: number[] = [];
      for (const [ci, c] of p.photometry.entries()) {
        let rows: ReturnType<typeof readPhotometry>;
        let firstLines = new Map<string, number>();
        if (zones.length === 1) {
          const t = await readTargetTable(catalogPaths[ci]!, c.table.name);
          if (t.records.length === 0)
            throw new InputError({ file: c.table.name }, 'the photometry catalog has no rows');
          rows = readPhotometry(t, c.mapping, noData);
        } else {
          const t = await zoned![ci]!.read(zone.lo - margin, zone.hi + margin);
          rows = readPhotometry(t, c.mapping, noData, {
            near: (dec) => nearZone(zone, dec, margin),
            owns: (dec) => inZone(zone, dec),
          });
          firstLines = rows.firstLines ?? firstLines;
        }
        for (const [k, v] of Object.entries(rows.noData)) {
          const had = catNoData[ci]!.get(k);
          catNoData[ci]!.set(k, {
            n: (had?.n ?? 0) + v,
            first: Math.min(had?.first ?? Infinity, firstLines.get(k) ?? 0),
          });
        }
        catMerged[ci]! += rows.merged;
        const own = zones.length === 1 ? rows.rows.length : rows.owned!;
        catRows[ci]! += own;
        owned.push(own);
        catalogs.push({ name: c.name, file: c.table.name, rows: rows.rows });
      }
      const zm = field.zone(idx, catalogs, owned);
      idx.forEach((si, k) => (prepared[si] = prepareSource(sources[si]!, catalogs, zm, k, tableBands, catalogBands)));
      await yieldToEventLoop();
    }
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
  for (const [ci, c] of p.photometry.entries()) {
    if (catRows[ci] === 0 && zones.length > 1)
      throw new InputError({ file: c.table.name }, 'the photometry catalog has no rows');
    // in the whole table's order of first appearance, as one zone counts them
    for (const [k, v] of [...catNoData[ci]!].sort((a, b) => a[1].first - b[1].first))
      noDataCounts[`${c.name}.${k}`] = v.n;
    if (catMerged[ci]! > 0) merged[c.table.name] = catMerged[ci]!;
  }
  return { matched: field.finish(), prepared };
}

/** One source's counterparts in its zone: its bands (one value per filter), its astrometry and fluxes, the choices' ids and reasons. */
function prepareSource(
  s: XraySourceRow,
  catalogs: readonly LoadedCatalog[],
  zm: ZoneMatch,
  k: number,
  tableBands: readonly Band[],
  catalogBands: readonly (readonly Band[])[],
): PreparedSource {
  const cps = catalogs.map((c, ci) => ({ c, choice: zm.choices[ci]![k]! }));
  const obs: Observed[] = observedOf(s.mags, tableBands, 'table');
  // the table's own astrometry, else the first counterpart's (a parallax with its own error and distance)
  let astrometry: Astrometry = {
    parallax_mas: s.parallax_mas,
    parallax_err_mas: s.parallax_err_mas,
    dist_geo_pc: s.dist_geo_pc,
    pm_total_masyr: s.pm_total_masyr,
  };
  cps.forEach(({ c, choice }, ci) => {
    if (choice.index === null) return;
    const row = c.rows[choice.index]!;
    obs.push(...observedOf(row.mags, catalogBands[ci]!, c.name));
    astrometry = {
      ...(astrometry.parallax_mas === null
        ? { parallax_mas: row.parallax_mas, parallax_err_mas: row.parallax_err_mas, dist_geo_pc: row.dist_geo_pc }
        : {
            parallax_mas: astrometry.parallax_mas,
            parallax_err_mas: astrometry.parallax_err_mas,
            dist_geo_pc: astrometry.dist_geo_pc,
          }),
      pm_total_masyr: astrometry.pm_total_masyr ?? row.pm_total_masyr,
    };
  });
  const firstChosen = cps.find((x) => x.choice.index !== null)?.choice;
  return {
    byFilter: bestPerFilter(obs),
    fixed: { astrometry, nu: s.nu ?? firstChosen?.nu ?? null },
    measured: { s: s.flux.s.value, m: s.flux.m.value, h: s.flux.h.value, b: s.flux.b.value },
    counterparts:
      cps
        .filter((x) => x.choice.index !== null)
        .map((x) => `${x.c.name}:${x.c.rows[x.choice.index!]!.id}`)
        .join(';') || null,
    reasons: cps.map((x) => x.choice.reason),
    firstQuality: firstChosen?.quality ?? null,
  };
}

/**
 * The first compute phase: per source, its observed bands (one per filter), its
 * astrometry, its feature inputs (translated where a band is missing), the model that
 * takes it, its magnitudes and its Monte-Carlo draws through translation and features.
 */
async function describeTargets(
  ctx: ClassifyStageContext,
  p: ClassifyParams,
  loaded: LoadedTargets,
  matched: MatchedCounterparts,
  prepared: readonly PreparedSource[],
) {
  const { sources, env, spec, xray, plan, featureFilters, pivots, modelRef, xrayRef } = loaded;
  const featureInputs = (...args: Parameters<typeof featureInputsOf> extends [unknown, ...infer R] ? R : never) =>
    featureInputsOf(env, ...args);
  const mc = p.uncertainty.mc;
  const drawRows: (number | null)[][][] = [];
  const toDraw: DrawTarget[] = [];
  const toDrawAt: number[] = [];
  const routes: Route[] = [];

  const targets: TargetRow[] = [];
  const magsOut: TargetMagRow[] = [];
  const full: (number | null)[][] = [];
  const observedOnly: (number | null)[][] = [];
  // every source's label-free fit at once, on the engine's threads when it has them
  const fits = await fitTargets(
    env,
    prepared.map((x) => x.byFilter),
    ctx.trees?.translate,
    (done, total) => ctx.progress(2, 4, `translating ${done}/${total}`),
  );
  for (const [si, s] of sources.entries()) {
    const { byFilter, fixed, measured, counterparts, reasons, firstQuality } = prepared[si]!;
    const { used, t, hstObserved, input } = featureInputs(s, byFilter, measured, fixed, undefined, fits[si]);
    // a source without every HST magnitude the full model reads would get imputed optical features: the X-ray-only model takes it
    const route: Route =
      xray !== null && !spec.filters.every((f) => input.hst_mag[f.name] != null) ? 'xray_only' : 'full';
    routes.push(route);
    let nObs = 0;
    let nTrans = 0;
    plan.outputs.forEach((o, k) => {
      const seen = byFilter.get(o.name);
      const translated = t.status === 'ok' ? (t.mag_ab[k] ?? null) : null;
      if (seen && featureFilters.includes(o.name)) nObs++;
      else if (translated !== null && featureFilters.includes(o.name)) nTrans++;
      if (seen)
        magsOut.push({
          id: s.id,
          filter: o.name,
          pivot_aa: o.pivot_aa,
          mag_ab: seen.mag_ab,
          mag_err: seen.err,
          origin: 'observed',
          source: seen.source,
        });
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
    // (the full model's on the engine's threads when it has them, after this loop)
    if (mc.draws > 0 && route === 'xray_only')
      drawRows[si] = xrayOnlyDraws(input, s.flux, xray!.spec, mc.draws, sourceRng(mc.seed, s.id));
    else if (mc.draws > 0 && ctx.trees?.drawTargets) {
      const { pos_err_95_arcsec, significance, var_p_intra, var_p_inter, a_v, flux } = s;
      const target = { pos_err_95_arcsec, significance, var_p_intra, var_p_inter, a_v, flux };
      toDraw.push({ s: target, byFilter, measured, fixed, seed: sourceSeed(mc.seed, s.id) });
      toDrawAt.push(si);
    } else if (mc.draws > 0)
      drawRows[si] = fullModelDraws(env, s, byFilter, measured, fixed, spec, mc, sourceRng(mc.seed, s.id));
    const routeSpec = route === 'full' ? spec : xray!.spec;
    const v = computeFeatures(input, routeSpec);
    const vObs = computeFeatures({ ...input, hst_mag: hstObserved, a_v: s.a_v }, routeSpec);
    full.push(v);
    observedOnly.push(vObs);
    const quality = s.mags.length > 0 ? 'prematched' : (firstQuality ?? 'none');
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
      counterparts,
      counterpart_reason:
        [...(s.mags.length > 0 ? ['table: photometry already matched in the X-ray table'] : []), ...reasons].join(
          '; ',
        ) || 'no photometry',
      match_quality: quality,
      nu: input.nu,
      hst_provenance: nObs > 0 && nTrans > 0 ? 'mixed' : nObs > 0 ? 'observed' : nTrans > 0 ? 'translated' : 'none',
      model_used: route,
      parallax_mas: fixed.astrometry.parallax_mas,
      parallax_snr:
        fixed.astrometry.parallax_mas !== null &&
        fixed.astrometry.parallax_err_mas !== null &&
        fixed.astrometry.parallax_err_mas > 0
          ? fixed.astrometry.parallax_mas / fixed.astrometry.parallax_err_mas
          : null,
      dist_geo_pc: fixed.astrometry.dist_geo_pc,
      model_id: route === 'full' ? modelRef.id : xrayRef!.id,
      calibration_id: (route === 'full' ? ctx.inputs.calibration : ctx.inputs.xray_calibration)?.id ?? null,
      n_bands: used.length,
      bands: used.join(','),
      sed_status: t.status === 'ok' ? 'ok' : `${t.status}: ${t.reason}`,
      sed_family: t.family,
      sed_chi2_red: t.chi2_red,
      label: s.label,
    });
    if (si % (mc.draws > 0 ? 50 : 500) === 0)
      ctx.progress(2, 4, `${mc.draws > 0 ? 'drawing' : 'describing'} ${si}/${sources.length}`);
    // a source's draws take tens of milliseconds: let the heartbeat timer run between them (Temporal)
    if (mc.draws > 0 && si % 10 === 9) await yieldToEventLoop();
  }
  if (toDraw.length > 0 && ctx.trees?.drawTargets) {
    const rows = await ctx.trees.drawTargets(env, spec, mc, toDraw, (done, total) =>
      ctx.progress(2, 4, `drawing ${done}/${total} on the engine's threads`),
    );
    toDrawAt.forEach((si, k) => (drawRows[si] = rows[k]!));
  }
  return { targets, magsOut, full, observedOnly, routes, drawRows };
}
type DescribedTargets = Awaited<ReturnType<typeof describeTargets>>;

/** The second compute phase: each route's sources through its own model, medians, OOD reference and calibration; the rows merged back in table order. */
async function predictTargets(
  ctx: ClassifyStageContext,
  p: ClassifyParams,
  loaded: LoadedTargets,
  described: DescribedTargets,
) {
  const { sources, model, medians, spec, modelRef, xray, xrayRef } = loaded;
  const { routes, full, observedOnly, drawRows } = described;
  const mc = p.uncertainty.mc;
  const featureRows: TargetFeatureRow[] = [];
  ctx.progress(3, 4, 'predicting');
  // each route's sources through its own model, medians, OOD reference and calibration; the rows merged back in table order
  const labelOf = (s: XraySourceRow): string | null =>
    s.label === null ? null : p.label_map ? (p.label_map[s.label] ?? null) : s.label;
  const routeModels: Record<
    Route,
    { loaded: LoadedModel; ref: ArtifactRef<'train'>; calibration: ArtifactRef<'evaluate'> | undefined } | null
  > = {
    full: { loaded: { model, medians, spec, trainedOn: '' }, ref: modelRef, calibration: ctx.inputs.calibration },
    xray_only: xray && xrayRef ? { loaded: xray, ref: xrayRef, calibration: ctx.inputs.xray_calibration } : null,
  };
  const predictedRows = new Array<PredictionRow>(sources.length);
  const probaOf = new Array<ProbabilityRow[]>(sources.length);
  const vectors = new Array<Float64Array>(sources.length);
  const classMix: ClassifyClassMixRow[] = [];
  const routeNotes: Record<string, unknown> = {};
  const imputedByFeature: Record<string, Record<string, number>> = {};
  // the targets that are training sources of the model that classified them
  const trainedOn = new Set<string>();
  const shift: PopulationShiftRow[] = [];
  for (const route of ROUTES) {
    const r = routeModels[route];
    const idx = routes.flatMap((x, i) => (x === route ? [i] : []));
    if (r === null || idx.length === 0) continue;
    const { model: rm, medians: rmed, spec: rspec } = r.loaded;
    const names = featureNames(rspec);
    const m = imputeMatrix(
      idx.map((i) => full[i]!),
      rmed,
    );
    // the model's single values and the targets' OOD distances go to the engine's threads (when it has
    // them) first, and this thread builds the feature rows and the population shift meanwhile: the same numbers
    const trees = ctx.trees;
    const singleP = trees?.predict
      ? predictTwoStageWith(rm, m, (f, x) => trees.predict!(f, x))
      : Promise.resolve(predictTwoStage(rm, m));
    const oodP = modelNeighbourReference(ctx.store, r.ref, p.uncertainty.ood_neighbours).then((reference) =>
      trees?.neighbourScores ? trees.neighbourScores(reference, m) : neighbourScores(reference, m),
    );
    // awaited below; a failure meanwhile is not an unhandled rejection
    singleP.catch(() => {});
    oodP.catch(() => {});
    idx.forEach((src, i) =>
      full[src]!.forEach((value, k) =>
        featureRows.push({
          id: sources[src]!.id,
          feature: names[k]!,
          value,
          used: m.x[k * m.nSamples + i]!,
          provenance: value === null ? 'imputed' : observedOnly[src]![k] === value ? 'observed' : 'translated',
        }),
      ),
    );
    imputedByFeature[route] = Object.fromEntries(names.map((f, k) => [f, m.imputed[k]!]));
    // how the targets' features lie against the model's own training rows; which targets are its training sources
    const training = await modelTrainingRows(ctx.store, r.ref);
    const trainingIds = new Set(training.ids);
    for (const i of idx) if (trainingIds.has(sources[i]!.id)) trainedOn.add(sources[i]!.id);
    shift.push(
      ...populationShift(
        route,
        names,
        training.rows,
        idx.map((i) => full[i]!),
      ),
    );
    const single = await singleP;
    let preds: TwoStagePrediction[] = single;
    let extras: PredictionExtras[] = single.map(() => ({
      mc_draws: 0,
      significance: null,
      ood_score: null,
      class_set: null,
      ood: null,
    }));
    if (mc.draws > 0) {
      // in chunks: 10^4 sources x 100 draws would be 10^6 feature rows at once
      preds = [];
      extras = [];
      for (let at = 0; at < idx.length; at += MC_CHUNK) {
        ctx.progress(3, 4, `predicting Monte-Carlo draws (${route}) ${at}/${idx.length}`);
        const chunk = idx.slice(at, at + MC_CHUNK);
        const res = await predictDraws(
          rm,
          rmed,
          single.slice(at, at + MC_CHUNK),
          chunk.map((i) => drawRows[i]!),
          ctx.trees,
        );
        preds.push(...res.preds);
        extras.push(...res.extras.map((x) => ({ ...x, ood_score: null, class_set: null, ood: null })));
      }
    }
    const level =
      route === 'xray_only'
        ? (p.uncertainty.xray_conformal_level ?? p.uncertainty.conformal_level)
        : p.uncertainty.conformal_level;
    const calibration = r.calibration ? await readCalibration(ctx.store, r.calibration, level) : null;
    // the class mix is measured and corrected for the full model's cross-validation only
    const u =
      route === 'full'
        ? p.uncertainty
        : { ...p.uncertainty, class_mix: { ...p.uncertainty.class_mix, estimate: false, reweight: false } };
    const ood = await oodP;
    const verdicts = classifyVerdicts(rm, preds, extras, ood, calibration, u);
    classMix.push(...verdicts.classMix);
    routeNotes[route] = {
      model: r.ref.id,
      sources: idx.length,
      by_class: countLargestFirst(verdicts.preds, (x) => x.finalClass),
      uncertain: verdicts.extras.filter((x) => x.uncertain?.uncertain).length,
      calibration: calibration
        ? { evaluate: calibration.ref.id, protocol: calibration.protocol, level: calibration.level }
        : null,
      ...verdicts.notes,
    };
    const tables = predictionTables(
      rm,
      verdicts.preds,
      idx.map((i) => ({ id: sources[i]!.id, label: labelOf(sources[i]!), fold: null })),
      verdicts.extras,
    );
    const probaById = new Map<string, ProbabilityRow[]>();
    for (const q of tables.proba) (probaById.get(q.id) ?? probaById.set(q.id, []).get(q.id)!).push(q);
    idx.forEach((src, i) => {
      predictedRows[src] = tables.rows[i]!;
      probaOf[src] = probaById.get(sources[src]!.id)!;
      vectors[src] = verdicts.preds[i]!.proba;
    });
  }
  const out = predictedRows;
  const proba = probaOf.flat();
  const scoring = selfScore(
    out.map((r, i) => ({
      label: r.label,
      final_class: r.final_class,
      proba: vectors[i]!,
      trained_on: trainedOn.has(r.id),
    })),
    model.finalClasses,
    p.scoring ?? { eval_classes: {}, calibration_bins: 10 },
  );
  return { out, proba, classMix, routeNotes, imputedByFeature, trainedOn, shift, featureRows, scoring };
}

/** The write phase: the artifact's tables and notes. */
function classifyOutput(
  ctx: ClassifyStageContext,
  p: ClassifyParams,
  loaded: LoadedTargets,
  matched: MatchedCounterparts,
  described: DescribedTargets,
  predicted: Awaited<ReturnType<typeof predictTargets>>,
): StageOutput {
  const { sources, model, xray, noDataCounts, merged } = loaded;
  const { targets, magsOut } = described;
  const { out, proba, classMix, routeNotes, imputedByFeature, trainedOn, shift, featureRows, scoring } = predicted;
  const mc = p.uncertainty.mc;
  return {
    table: predictionsTable,
    rows: out,
    extraTables: {
      probabilities: { table: probabilitiesTable, rows: proba },
      targets: { table: targetsTable, rows: targets },
      matches: { table: counterpartMatchesTable, rows: matched.matches },
      match_summary: { table: matchSummaryTable, rows: matched.summary },
      counterpart_pairs: { table: counterpartPairsTable, rows: matched.pairs },
      ...(classMix.length > 0 ? { class_mix: { table: classifyClassMixTable, rows: classMix } } : {}),
      mags: { table: targetMagsTable, rows: magsOut },
      features: { table: targetFeaturesTable, rows: featureRows },
      population_shift: { table: populationShiftTable, rows: shift },
      ...(scoring
        ? {
            metrics: { table: metricsTable, rows: scoring.metrics },
            confusion: { table: confusionTable, rows: scoring.confusion },
          }
        : {}),
    },
    rawFiles: [p.table, ...p.photometry.map((c) => c.table)],
    notes: {
      classified: out.length,
      final_classes: model.finalClasses,
      by_class: countLargestFirst(out, (r) => r.final_class),
      uncertain: out.filter((r) => r.uncertain).length,
      by_match_quality: countLargestFirst(targets, (r) => r.match_quality),
      by_hst_provenance: countLargestFirst(targets, (r) => r.hst_provenance),
      by_model_used: countLargestFirst(targets, (r) => r.model_used),
      routes: routeNotes,
      no_counterpart: xray
        ? 'sources without every HST magnitude the full model reads (no counterpart, or too few bands to translate) are classified by the X-ray-only model (model_used xray_only), which never saw imputed optical features'
        : 'no X-ray-only model: sources with no photometry keep their X-ray features; their optical features are imputed with the training medians (provenance `imputed` in table features)',
      imputed_by_feature: imputedByFeature,
      no_data_by_column: noDataCounts,
      ...(Object.keys(merged).length > 0 ? { duplicate_rows_merged: merged } : {}),
      scored: scoring ? scoring.n : 0,
      scored_trained_on: scoring ? scoring.nTrainedOn : 0,
      targets_trained_on: sources.filter((x) => trainedOn.has(x.id)).length,
      shift_most: mostShifted(shift, 5),
      mc_draws: mc.draws,
      calibration:
        (routeNotes['full'] as { calibration?: unknown } | undefined)?.calibration ??
        (ctx.inputs.calibration ? { evaluate: ctx.inputs.calibration.id } : null),
      uncertain_rule: describeRule(p.uncertainty.rule, p.uncertainty.conformal_level),
      ...(xray
        ? {
            uncertain_rule_xray_only: describeRule(
              p.uncertainty.rule,
              p.uncertainty.xray_conformal_level ?? p.uncertainty.conformal_level,
            ),
          }
        : {}),
      ...(ctx.inputs.calibration
        ? {}
        : {
            no_calibration:
              'no cross-validation evaluation of this model was found: sources carry no conformal set and no OOD flag (their scores are given)',
          }),
      set_census: countLargestFirst(
        out.filter((r) => r.class_set !== null),
        (r) => r.class_set!,
      ),
      ood_flagged: out.filter((r) => r.ood === true).length,
      ...(classMix.length > 0 ? { class_mix: (routeNotes['full'] as Record<string, unknown>)['class_mix'] } : {}),
    },
  };
}
