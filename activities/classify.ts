import { join } from 'node:path';
import { computeFeatures, featureNames, imputeMatrix } from '../lib/features.js';
import { predictTwoStage, predictTwoStageWith, type TwoStagePrediction } from '../lib/forest/two-stage.js';
import { neighbourScores } from '../lib/uncertainty/neighbours.js';
import { describeRule } from '../lib/uncertainty/rule.js';
import type { DrawOutcome } from '../lib/uncertainty/montecarlo.js';
import { predictDraws, withSingle } from './montecarlo.js';
import { sourceRng, sourceSeed } from './translation.js';
import { classifyVerdicts, readCalibration } from './classify-uncertainty.js';
import { InputError } from '../lib/errors.js';
import { DEFAULT_GRID } from '../lib/sed/grid.js';
import { pivotWavelength, type Filter } from '../lib/sed/filters.js';
import { spectrumFnuOnGrid } from '../lib/sed/photometry.js';
import { bandZeroPoints, GAIA_VEGAMAG, magSystemOf } from '../lib/sed/systems.js';
import { preparePlan, type TranslationPlan } from '../lib/sed/translate.js';
import {
  ClassifyContext,
  ClassifyParams,
  ClassifyZoneParams,
  type FieldFacts,
  ZoneNotes,
  zoneMatchPTable,
  zoneVectorsTable,
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
  type TargetMagRow,
  type TargetRow,
} from '../schemas/catalog.js';
import { confusionTable, metricsTable } from '../schemas/evaluation.js';
import { predictionsTable, probabilitiesTable, type PredictionRow, type ProbabilityRow } from '../schemas/model.js';
import type { RawFileRef } from '../schemas/artifact.js';
import type { ArtifactRef } from '../schemas/step.js';
import { canonicalJson } from '../lib/canonical.js';
import { PromiseCache } from '../lib/memo.js';
import { sqlString, withConnection } from '../artifacts/duckdb.js';
import { validateRows } from '../artifacts/parquet.js';
import { writePayload } from '../artifacts/store.js';
import { checkFeatureBlocks, featureBlocksQuery, PROVENANCE_CODE, type FeatureBlock } from './io/target-features.js';
import { openTableZones, readTargetTable } from './io/formats/registry.js';
import { declinationZones, inZone, nearZone, sourcesPerZone, type DecZone } from '../lib/sky/zones.js';
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
import {
  fieldFacts,
  fieldReachArcsec,
  matchSummary,
  matchZone,
  type LoadedCatalog,
  type ZoneMatch,
} from './classify-match.js';
import type { ZonedTable } from './io/formats/csv.js';
import { medianRaDeg } from '../lib/sky/coords.js';
import { median } from '../lib/stats.js';
import { featureShift, knownSorted, mostShifted, type ShiftSide } from '../lib/metrics/shift.js';
import { selfScore } from '../lib/metrics/self-score.js';
import {
  defineStage,
  rolePattern,
  yieldToEventLoop,
  type InputRefsOf,
  type StageContext,
  type StageOutput,
} from './stage.js';
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
import { largestFirst } from '../lib/group.js';

/** Which model classifies a target (schemas/catalog.ts targets.model_used). */
type Route = 'full' | 'xray_only';
const ROUTES: readonly Route[] = ['full', 'xray_only'];

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

/** The tables with rows per source (or per source and candidate), which a zone writes and classify merges. */
const SOURCE_TABLES = {
  data: predictionsTable,
  probabilities: probabilitiesTable,
  targets: targetsTable,
  matches: counterpartMatchesTable,
  counterpart_pairs: counterpartPairsTable,
  mags: targetMagsTable,
  features: targetFeaturesTable,
} as const;

/** The classify step's roles of a field's zones (`zone_0`, ...). */
const ZONE_ROLE = /^zone_\d+$/;

/** What classify's phases see of the step. */
type ClassifyStageContext = StageContext<InputRefsOf<(typeof CLASSIFY_INPUTS)['roles'], undefined>, ClassifyContext>;

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
  version: 6,
  params: ClassifyParams,
  inputs: {
    ...CLASSIFY_INPUTS,
    // a field classified zone by zone, each its own step: the zones, merged here
    pattern: { ...rolePattern<`zone_${number}`>(ZONE_ROLE), from: 'classify_zone' },
  },

  context: ClassifyContext,
  tables: {
    ...SOURCE_TABLES,
    match_summary: matchSummaryTable,
    class_mix: classifyClassMixTable,
    population_shift: populationShiftTable,
    metrics: metricsTable,
    confusion: confusionTable,
  },
  async run(ctx, p) {
    const loaded = await loadTargets(ctx, p);
    const zoneRefs = Object.entries(ctx.inputs as Record<string, ArtifactRef | undefined>)
      .filter(([role]) => ZONE_ROLE.test(role))
      .map(([role, ref]) => ({ index: Number(role.slice('zone_'.length)), ref: ref! }))
      .sort((a, b) => a.index - b.index);
    if (zoneRefs.length > 0) {
      const { field, parts } = await readZoneParts(ctx, p, zoneRefs);
      ctx.progress(4, 4, 'writing');
      return mergeZones(ctx, p, loaded, field, parts);
    }
    const field = await readField(ctx, p, loaded);
    const parts = await classifyZones(ctx, p, loaded, field);
    ctx.progress(4, 4, 'writing');
    return mergeZones(ctx, p, loaded, field, parts);
  },
});

/**
 * `classify_zone`: one declination zone of a field (lib/sky/zones.ts), its own step, so
 * that a field of any size is classified in steps of bounded memory, spread over the
 * engine's workers. It reads its own X-ray sources and the photometry rows within the
 * counterpart search's reach of them (formats/registry.ts openTableZones: CSV, TSV and
 * Parquet cut inside DuckDB's scan), classifies them as `classify` does, and writes their
 * rows; the `classify` step that takes the zones as inputs merges them in the field's
 * order, with the same bits as the field classified in one step.
 */
