import { existsSync, promises as fs } from 'node:fs';
import { issueLine } from '../schemas/issues.js';
import { basename, join, resolve } from 'node:path';
import { canonicalJson, type Json } from '../lib/canonical.js';
import type { z } from 'zod';
import type { XClassConfig } from '../config/schema.js';
import { ConfigError } from '../config/load.js';
import { isArtifactId, readdirOrEmpty, type ArtifactStore } from '../artifacts/store.js';
import { resolveRawFile } from '../activities/io/raw-file.js';
import { openTableZones, readTableLayout, readTargetTable } from '../activities/io/formats/registry.js';
import type { DecCensus, ZonedTable } from '../activities/io/formats/csv.js';
import type { FieldFacts } from '../schemas/catalog.js';
import {
  duplicateId,
  hasFlux,
  noFluxAnywhere,
  readXraySources,
  type XraySourceRow,
} from '../activities/io/catalog-rows.js';
import { fieldFacts } from '../activities/classify-match.js';
import { wholeFieldOnly, zoneSize } from '../activities/classify.js';
import { InputError } from '../lib/errors.js';
import { declinationZones, inZone } from '../lib/sky/zones.js';
import type { ZonePlan } from '../workflows/classify.js';
import { alignMapping, withDeclaredUnits } from '../activities/io/mapping-columns.js';
import { filterFileName, knownFilterNames, unknownFilterError } from '../activities/io/sed-data.js';
import { modelTranslation } from '../activities/io/model.js';
import { checkMagnitudeColumns, classifyFilters } from '../lib/classify/targets.js';
import {
  csc2Mapping,
  detectPhotometryPreset,
  detectXrayPreset,
  gaiaDr3Mapping,
  gaiaDr3VizierMapping,
  hscMapping,
  muwclassMapping,
  PHOTOMETRY_PRESETS,
  ps1Dr2Mapping,
  twoMassMapping,
  twoMassVizierMapping,
  xclassMapping,
  XRAY_PRESETS,
  type PhotometryPreset,
  type XrayPreset,
} from '../activities/io/formats/presets.js';
import {
  PhotometryMapping,
  XrayMapping,
  type ClassifyContext,
  type ClassifyParams,
  type PhotometryCatalog,
} from '../schemas/catalog.js';
import type { ArtifactRef } from '../schemas/step.js';
import type { FetchedInput } from '../schemas/fetch.js';
import { evaluateRoleProtocol } from '../schemas/protocols.js';
import { dataDir } from './plan.js';

export interface ClassifyRequest {
  /** the X-ray source table */
  table: string;
  /** a preset name or a mapping JSON file; absent: detected from the header */
  xrayMapping?: string;
  /** photometry catalogs: `FILE` (layout detected) or `FILE=PRESET` or `FILE=MAPPING.json` */
  catalogs: readonly string[];
  /** where relative file names are resolved */
  cwd: string;
  /** the tables fetched from TAP services (`classify --cone`), recorded in the params */
  fetched?: readonly FetchedInput[];
}