export const classifyZoneStage = defineStage({
  name: 'classify_zone',
  version: 3,
  params: ClassifyZoneParams,
  inputs: CLASSIFY_INPUTS,
  context: ClassifyContext,
  tables: {
    ...SOURCE_TABLES,
    vectors: zoneVectorsTable,
    match_p: zoneMatchPTable,
  },
  async run(ctx, p) {
    if (wholeFieldOnly(p))
      throw new Error(
        'classify_zone: the frame tie and the class mix are estimates over the whole field, classified in one step',
      );
    if (p.mapping.dec === undefined)
      throw new Error('classify_zone: the X-ray table maps no declination to cut zones by');
    const loaded = await loadTargets(ctx, p);
    const zone: DecZone = { index: p.zone.index, lo: p.zone.lo, hi: p.zone.hi, last: p.zone.last };
    ctx.progress(0, 4, `reading zone ${zone.index + 1}/${p.zone.count}`);
    const xz = await openTableZones(
      loaded.xrayPath,
      loaded.file,
      p.mapping.dec,
      p.mapping.scales?.[p.mapping.dec] ?? 1,
    );
    // the zone's own sources, those without a position in the first zone
    const xr = readXraySources(await xz.read(zone.lo, zone.hi), p.mapping, loaded.noData, {
      owns: (dec) => (dec === null ? zone.index === 0 : inZone(zone, dec)),
    });
    checkLabels(p, loaded.file, xr.rows);
    const zoned = await openCatalogZones(p, loaded);
    const cats = await readZoneCatalogs(p, loaded, zoned, zone, zoneMarginDeg(p.field, p));
    const part = await classifyZone(ctx, p, loaded, p.field, xr.rows, cats, false);
    ctx.progress(4, 4, 'writing');
    const markers = (t: MarkerTally) => [...t].map(([k, v]) => [k, v.n, v.first] as [string, number, number]);
    const xrayMarkers: MarkerTally = new Map();
    tallyMarkers(xrayMarkers, xr.noData, xr.firstLines);
    const notes: ZoneNotes = {
      counts: part.match.counts,
      imputed: part.imputed,
      xray_markers: markers(xrayMarkers),
      catalog_markers: part.markers.map(markers),
      xray_merged: xr.merged,
      catalog_merged: part.merged,
    };
    const { data, ...tables } = await zoneTables(
      part,
      await ctx.scratch(),
      'features',
      `classify_zone ${zone.index + 1}/${p.zone.count} table features`,
    );
    return {
      ...data,
      extraTables: tables,
      rawFiles: [p.table, ...p.photometry.map((c) => c.table)],
      notes: { zone: notes, classified: part.data.length },
    };
  },
});

/**
 * A zone's tables as a classify_zone artifact holds them, and as the merge reads them: rows,
 * but `features`, checked here and a SELECT over its blocks' files written to `dir`
 * (`<prefix>-<block>.parquet`, io/target-features.ts); `where` names it in an error.
 */
async function zoneTables(part: ZoneRows, dir: string, prefix: string, where: string) {
  checkFeatureBlocks(part.features, where);
  const features = { table: targetFeaturesTable, query: await featureBlocksQuery(part.features, dir, prefix) };
  return {
    data: { table: predictionsTable, rows: part.data },
    probabilities: { table: probabilitiesTable, rows: part.proba },
    targets: { table: targetsTable, rows: part.targets },
    matches: { table: counterpartMatchesTable, rows: part.match.matches },
    counterpart_pairs: { table: counterpartPairsTable, rows: part.match.pairs },
    mags: { table: targetMagsTable, rows: part.mags },
    features,
    // the self-score's vectors: of the labelled sources only, the others' are never read
    vectors: {
      table: zoneVectorsTable,
      rows: part.data.flatMap((r, i) =>
        r.label === null ? [] : Array.from(part.vectors[i]!, (v, k) => ({ id: r.id, k, p: v })),
      ),
    },
    match_p: { table: zoneMatchPTable, rows: part.match.p },
  };
}

/**
 * A zone classified in this step, its tables written to the step's scratch folder as a
 * classify_zone artifact holds them (checked as the store checks rows), so that the merge
 * reads every zone the same way and the rows leave memory zone by zone.
 */
async function keepZone(ctx: ClassifyStageContext, part: ZoneRows, index: number): Promise<ZonePart> {
  const dir = await ctx.scratch();
  const where = (name: string) => `classify zone ${index + 1} table ${name}`;
  const { match_p: _, ...tables } = await zoneTables(part, dir, `zone-${index}-features`, where('features'));
  // every table checked before any is written, as the store writes an artifact
  for (const [name, t] of Object.entries(tables)) if ('rows' in t) validateRows(t.table, t.rows, where(name));
  const files = await zoneFiles(async (name) => {
    const file = join(dir, `zone-${index}-${name}.parquet`);
    await writePayload(tables[name], file);
    return file;
  });
  // the rows themselves are not kept
  const { counts, p, frameTie } = part.match;
  const { classMix, classMixNotes, imputed, markers, merged } = part;
  return {
    files,
    match: { counts, p, frameTie },
    classMix,
    classMixNotes,
    imputed,
    markers,
    merged,
  };
}