async function mappingFile<T>(schema: z.ZodType<T>, file: string, cwd: string): Promise<T> {
  const path = resolve(cwd, file);
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`mapping ${file}: cannot read as JSON (${(err as Error).message.split('\n')[0]})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(`mapping ${file}: ${issueLine(parsed.error)}`);
  }
  return parsed.data;
}

/**
 * Everything a `classify` step needs, resolved on this machine: each table hashed, each
 * column mapping resolved from its preset (written out in full, so the artifact's
 * params say which columns were read), the filter curves of the target's bands checked
 * against the data folder and hashed, the counterpart settings from config.
 */
/** A photometry preset's mapping for a header. */
function photometryPreset(
  preset: PhotometryPreset,
  header: readonly string[],
  known: readonly string[],
): PhotometryMapping {
  switch (preset) {
    case 'gaia_dr3':
      return gaiaDr3Mapping(header);
    case 'gaia_dr3_vizier':
      return gaiaDr3VizierMapping(header);
    case '2mass':
      return twoMassMapping();
    case '2mass_vizier':
      return twoMassVizierMapping(header);
    case 'ps1_dr2':
      return ps1Dr2Mapping();
    case 'hsc':
      return hscMapping(header, known);
  }
}

export async function planClassify(
  config: XClassConfig,
  store: ArtifactStore,
  model: ArtifactRef<'train'>,
  req: ClassifyRequest,
): Promise<{ params: ClassifyParams; context: ClassifyContext; inputFiles: string[] }> {
  const dir = dataDir(config);
  const { settings: sed } = await modelTranslation(store, model);
  const known = await knownFilterNames(dir);
  const xray = await resolveRawFile(req.cwd, req.table);
  /** every file read, for `--out` to be checked against */
  const inputFiles = [xray.path];
  const { header, units } = await readTableLayout(xray.path, xray.name);
  const xrayPreset = (spec: XrayPreset) =>
    spec === 'csc2'
      ? csc2Mapping()
      : spec === 'muwclass'
        ? muwclassMapping(sed.input_bands)
        : xclassMapping(header, sed.output_filters, xray.name);
  let mapping: XrayMapping;
  if (req.xrayMapping === undefined) mapping = xrayPreset(detectXrayPreset(header, xray.name));
  else if ((XRAY_PRESETS as readonly string[]).includes(req.xrayMapping))
    mapping = xrayPreset(req.xrayMapping as XrayPreset);
  else if (existsSync(resolve(req.cwd, req.xrayMapping))) {
    mapping = await mappingFile(XrayMapping, req.xrayMapping, req.cwd);
    inputFiles.push(resolve(req.cwd, req.xrayMapping));
  } else
    throw new ConfigError(
      `--xray-mapping ${req.xrayMapping}: neither a preset (${XRAY_PRESETS.join(', ')}) nor a mapping file`,
    );
  // the header's spelling of each column (HEASARC's NAME for name), and the units the file declares
  mapping = withDeclaredUnits(alignMapping(mapping, header, xray.name), units, xray.name);

  const photometry: PhotometryCatalog[] = [];
  const paths: Record<string, string> = { [xray.name]: xray.path };
  for (const spec of req.catalogs) {
    const eq = spec.lastIndexOf('=');
    const [fileName, how] = eq > 0 ? [spec.slice(0, eq), spec.slice(eq + 1)] : [spec, undefined];
    const f = await resolveRawFile(req.cwd, fileName);
    const { header: catHeader, units: catUnits } = await readTableLayout(f.path, f.name);
    let preset: PhotometryPreset | null = null;
    let m: PhotometryMapping;
    if (how === undefined || (PHOTOMETRY_PRESETS as readonly string[]).includes(how)) {
      preset = (how as PhotometryPreset | undefined) ?? detectPhotometryPreset(catHeader, f.name);
      m = photometryPreset(preset, catHeader, known);
      if (m.magnitudes.length === 0)
        throw new ConfigError(`catalog ${f.name}: the ${preset} layout found no magnitude column with a filter curve`);
    } else if (existsSync(resolve(req.cwd, how))) {
      m = await mappingFile(PhotometryMapping, how, req.cwd);
      inputFiles.push(resolve(req.cwd, how));
    } else
      throw new ConfigError(
        `--catalog ${spec}: '${how}' is neither a preset (${PHOTOMETRY_PRESETS.join(', ')}) nor a mapping file`,
      );
    m = withDeclaredUnits(alignMapping(m, catHeader, f.name), catUnits, f.name);
    const base =
      (preset ?? basename(f.name).replace(/\.[^.]*$/, '')).toLowerCase().replace(/[^a-z0-9_]+/g, '_') || 'catalog';
    let name = base;
    for (let k = 2; photometry.some((c) => c.name === name); k++) name = `${base}_${k}`;
    photometry.push({ name, table: { name: f.name, sha256: f.sha256, bytes: f.bytes }, mapping: m });
    paths[f.name] = f.path;
    inputFiles.push(f.path);
  }
  checkMagnitudeColumns(xray.name, mapping.magnitudes ?? [], sed.input_bands);
  for (const c of photometry) checkMagnitudeColumns(c.table.name, c.mapping.magnitudes, sed.input_bands);
  const data_files = [];
  for (const filter of classifyFilters({ mapping, photometry })) {
    if (!known.includes(filter))
      throw await unknownFilterError(
        dir,
        filter,
        `the mapping of ${req.table}${photometry.length ? ' or a catalog' : ''}`,
      );
    const { path: _path, ...ref } = await resolveRawFile(dir, filterFileName(filter));
    data_files.push(ref);
  }
  const params: ClassifyParams = {
    table: { name: xray.name, sha256: xray.sha256, bytes: xray.bytes },
    mapping,
    photometry,
    counterparts: config.classify.counterparts,
    ...(mapping.label !== undefined
      ? {
          label_map: config.labels.map,
          scoring: {
            eval_classes: config.evaluation.eval_classes,
            calibration_bins: config.evaluation.calibration_bins,
          },
        }
      : {}),
    data_files,
    no_data: config.input.no_data,
    uncertainty: {
      mc: config.uncertainty.mc,
      ood_neighbours: config.uncertainty.ood.neighbours,
      conformal_level: config.uncertainty.conformal.level,
      ...(config.xray_model.enabled ? { xray_conformal_level: config.xray_model.conformal_level } : {}),
      rule: config.uncertainty.uncertain,
      class_mix: config.uncertainty.class_mix,
    },
    ...(req.fetched && req.fetched.length > 0 ? { fetched: [...req.fetched] } : {}),
  };
  return {
    params,
    context: {
      paths,
      data_dir: dir,
      zone_sources: config.classify.zone_sources,
      zone_catalog_mb: config.classify.zone_catalog_mb,
    },
    inputFiles,
  };
}

/**
 * A trained model's lineage: everything its training read and how (the features
 * artifact, hence the SED settings and sources; the provenance artifact of a label
 * policy; the forest settings and the label policy), apart from which rows it trained
 * on (`fold`). A model and the cross-validation models that calibrate it share it.
 */
async function trainLineage(
  store: ArtifactStore,
  trainId: string,
): Promise<{ key: string; parts: Record<string, string> }> {
  const meta = await store.readMeta('train', trainId);
  const { fold: _fold, ...params } = meta.params as Record<string, Json>;
  const parts: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) parts[`params.${k}`] = canonicalJson(v);
  for (const [k, v] of Object.entries(meta.inputs)) parts[`input ${k}`] = v;
  return { key: canonicalJson(parts), parts };
}

/**
 * Why an evaluate artifact does not calibrate a model: null when every one of its
 * deployment-protocol predictions came from a model of the model's own lineage, else
 * the first difference in words (`params.label_policy: "drop" vs none`).
 */
export async function calibrationMismatch(
  store: ArtifactStore,
  model: ArtifactRef<'train'>,
  evaluateId: string,
): Promise<string | null> {
  return mismatchWith(store, await trainLineage(store, model.id), evaluateId);
}

/** calibrationMismatch against a lineage already read (findCalibration reads the model's once for every evaluation). */
async function mismatchWith(
  store: ArtifactStore,
  mine: Awaited<ReturnType<typeof trainLineage>>,
  evaluateId: string,
): Promise<string | null> {
  const meta = await store.readMeta('evaluate', evaluateId);
  const roles = Object.keys(meta.inputs)
    .filter((r) => evaluateRoleProtocol(r) === 'deployment')
    .sort();
  if (roles.length === 0) return 'it scores no deployment-protocol prediction';
  for (const role of roles) {
    const trainId = (await store.readMeta('predict', meta.inputs[role]!)).inputs['model'];
    if (trainId === undefined) return `its ${role} prediction names no model`;
    const theirs = await trainLineage(store, trainId);
    if (theirs.key === mine.key) continue;
    // the settings first (`params.label_policy` says more than the provenance input it brings)
    const keys = [...new Set([...Object.keys(mine.parts), ...Object.keys(theirs.parts)])].sort((a, b) =>
      a.startsWith('params.') === b.startsWith('params.') ? (a < b ? -1 : 1) : a.startsWith('params.') ? -1 : 1,
    );
    const k = keys.find((x) => mine.parts[x] !== theirs.parts[x])!;
    const show = (v: string | undefined) => (v === undefined ? 'none' : v.length > 40 ? `${v.slice(0, 12)}...` : v);
    return `its ${role} model train/${trainId.slice(0, 12)} differs in ${k}: ${show(theirs.parts[k])} vs the model's ${show(mine.parts[k])}`;
  }
  return null;
}