/** A field's zones read back from their artifacts, checked to be this classification's, every zone once. */
async function readZoneParts(
  ctx: ClassifyStageContext,
  p: ClassifyParams,
  refs: readonly { index: number; ref: ArtifactRef }[],
): Promise<{ field: FieldInfo; parts: ZonePart[] }> {
  const parts: ZonePart[] = [];
  const markers: MarkerTally = new Map();
  let merged = 0;
  let facts: FieldFacts | null = null;
  for (const [at, { index, ref }] of refs.entries()) {
    const meta = await ctx.store.readMeta('classify_zone', ref.id);
    const zp = ClassifyZoneParams.parse(meta.params);
    const { zone, field, ...params } = zp;
    if (canonicalJson(params) !== canonicalJson(p))
      throw new Error(`classify: zone_${index} (classify_zone/${ref.id.slice(0, 12)}) classified with other params`);
    if (zone.index !== index || index !== at || zone.count !== refs.length)
      throw new Error(
        `classify: zone_${index} is zone ${zone.index + 1} of ${zone.count}, but ${refs.length} zones were given`,
      );
    facts ??= field;
    const notes = ZoneNotes.parse(meta.notes?.['zone']);
    const tally = (rows: ZoneNotes['xray_markers']): MarkerTally =>
      new Map(rows.map(([k, n, first]) => [k, { n, first }] as const));
    for (const [k, v] of tally(notes.xray_markers))
      markers.set(k, {
        n: (markers.get(k)?.n ?? 0) + v.n,
        first: Math.min(markers.get(k)?.first ?? Infinity, v.first),
      });
    merged += notes.xray_merged;
    parts.push({
      // the tables stay in their files: the merge is DuckDB's (ZoneTables)
      files: await zoneFiles((name) => ctx.store.verifiedPath(meta, `${name}.parquet`)),
      match: {
        p: await ctx.store.readTable(zoneMatchPTable, ref, 'match_p'),
        counts: notes.counts,
        frameTie: [],
      },
      classMix: [],
      classMixNotes: {},
      imputed: notes.imputed,
      markers: notes.catalog_markers.map(tally),
      merged: notes.catalog_merged,
    });
  }
  return { field: { facts: facts!, markers, merged }, parts };
}