/**
 * The evaluation that calibrates a model's predictions on new sources: an `evaluate`
 * artifact whose deployment-protocol models all share the model's lineage (its own
 * cross-validation: same features, forest settings and label policy; trainLineage).
 * Compared by lineage, never by recency alone: an ablation that trains on the same
 * features with another label policy is another lineage. Where several evaluations
 * share it (other evaluate settings) the newest, then the smallest id, is taken and the
 * count is returned. Null when the store holds none.
 */
export async function findCalibration(
  store: ArtifactStore,
  model: ArtifactRef<'train'>,
): Promise<{ ref: ArtifactRef<'evaluate'>; candidates: number } | null> {
  const mine = await trainLineage(store, model.id);
  const found: { id: string; created: string }[] = [];
  for (const id of await readdirOrEmpty(join(store.root, 'evaluate'))) {
    if (!isArtifactId(id)) continue;
    let meta;
    try {
      meta = await store.readMeta('evaluate', id);
      if ((await mismatchWith(store, mine, id)) !== null) continue;
    } catch {
      continue; // a damaged artifact calibrates nothing; `xclass verify` reports it
    }
    found.push({ id, created: meta.created_at });
  }
  found.sort((a, b) => (a.created === b.created ? (a.id < b.id ? -1 : 1) : a.created > b.created ? -1 : 1));
  return found.length > 0 ? { ref: { stage: 'evaluate', id: found[0]!.id }, candidates: found.length } : null;
}

/**
 * The X-ray-only model that goes with a full model: a final (`fold: null`) model trained
 * on X-ray-only features of the same ingested sources, with the same forest settings and
 * label policy (the run's `xray/final/train`); the newest, then the smallest id, if
 * several. Null when the store holds none (config xray_model off, or an older run).
 */
export async function findXrayModel(
  store: ArtifactStore,
  model: ArtifactRef<'train'>,
): Promise<ArtifactRef<'train'> | null> {
  const final = await store.readMeta('train', model.id);
  const features = await store.readMeta('features', final.inputs['features']!);
  const { fold: _f, ...wanted } = final.params as Record<string, Json>;
  const found: { id: string; created: string }[] = [];
  for (const id of await readdirOrEmpty(join(store.root, 'train'))) {
    if (!isArtifactId(id) || id === model.id) continue;
    try {
      const meta = await store.readMeta('train', id);
      const { fold, ...params } = meta.params as Record<string, Json>;
      if (
        fold !== null ||
        canonicalJson(params) !== canonicalJson(wanted) ||
        meta.inputs['provenance'] !== final.inputs['provenance']
      )
        continue;
      const f = await store.readMeta('features', meta.inputs['features']!);
      if (
        (f.params as { xray_only?: boolean }).xray_only !== true ||
        f.inputs['sources'] !== features.inputs['sources']
      )
        continue;
      found.push({ id, created: meta.created_at });
    } catch {
      continue; // a damaged artifact is no candidate; `xclass verify` reports it
    }
  }
  found.sort((a, b) => (a.created === b.created ? (a.id < b.id ? -1 : 1) : a.created > b.created ? -1 : 1));
  return found.length > 0 ? { stage: 'train', id: found[0]!.id } : null;
}

/**
 * The declination zones a field is classified in, each its own step (workflows/classify.ts):
 * the X-ray table's sources cut at their declinations into zones of at most
 * `classify.zone_sources` sources, each reading about `classify.zone_catalog_mb` of the
 * catalogs (lib/sky/zones.ts), its bad rows refused here, before any step, with their line.
 * A table of one zone's size (or one DuckDB cannot read) is read whole; a larger one a band
 * at a time (fieldInBands), so planning never holds it. Null, one step, for a field that
 * small, without photometry or positions, or with the frame tie or the class mix (each one
 * estimate over the field).
 */