/** Translation plans of targets' bands by the models' SED settings: a field's zones, and the fields a worker classifies, share them. */
const targetPlans = new PromiseCache<TranslationPlan>(4);

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
  const file = p.table.name;

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

  // the translation plan: the model's SED settings, the target's bands as inputs (built once
  // per process for every zone of a field)
  const plan = await targetPlans.get(
    `${data_dir}\u0000${canonicalJson(sed)}\u0000${canonicalJson(inputNames)}`,
    async () =>
      preparePlan(
        grid,
        inputNames.map((f) => filters.get(f)!),
        await Promise.all(sed.output_filters.map((f) => loadFilter(data_dir, f))),
        await buildFamilies(data_dir, sed),
        sed.convention,
      ),
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
    xrayPath: pathOf(p.table),
    catalogPaths: p.photometry.map((c) => pathOf(c.table)),
    noData,
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

/** No-data markers per column: how many, and the line of the first (zones are put back in the table's order of columns by it). */
type MarkerTally = Map<string, { n: number; first: number }>;

/** Adds one read's no-data counts to a tally; `firstLines` absent: the read's own order (one whole read). */
function tallyMarkers(tally: MarkerTally, counts: NoDataCounts, firstLines?: Map<string, number>): void {
  for (const [k, v] of Object.entries(counts)) {
    const had = tally.get(k);
    tally.set(k, { n: (had?.n ?? 0) + v, first: Math.min(had?.first ?? Infinity, firstLines?.get(k) ?? 0) });
  }
}

/** A tally in the whole table's order of first appearance (a stable sort: one whole read keeps its own order). */
function orderedMarkers(tally: MarkerTally): NoDataCounts {
  return Object.fromEntries([...tally].sort((a, b) => a[1].first - b[1].first).map(([k, v]) => [k, v.n]));
}

/** The X-ray table read whole: its sources, their no-data markers and repeats, and what matching needs of the field. */
async function readField(ctx: ClassifyStageContext, p: ClassifyParams, loaded: LoadedTargets) {
  const { file, noData } = loaded;
  ctx.progress(0, 4, 'reading tables');
  const xrayTable = await readTargetTable(loaded.xrayPath, file);
  if (xrayTable.records.length === 0) throw new InputError({ file }, 'no rows to classify');
  const xr = readXraySources(xrayTable, p.mapping, noData);
  const sources = xr.rows;
  checkLabels(p, file, sources);
  const markers: MarkerTally = new Map();
  tallyMarkers(markers, xr.noData);
  return { sources, markers, merged: xr.merged, facts: fieldFacts(sources) };
}
type Field = Awaited<ReturnType<typeof readField>>;

/** Every label of the table is one the label map knows. */
function checkLabels(p: ClassifyParams, file: string, sources: readonly XraySourceRow[]): void {
  if (p.label_map)
    for (const s of sources)
      if (s.label !== null) checkClass({ file, row: s.line, column: p.mapping.label! }, s.label, p.label_map);
}

/** One zone's photometry: each catalog's rows near it, the rows it owns, its no-data markers and repeats. */
interface ZoneCatalogs {
  catalogs: LoadedCatalog[];
  owned: number[];
  /** per catalog */
  markers: MarkerTally[];
  merged: number[];
}

/**
 * The rows of every photometry catalog a zone reads (`zoned`: the catalogs opened a band
 * at a time, formats/registry.ts openTableZones; null: the field is one zone and each is
 * read whole, as a field always was).
 */
async function readZoneCatalogs(
  p: ClassifyParams,
  loaded: LoadedTargets,
  zoned: readonly ZonedTable[] | null,
  zone: DecZone,
  margin: number,
): Promise<ZoneCatalogs> {
  const out: ZoneCatalogs = { catalogs: [], owned: [], markers: [], merged: [] };
  for (const [ci, c] of p.photometry.entries()) {
    let rows: ReturnType<typeof readPhotometry>;
    if (zoned === null) {
      const t = await readTargetTable(loaded.catalogPaths[ci]!, c.table.name);
      if (t.records.length === 0) throw new InputError({ file: c.table.name }, 'the photometry catalog has no rows');
      rows = readPhotometry(t, c.mapping, loaded.noData);
    } else
      rows = readPhotometry(await zoned[ci]!.read(zone.lo - margin, zone.hi + margin), c.mapping, loaded.noData, {
        near: (dec) => nearZone(zone, dec, margin),
        owns: (dec) => inZone(zone, dec),
      });
    const markers: MarkerTally = new Map();
    tallyMarkers(markers, rows.noData, rows.firstLines);
    out.markers.push(markers);
    out.merged.push(rows.merged);
    out.owned.push(rows.owned ?? rows.rows.length);
    out.catalogs.push({ name: c.name, file: c.table.name, rows: rows.rows });
  }
  return out;
}

/**
 * The field zone by zone (lib/sky/zones.ts): each zone reads the rows of every photometry
 * catalog within the counterpart search's reach of it (CSV and TSV converted once by DuckDB
 * to Parquet and cut per zone inside its scan, Parquet cut directly, other formats read
 * whole and cut), so that one zone's catalog rows are in memory at a time, and classifies
 * its sources (`classifyZone`). The zones hold at most the context's `zone_sources`
 * sources each; a field with the frame tie or the class mix is one zone (each is one
 * estimate over the whole field). `mergeZones` puts the zones' rows in the field's order,
 * so the tables are the same bits for any cut (tests/activities/stages.test.ts).
 */
async function classifyZones(ctx: ClassifyStageContext, p: ClassifyParams, loaded: LoadedTargets, field: Field) {
  const { sources } = field;
  const whole = wholeFieldOnly(p);
  const decs = sources.flatMap((s) => (s.dec_deg === null ? [] : [s.dec_deg]));
  const zones = declinationZones(
    decs,
    whole || p.photometry.length === 0 ? Infinity : zoneSize(p, decs.length, ctx.context),
  );
  const margin = zoneMarginDeg(field.facts, p);
  // with zones: each catalog opened once, then read a band at a time
  const zoned = zones.length > 1 ? await openCatalogZones(p, loaded) : null;
  const parts: ZonePart[] = [];
  for (const zone of zones) {
    if (zones.length > 1) ctx.progress(1, 4, `matching counterparts: zone ${zone.index + 1}/${zones.length}`);
    // sources without a position are matched to nothing: the first zone takes them
    const mine = sources.filter((s) => (s.dec_deg === null ? zone.index === 0 : inZone(zone, s.dec_deg)));
    const cats = await readZoneCatalogs(p, loaded, zoned, zone, margin);
    const rows = await classifyZone(ctx, p, loaded, field.facts, mine, cats, zones.length === 1);
    parts.push(await keepZone(ctx, rows, zone.index));
    await yieldToEventLoop();
  }
  return parts;
}

/** The X-ray sources a zone holds, from the context's zone_sources and zone_catalog_mb (lib/sky/zones.ts sourcesPerZone). */
export function zoneSize(p: ClassifyParams, positioned: number, context: ClassifyContext): number {
  return sourcesPerZone(
    positioned,
    p.photometry.reduce((a, c) => a + c.table.bytes, 0),
    context.zone_sources ?? Infinity,
    (context.zone_catalog_mb ?? Infinity) * 2 ** 20,
  );
}

/** Whether a classification must be one zone: the frame tie and the class mix are each one estimate over the whole field. */
export function wholeFieldOnly(p: ClassifyParams): boolean {
  return p.counterparts.frame_tie || p.uncertainty.class_mix.estimate;
}

/** A zone's margin in declination (degrees): the counterpart search's reach for the field's largest error, and a little more. */
function zoneMarginDeg(facts: FieldFacts, p: ClassifyParams): number {
  return fieldReachArcsec(facts, p.counterparts) / 3600 + 1e-6;
}

/** Every photometry catalog opened to be read a band of declinations at a time. */
function openCatalogZones(p: ClassifyParams, loaded: LoadedTargets): Promise<ZonedTable[]> {
  return Promise.all(
    p.photometry.map((c, ci) =>
      openTableZones(loaded.catalogPaths[ci]!, c.table.name, c.mapping.dec, c.mapping.scales?.[c.mapping.dec] ?? 1),
    ),
  );
}

/** One source's counterparts in its zone: its bands (one value per filter), its astrometry and fluxes, the choices' ids and reasons. */
function prepareSource(
  s: XraySourceRow,
  catalogs: readonly LoadedCatalog[],
  zm: Pick<ZoneMatch, 'choices'>,
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
  sources: readonly XraySourceRow[],
  positions: readonly ({ ra_deg: number; dec_deg: number } | null)[],
  prepared: readonly PreparedSource[],
) {
  const { env, spec, xray, plan, featureFilters, pivots, modelRef, xrayRef } = loaded;
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
    else if (mc.draws > 0 && ctx.trees?.drawPredictTargets) {
      const { pos_err_95_arcsec, significance, var_p_intra, var_p_inter, a_v, flux } = s;
      const target = { pos_err_95_arcsec, significance, var_p_intra, var_p_inter, a_v, flux };
      toDraw.push({ s: target, byFilter, fixed, seed: sourceSeed(mc.seed, s.id) });
      toDrawAt.push(si);
    } else if (mc.draws > 0) drawRows[si] = fullModelDraws(env, s, byFilter, fixed, spec, mc, sourceRng(mc.seed, s.id));
    const routeSpec = route === 'full' ? spec : xray!.spec;
    const v = computeFeatures(input, routeSpec);
    const vObs = computeFeatures({ ...input, hst_mag: hstObserved, a_v: s.a_v }, routeSpec);
    full.push(v);
    observedOnly.push(vObs);
    const quality = s.mags.length > 0 ? 'prematched' : (firstQuality ?? 'none');
    targets.push({
      id: s.id,
      line: s.line,
      ra_deg: positions[si]?.ra_deg ?? s.ra_deg,
      dec_deg: positions[si]?.dec_deg ?? s.dec_deg,
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
  // the full model's draws on the engine's threads, predicted and summarised there: the rows never come back
  const drawOutcomes: DrawOutcome[] = [];
  if (toDraw.length > 0 && ctx.trees?.drawPredictTargets) {
    const outcomes = await ctx.trees.drawPredictTargets(
      env,
      spec,
      mc,
      toDraw,
      loaded.model,
      loaded.medians,
      (done, total) => ctx.progress(2, 4, `drawing ${done}/${total} on the engine's threads`),
    );
    toDrawAt.forEach((si, k) => (drawOutcomes[si] = outcomes[k]!));
  }
  return { targets, magsOut, full, observedOnly, routes, drawRows, drawOutcomes };
}
type DescribedTargets = Awaited<ReturnType<typeof describeTargets>>;

/**
 * The second compute phase, for one zone's sources: each route's sources through its own
 * model, medians, OOD reference and calibration, the rows merged back in the zone's order.
 * The class mix (an estimate over the whole field) only when the zone is the field.
 */
async function predictTargets(
  ctx: ClassifyStageContext,
  p: ClassifyParams,
  loaded: LoadedTargets,
  sources: readonly XraySourceRow[],
  described: DescribedTargets,
  whole: boolean,
) {
  const { routes, full, drawRows, drawOutcomes } = described;
  const mc = p.uncertainty.mc;
  const features: FeatureBlock[] = [];
  ctx.progress(3, 4, 'predicting');
  const labelOf = (s: XraySourceRow): string | null =>
    s.label === null ? null : p.label_map ? (p.label_map[s.label] ?? null) : s.label;
  const predictedRows = new Array<PredictionRow>(sources.length);
  const probaOf = new Array<ProbabilityRow[]>(sources.length);
  const vectors = new Array<Float64Array>(sources.length);
  const classMix: ClassifyClassMixRow[] = [];
  const classMixNotes: Record<string, unknown> = {};
  const imputed: Partial<Record<Route, Record<string, number>>> = {};
  for (const route of ROUTES) {
    const r = routeModel(ctx, p, loaded, route);
    const idx = routes.flatMap((x, i) => (x === route ? [i] : []));
    if (r === null || idx.length === 0) continue;
    const { model: rm, medians: rmed, spec: rspec } = r.loaded;
    const names = featureNames(rspec);
    const m = imputeMatrix(
      idx.map((i) => full[i]!),
      rmed,
    );
    // the model's single values and the targets' OOD distances go to the engine's threads (when it has
    // them) first, and this thread builds the feature rows meanwhile: the same numbers
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
    const nf = names.length;
    const block: FeatureBlock = {
      ids: idx.map((src) => sources[src]!.id),
      names,
      value: new Float64Array(idx.length * nf),
      known: new Uint8Array(idx.length * nf),
      used: new Float64Array(idx.length * nf),
      provenance: new Uint8Array(idx.length * nf),
    };
    idx.forEach((src, i) => {
      const row = full[src]!;
      if (row.length !== nf) throw new Error(`classify: ${row.length} features for ${nf} names (${sources[src]!.id})`);
      row.forEach((value, k) => {
        const j = i * nf + k;
        if (value !== null) {
          block.value[j] = value;
          block.known[j] = 1;
        }
        block.used[j] = m.x[k * m.nSamples + i]!;
        block.provenance[j] =
          value === null
            ? PROVENANCE_CODE.imputed
            : described.observedOnly[src]![k] === value
              ? PROVENANCE_CODE.observed
              : PROVENANCE_CODE.translated;
      });
    });
    features.push(block);
    imputed[route] = Object.fromEntries(names.map((f, k) => [f, m.imputed[k]!]));
    const single = await singleP;
    let preds: TwoStagePrediction[] = single;
    let extras: PredictionExtras[] = single.map(() => ({
      mc_draws: 0,
      significance: null,
      ood_score: null,
      class_set: null,
      ood: null,
    }));
    if (mc.draws > 0 && idx.every((i) => drawOutcomes[i] !== undefined)) {
      // drawn, predicted and summarised on the engine's threads (describeTargets)
      const res = withSingle(
        idx.map((i) => drawOutcomes[i]!),
        single,
      );
      preds = res.preds;
      extras = res.extras.map((x) => ({ ...x, ood_score: null, class_set: null, ood: null }));
    } else if (mc.draws > 0) {
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
    const calibration = r.calibration ? await readCalibration(ctx.store, r.calibration, r.level) : null;
    // the class mix is measured and corrected for the full model's cross-validation only, over the whole field
    const u =
      route === 'full' && whole
        ? p.uncertainty
        : { ...p.uncertainty, class_mix: { ...p.uncertainty.class_mix, estimate: false, reweight: false } };
    const ood = await oodP;
    const verdicts = classifyVerdicts(rm, preds, extras, ood, calibration, u);
    classMix.push(...verdicts.classMix);
    if (verdicts.notes['class_mix'] !== undefined) classMixNotes[route] = verdicts.notes['class_mix'];
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
  return { data: predictedRows, proba: probaOf.flat(), vectors, classMix, classMixNotes, imputed, features };
}

/** A route's model, its calibration and conformal level; null when the classification has no such model. */
function routeModel(ctx: ClassifyStageContext, p: ClassifyParams, loaded: LoadedTargets, route: Route) {
  const { model, medians, spec, modelRef, xray, xrayRef } = loaded;
  const u = p.uncertainty;
  if (route === 'full')
    return {
      loaded: { model, medians, spec, trainedOn: '' } as LoadedModel,
      ref: modelRef,
      calibration: ctx.inputs.calibration,
      level: u.conformal_level,
    };
  return xray && xrayRef
    ? {
        loaded: xray,
        ref: xrayRef,
        calibration: ctx.inputs.xray_calibration,
        level: u.xray_conformal_level ?? u.conformal_level,
      }
    : null;
}

/** One zone's rows of the field's tables, and what the field's figures need of it. */
interface ZoneRows {
  targets: TargetRow[];
  mags: TargetMagRow[];
  /** per route classified, in ROUTES' order */
  features: FeatureBlock[];
  data: PredictionRow[];
  proba: ProbabilityRow[];
  /** per source (in the zone's order): its final probabilities as the model gave them (before the tables' clamp) */
  vectors: Float64Array[];
  match: Pick<ZoneMatch, 'matches' | 'pairs' | 'p' | 'counts' | 'frameTie'>;
  classMix: ClassifyClassMixRow[];
  classMixNotes: Record<string, unknown>;
  imputed: Partial<Record<Route, Record<string, number>>>;
  /** per catalog: its no-data markers and its repeats merged */
  markers: MarkerTally[];
  merged: number[];
}

/** The tables of a zone the merge reads from their Parquet files (a classify_zone artifact's, or this step's scratch files). */
const ZONE_FILES = [
  'data',
  'vectors',
  'targets',
  'features',
  'mags',
  'matches',
  'counterpart_pairs',
  'probabilities',
] as const;
type ZoneFiles = Record<(typeof ZONE_FILES)[number], string>;

/** A zone's files, each made or found by `fileOf`. */
async function zoneFiles(fileOf: (name: keyof ZoneFiles) => Promise<string>): Promise<ZoneFiles> {
  const files: Partial<ZoneFiles> = {};
  for (const name of ZONE_FILES) files[name] = await fileOf(name);
  return files as ZoneFiles;
}

/** What the merge (mergeZones) needs of a zone: its tables' files and its figures. */
type ZonePart = Omit<ZoneRows, 'targets' | 'mags' | 'features' | 'data' | 'proba' | 'vectors' | 'match'> & {
  files: ZoneFiles;
  match: Pick<ZoneMatch, 'p' | 'counts' | 'frameTie'>;
};

/** One zone classified: its counterparts, translation, features and predictions. `whole`: the zone is the field. */
async function classifyZone(
  ctx: ClassifyStageContext,
  p: ClassifyParams,
  loaded: LoadedTargets,
  facts: FieldFacts,
  sources: readonly XraySourceRow[],
  cats: ZoneCatalogs,
  whole: boolean,
): Promise<ZoneRows> {
  ctx.progress(1, 4, 'matching counterparts');
  const zm = matchZone(sources, cats.catalogs, cats.owned, p.counterparts, facts, loaded.file, whole);
  const prepared = sources.map((s, k) =>
    prepareSource(s, cats.catalogs, zm, k, loaded.tableBands, loaded.catalogBands),
  );
  ctx.progress(2, 4, 'translating');
  const described = await describeTargets(ctx, p, loaded, sources, zm.positions, prepared);
  const predicted = await predictTargets(ctx, p, loaded, sources, described, whole);
  return {
    targets: described.targets,
    mags: described.magsOut,
    features: predicted.features,
    data: predicted.data,
    proba: predicted.proba,
    vectors: predicted.vectors,
    match: zm,
    classMix: predicted.classMix,
    classMixNotes: predicted.classMixNotes,
    imputed: predicted.imputed,
    markers: cats.markers,
    merged: cats.merged,
  };
}

/** Counts by key in their order of first appearance (as lib/group.ts countBy), then the largest first. */
type Counts = Record<string, number>;

/** The counts the notes give of a set of classified sources (the field, or a route's). */
interface Classified {
  sources: number;
  by_class: Counts;
  uncertain: number;
  set_census: Counts;
  ood_flagged: number;
}

/**
 * A field's zones in their Parquet files (ZoneFiles), merged by DuckDB in the field's
 * order (a zone's rows joined to its targets for their line and route), so that their
 * rows never reach JavaScript: each table a SELECT for the store (SelectPayload), and the
 * notes' counts and figures as SQL over them.
 */
class ZoneTables {
  /** the targets, relation `t` */
  private readonly targets: string;
  constructor(private readonly zones: readonly ZoneFiles[]) {
    this.targets = `(SELECT * FROM ${this.files('targets', false)})`;
  }

  private files(name: keyof ZoneFiles, numbered = true): string {
    return `read_parquet([${this.zones.map((z) => sqlString(z[name])).join(', ')}]${numbered ? ', file_row_number = true' : ''})`;
  }

  /** A table's rows (relation `x`) in the field's order: `order` then the source's line, then as its zone wrote them. */
  query(name: keyof ZoneFiles, order: string | null): { from: string; order: string } {
    return {
      from: `${this.files(name)} x JOIN ${this.targets} t ON x.id = t.id`,
      order: `${order ? `${order}, ` : ''}t.line, x.file_row_number`,
    };
  }

  /** The targets (relation `x`) in the field's order. */
  targetsQuery(): { from: string; order: string } {
    return { from: `${this.files('targets')} x`, order: 'x.line, x.file_row_number' };
  }

  private rows(sql: string): Promise<Record<string, unknown>[]> {
    return withConnection(async (conn) => (await conn.runAndReadAll(sql)).getRowObjectsJS());
  }

  /** The predictions (`x`) joined to their targets (`t`) and any further `join`, `where` a filter over them. */
  private predicted(where: string, join = ''): string {
    return `FROM ${this.files('data', false)} x JOIN ${this.targets} t ON x.id = t.id ${join} WHERE ${where}`;
  }

  /** Counts by `key` (an expression over `x` and `t`) of the sources `where` holds, the largest first, equal counts in the field's order. */
  private async counts(key: string, where: string): Promise<Counts> {
    const rows = await this.rows(
      `SELECT ${key} AS k, count(*) AS n ${this.predicted(where)} GROUP BY k ORDER BY min(t.line)`,
    );
    return largestFirst(Object.fromEntries(rows.map((r) => [String(r['k']), Number(r['n'])])));
  }

  /** The notes' counts of the classified sources `where` holds (SQL over `x` and `t`). */
  async classified(where = 'TRUE'): Promise<Classified> {
    const [n] = await this.rows(
      `SELECT count(*) AS sources, count(*) FILTER (WHERE x.uncertain) AS uncertain, count(*) FILTER (WHERE x.ood) AS ood ${this.predicted(where)}`,
    );
    return {
      sources: Number(n!['sources']),
      by_class: await this.counts('x.final_class', where),
      uncertain: Number(n!['uncertain']),
      set_census: await this.counts('x.class_set', `(${where}) AND x.class_set IS NOT NULL`),
      ood_flagged: Number(n!['ood']),
    };
  }

  /** Counts of the targets by one of their columns, the largest first. */
  targetCounts(column: 'match_quality' | 'hst_provenance' | 'model_used'): Promise<Counts> {
    return this.counts(`t.${column}`, 'TRUE');
  }

  /** Those of `ids` (a model's training sources) that are targets a route classified. */
  async routeTargetsAmong(route: Route, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.rows(
      `SELECT t.id FROM ${this.targets} t WHERE t.model_used = ${sqlString(route)} AND t.id IN (${ids.map(sqlString).join(', ')})`,
    );
    return rows.map((r) => String(r['id']));
  }

  /** The positions of the targets that have one, in the field's order. */
  async positions(): Promise<{ ra: number[]; dec: number[] }> {
    return withConnection(async (conn) => {
      const [ra, dec] = (
        await conn.runAndReadAll(
          `SELECT x.ra_deg, x.dec_deg FROM ${this.files('targets')} x WHERE x.ra_deg IS NOT NULL AND x.dec_deg IS NOT NULL ORDER BY x.line, x.file_row_number`,
        )
      ).getColumnsJS() as number[][];
      return { ra: ra ?? [], dec: dec ?? [] };
    });
  }

  /** The sources with a label, in the field's order: their label, final class and probability vector (before the tables' clamp). */
  async labelled(): Promise<{ id: string; label: string; final_class: string; proba: Float64Array }[]> {
    const rows = await this.rows(
      `SELECT x.id, x.label, x.final_class, list(v.p ORDER BY v.k) AS proba ${this.predicted(
        'x.label IS NOT NULL',
        `JOIN ${this.files('vectors', false)} v ON v.id = x.id`,
      )} GROUP BY x.id, x.label, x.final_class, t.line ORDER BY t.line`,
    );
    return rows.map((r) => ({
      id: String(r['id']),
      label: String(r['label']),
      final_class: String(r['final_class']),
      proba: Float64Array.from(r['proba'] as number[]),
    }));
  }

  /**
   * Per feature of `names`, over a route's sources: how many have it, and its known (finite)
   * values in ascending order, one feature at a time in JavaScript. The route's values are
   * joined to their targets once, into a table of this connection (a feature's number and its
   * value, 10 bytes a row), which each feature then reads, instead of a join over every zone's
   * file per feature (56 of them at 3x10^5 sources: 6 s of a 25 s merge).
   */
  async featureColumns(route: Route, names: readonly string[]): Promise<ShiftSide[]> {
    const table = `shift_${route}`;
    const index = `list_position([${names.map(sqlString).join(', ')}], x.feature)`;
    return withConnection(async (conn) => {
      await conn.run(
        `CREATE TEMP TABLE ${table} AS SELECT CAST(${index} AS USMALLINT) AS k, x.value FROM ${this.files('features', false)} x JOIN ${this.targets} t ON x.id = t.id WHERE t.model_used = ${sqlString(route)} AND ${index} IS NOT NULL`,
      );
      try {
        const sides: ShiftSide[] = [];
        for (let k = 0; k < names.length; k++) {
          const values = ((
            await conn.runAndReadAll(`SELECT value FROM ${table} WHERE k = ${k + 1}`)
          ).getColumnsJS()[0] ?? []) as (number | null)[];
          sides.push({ n: values.length, known: knownSorted(values) });
        }
        return sides;
      } finally {
        await conn.run(`DROP TABLE ${table}`);
      }
    });
  }

  /** The sources whose joint counterpart set set a member aside. */
  async jointSetsResolved(): Promise<number> {
    const [row] = await this.rows(
      `SELECT count(DISTINCT id) AS n FROM ${this.files('counterpart_pairs', false)} WHERE NOT kept`,
    );
    return Number(row!['n']);
  }
}

/** What the field's figures need besides its zones: the X-ray table's no-data markers and repeats, and the match facts. */
interface FieldInfo {
  facts: FieldFacts;
  markers: MarkerTally;
  merged: number;
}

/**
 * The write phase: the zones' rows in the field's order (sources by line; features by
 * route, then source; matches by catalog, then source), merged by DuckDB from the zones'
 * files, and the field's figures from them: the match summary, per route its notes,
 * population shift and the targets that are its training sources, the self-score, and the
 * notes.
 */
async function mergeZones(
  ctx: ClassifyStageContext,
  p: ClassifyParams,
  loaded: LoadedTargets,
  field: FieldInfo,
  parts: readonly ZonePart[],
): Promise<StageOutput> {
  const { model, xray, file } = loaded;
  const mc = p.uncertainty.mc;
  const zones = new ZoneTables(parts.map((z) => z.files));
  // matches by catalog in the classification's order (a field without photometry has none)
  const catalogOrder = p.photometry.length
    ? `CASE x.catalog ${p.photometry.map((c, ci) => `WHEN ${sqlString(c.name)} THEN ${ci}`).join(' ')} END`
    : null;
  const routeOrder = `CASE t.model_used WHEN 'full' THEN 0 ELSE 1 END`;
  const placed = await zones.positions();
  const summary = matchSummary(
    parts.map((z) => z.match),
    p.photometry.map((c) => ({ name: c.name, file: c.table.name })),
    p.counterparts,
    field.facts,
    placed.ra.length ? `${medianRaDeg(placed.ra).toFixed(4)} ${median(placed.dec).toFixed(4)}` : 'none',
    file,
    await zones.jointSetsResolved(),
  );
  const classMix = parts.flatMap((z) => z.classMix);
  const classMixNotes = Object.assign({}, ...parts.map((z) => z.classMixNotes)) as Record<string, unknown>;

  // per route: its notes, the targets that are its model's training sources, its population shift
  const routeNotes: Record<string, unknown> = {};
  const imputedByFeature: Record<string, Record<string, number>> = {};
  const trainedOn = new Set<string>();
  const shift: PopulationShiftRow[] = [];
  for (const route of ROUTES) {
    const r = routeModel(ctx, p, loaded, route);
    if (r === null) continue;
    const counts = await zones.classified(`t.model_used = ${sqlString(route)}`);
    if (counts.sources === 0) continue;
    const calibration = r.calibration ? await readCalibration(ctx.store, r.calibration, r.level) : null;
    routeNotes[route] = {
      model: r.ref.id,
      sources: counts.sources,
      by_class: counts.by_class,
      uncertain: counts.uncertain,
      calibration: calibration
        ? { evaluate: calibration.ref.id, protocol: calibration.protocol, level: calibration.level }
        : null,
      ...(classMixNotes[route] !== undefined ? { class_mix: classMixNotes[route] } : {}),
      set_census: counts.set_census,
      ood_flagged: counts.ood_flagged,
    };
    const names = featureNames(r.loaded.spec);
    const imputed: Record<string, number> = Object.fromEntries(names.map((f) => [f, 0]));
    for (const z of parts) for (const [f, n] of Object.entries(z.imputed[route] ?? {})) imputed[f]! += n;
    imputedByFeature[route] = imputed;
    // how the targets' features lie against the model's own training rows; which targets are its training sources
    const training = await modelTrainingRows(ctx.store, r.ref);
    for (const id of await zones.routeTargetsAmong(route, training.ids)) trainedOn.add(id);
    const targets = await zones.featureColumns(route, names);
    for (const [k, feature] of names.entries())
      shift.push(
        featureShift(
          route,
          feature,
          { n: training.rows.length, known: knownSorted(training.rows.map((r) => r[k])) },
          targets[k]!,
        ),
      );
  }
  const scoring = selfScore(
    (await zones.labelled()).map((row) => ({ ...row, trained_on: trainedOn.has(row.id) })),
    model.finalClasses,
    p.scoring ?? { eval_classes: {}, calibration_bins: 10 },
  );
  const all = await zones.classified();
  // no-data markers: the X-ray table's, then each catalog's, each in its file's order of first appearance
  const noDataCounts: NoDataCounts = {
    ...orderedMarkers(field.markers),
    ...Object.assign(
      {},
      ...p.photometry.map((c, ci) => {
        const tally: MarkerTally = new Map();
        for (const z of parts)
          for (const [k, v] of z.markers[ci] ?? new Map())
            tally.set(k, {
              n: (tally.get(k)?.n ?? 0) + v.n,
              first: Math.min(tally.get(k)?.first ?? Infinity, v.first),
            });
        return Object.fromEntries(Object.entries(orderedMarkers(tally)).map(([k, n]) => [`${c.name}.${k}`, n]));
      }),
    ),
  };
  // rows repeated exactly (overlapping cone searches downloaded together), merged: file -> rows dropped
  const merged: Record<string, number> = field.merged > 0 ? { [file]: field.merged } : {};
  p.photometry.forEach((c, ci) => {
    const n = parts.reduce((a, z) => a + (z.merged[ci] ?? 0), 0);
    if (n > 0) merged[c.table.name] = n;
  });
  return {
    table: predictionsTable,
    query: zones.query('data', null),
    extraTables: {
      probabilities: { table: probabilitiesTable, query: zones.query('probabilities', null) },
      targets: { table: targetsTable, query: zones.targetsQuery() },
      matches: { table: counterpartMatchesTable, query: zones.query('matches', catalogOrder) },
      match_summary: { table: matchSummaryTable, rows: summary },
      counterpart_pairs: { table: counterpartPairsTable, query: zones.query('counterpart_pairs', null) },
      ...(classMix.length > 0 ? { class_mix: { table: classifyClassMixTable, rows: classMix } } : {}),
      mags: { table: targetMagsTable, query: zones.query('mags', null) },
      features: { table: targetFeaturesTable, query: zones.query('features', routeOrder) },
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
      classified: all.sources,
      final_classes: model.finalClasses,
      by_class: all.by_class,
      uncertain: all.uncertain,
      by_match_quality: await zones.targetCounts('match_quality'),
      by_hst_provenance: await zones.targetCounts('hst_provenance'),
      by_model_used: await zones.targetCounts('model_used'),
      routes: routeNotes,
      no_counterpart: xray
        ? 'sources without every HST magnitude the full model reads (no counterpart, or too few bands to translate) are classified by the X-ray-only model (model_used xray_only), which never saw imputed optical features'
        : 'no X-ray-only model: sources with no photometry keep their X-ray features; their optical features are imputed with the training medians (provenance `imputed` in table features)',
      imputed_by_feature: imputedByFeature,
      no_data_by_column: noDataCounts,
      ...(Object.keys(merged).length > 0 ? { duplicate_rows_merged: merged } : {}),
      scored: scoring ? scoring.n : 0,
      scored_trained_on: scoring ? scoring.nTrainedOn : 0,
      targets_trained_on: trainedOn.size,
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
      set_census: all.set_census,
      ood_flagged: all.ood_flagged,
      ...(classMix.length > 0 ? { class_mix: (routeNotes['full'] as Record<string, unknown>)['class_mix'] } : {}),
    },
  };
}