export async function planZones(params: ClassifyParams, context: ClassifyContext): Promise<ZonePlan | null> {
  const dec = params.mapping.dec;
  if (params.photometry.length === 0 || dec === undefined || wholeFieldOnly(params)) return null;
  const file = params.table.name;
  const path = context.paths[file]!;
  // the table as DuckDB cuts it; null where DuckDB cannot read it, which the whole read then judges
  const banded = await openTableZones(path, file, dec, params.mapping.scales?.[dec] ?? 1)
    .then(async (zoned) => ({ zoned, census: await zoned.census() }))
    .catch((err: unknown) => {
      if (err instanceof InputError) return null;
      throw err;
    });
  const perZone = banded === null ? Infinity : zoneSize(params, banded.census.rows, context);
  let field: FieldFacts;
  let decs: readonly number[];
  if (banded === null || perZone >= banded.census.rows) {
    // one zone even if every row has a position: read whole, as the step will
    const t = await readTargetTable(path, file);
    if (t.records.length === 0) throw new InputError({ file }, 'no rows to classify');
    const sources = readXraySources(t, params.mapping, params.no_data ?? []).rows;
    field = fieldFacts(sources);
    decs = sources.flatMap((s) => (s.dec_deg === null ? [] : [s.dec_deg]));
  } else {
    const { zoned, census } = banded;
    ({ field, decs } = await fieldInBands(params, zoned, census, perZone));
  }
  const zones = declinationZones(decs, zoneSize(params, decs.length, context));
  if (zones.length <= 1) return null;
  return { zones: zones.map((z) => ({ ...z, count: zones.length })), field };
}

/**
 * The field's facts and its sources' declinations from the X-ray table read a band of
 * declinations at a time (bands of a zone's size by the plain declinations), each band's
 * own rows kept down to those: what a whole read gives, with its refusals. A source id
 * repeated in two bands (they differ in declination) is refused as a whole read refuses it;
 * of several bad rows, the earliest line any band met is named.
 */
async function fieldInBands(
  params: ClassifyParams,
  zoned: ZonedTable,
  census: DecCensus,
  perBand: number,
): Promise<{ field: FieldFacts; decs: number[] }> {
  const file = params.table.name;
  const bands = declinationZones(census.decs, perBand);
  const decs: number[] = [];
  const lineOf = new Map<string, number>();
  let field: FieldFacts = { max_sigma_eff_arcsec: 0, positioned: 0 };
  let firstLine = Infinity;
  let sources = 0;
  let fluxes = false;
  let refusal: InputError | null = null;
  const refuse = (e: InputError) => {
    if (refusal === null || (e.location.row ?? Infinity) < (refusal.location.row ?? Infinity)) refusal = e;
  };
  for (const band of bands) {
    const t = await zoned.read(band.lo, band.hi);
    if (t.lines.length > 0) firstLine = Math.min(firstLine, t.lines[0]!);
    let rows: XraySourceRow[];
    try {
      // rows without a plain declination are read by every band and kept by the first
      rows = readXraySources(t, params.mapping, params.no_data ?? [], {
        owns: (d) => (d === null ? band.index === 0 : inZone(band, d)),
      }).rows;
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      refuse(err);
      continue;
    }
    for (const s of rows) {
      const first = lineOf.get(s.id);
      if (first === undefined) lineOf.set(s.id, s.line);
      else refuse(duplicateId(file, Math.max(first, s.line), params.mapping.id, s.id, Math.min(first, s.line)));
      if (s.dec_deg !== null) decs.push(s.dec_deg);
      fluxes ||= hasFlux(s);
    }
    sources += rows.length;
    const f = fieldFacts(rows);
    field = {
      max_sigma_eff_arcsec: Math.max(field.max_sigma_eff_arcsec, f.max_sigma_eff_arcsec),
      positioned: field.positioned + f.positioned,
    };
  }
  if (refusal !== null) throw refusal;
  if (sources > 0 && !fluxes) throw noFluxAnywhere(file, firstLine, params.mapping);
  return { field, decs };
}
