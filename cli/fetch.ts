import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { codeVersion } from '../artifacts/code-version.js';
import { artifactId, sha256Hex } from '../artifacts/hash.js';
import { readdirOrEmpty, writeFileOnce, type ArtifactStore } from '../artifacts/store.js';
import { ConfigError } from '../config/load.js';
import type { XClassConfig } from '../config/schema.js';
import { readXraySources } from '../activities/io/catalog-rows.js';
import { serviceMapping } from '../activities/io/formats/presets.js';
import { alignMapping, mappingColumnNames, withDeclaredUnits } from '../activities/io/mapping-columns.js';
import { knownFilterNames } from '../activities/io/sed-data.js';
import { tapAsync, tapSync, TapError, type TapEvent, type TapResult } from '../activities/io/tap.js';
import type { TargetTable } from '../activities/io/table.js';
import { parseTapAnswer } from '../activities/io/formats/votable.js';
import { dataDir } from '../engine/plan.js';
import { catalogReachArcsec } from '../lib/sky/counterparts.js';
import { coneAdql, parseAngleArcsec, type Cone } from '../lib/vo/adql.js';
import { parseDecDeg, parseRaDeg } from '../lib/sky/coords.js';
import {
  FETCH_RESPONSE_FILE,
  FetchParams,
  fetchColumnsTable,
  type FetchedInput,
  type FetchPreset,
  type TapService,
} from '../schemas/fetch.js';
import type { XrayMapping } from '../schemas/catalog.js';
import type { StepRecord } from '../schemas/step.js';

/**
 * `xclass fetch` and `classify --cone`: a cone's tables from TAP services, each answer
 * stored as a `fetch` artifact (params: service, URL, table, ADQL, MAXREC, mode, the time
 * of the query and the answer's SHA-256; file: the answer as received; table: its columns).
 * The X-ray service is asked first; the photometry cones are padded by how far the
 * counterpart search of the field's least precise X-ray source reaches (search, density and
 * false-match circles: lib/sky/counterparts.ts catalogReachArcsec), so every source sees
 * the candidates it would see in the whole catalog. A query asked before (same service,
 * URL and ADQL) is answered from the store unless `refresh`: a re-run works offline.
 */

const FETCH_STAGE = 'fetch';
/** bumped when what a fetch artifact holds changes */
const FETCH_VERSION = 1;

export interface FetchedTable {
  service: string;
  preset: FetchPreset;
  fetchId: string;
  /** the stored answer, a VOTable */
  path: string;
  rows: number;
  reused: boolean;
  params: FetchParams;
  /** the answer as read, when it was just fetched (a stored one is read again only where needed) */
  table?: TargetTable;
}

export type FetchEvent =
  TapEvent | { kind: 'service'; service: string; state: 'query' | 'reused' | 'done'; rows?: number; mode?: string };

/** The services named, else the configured defaults; an unknown name is one line listing the known ones. */
function servicesOf(config: XClassConfig, names: readonly string[]): [string, TapService][] {
  const chosen = names.length > 0 ? names : config.fetch.default_services;
  return chosen.map((n) => {
    const s = config.fetch.services[n];
    if (!s)
      throw new ConfigError(
        `fetch: no service '${n}' in config fetch.services (known: ${Object.keys(config.fetch.services).join(', ')})`,
      );
    return [n, s];
  });
}

/** A cone as the user gave it, checked against the config's bounds. */
function checkCone(config: XClassConfig, cone: Cone): Cone {
  if (!(cone.ra_deg >= 0 && cone.ra_deg < 360))
    throw new ConfigError(`fetch: right ascension ${cone.ra_deg}: expected degrees in [0, 360)`);
  if (!(cone.dec_deg >= -90 && cone.dec_deg <= 90))
    throw new ConfigError(`fetch: declination ${cone.dec_deg}: expected degrees in [-90, 90]`);
  const max = config.fetch.max_radius_arcmin * 60;
  if (!(cone.radius_arcsec > 0 && cone.radius_arcsec <= max))
    throw new ConfigError(
      `fetch: radius ${cone.radius_arcsec / 60} arcmin: expected more than 0 and at most config fetch.max_radius_arcmin = ${config.fetch.max_radius_arcmin}`,
    );
  return cone;
}

/** The newest stored answer to exactly this query (service, URL, ADQL), if any. */
async function storedAnswer(
  store: ArtifactStore,
  service: string,
  url: string,
  adql: string,
): Promise<{ id: string; params: FetchParams } | null> {
  // the same query by its (authenticated) meta.json, newest first; only the one used has its files checked
  const asked: { id: string; params: FetchParams }[] = [];
  for (const id of await readdirOrEmpty(join(store.root, FETCH_STAGE))) {
    const meta = await store.readMeta(FETCH_STAGE, id).catch(() => null);
    const p = FetchParams.safeParse(meta?.params);
    if (p.success && p.data.service === service && p.data.url === url && p.data.adql === adql)
      asked.push({ id, params: p.data });
  }
  asked.sort((a, b) => (a.params.queried_at < b.params.queried_at ? 1 : -1));
  for (const a of asked) if ((await store.check(FETCH_STAGE, a.id)).state === 'ok') return a;
  return null;
}

/**
 * One service's cone: from the store when asked before (unless refresh), else from the
 * service (synchronous with MAXREC maxrec_sync; an overflow, or a cone wider than
 * async_above_radius_arcmin, goes to an asynchronous job with maxrec_async; an overflow
 * there is refused), stored as a fetch artifact. Nothing is stored when the query fails.
 */
async function fetchOne(
  store: ArtifactStore,
  config: XClassConfig,
  name: string,
  service: TapService,
  cone: Cone,
  queryRadius: number,
  opts: { refresh: boolean; onEvent: (e: FetchEvent) => void },
): Promise<FetchedTable> {
  const f = config.fetch;
  const mapping = serviceMapping(service.preset, await knownFilterNames(dataDir(config)));
  if (!mapping.ra || !mapping.dec) throw new Error(`preset ${service.preset} names no position columns (a bug)`);
  const adql = coneAdql(service.table, mappingColumnNames(mapping), mapping.ra, mapping.dec, {
    ...cone,
    radius_arcsec: queryRadius,
  });
  if (!opts.refresh) {
    const found = await storedAnswer(store, name, service.url, adql);
    if (found) {
      const meta = await store.readMeta(FETCH_STAGE, found.id);
      const rows = Number(meta.notes['rows'] ?? 0);
      opts.onEvent({ kind: 'service', service: name, state: 'reused', rows });
      const path = await store.verifiedPath(meta, FETCH_RESPONSE_FILE);
      return {
        service: name,
        preset: service.preset,
        fetchId: found.id,
        path,
        rows,
        reused: true,
        params: found.params,
      };
    }
  }
  opts.onEvent({ kind: 'service', service: name, state: 'query' });
  const t0 = performance.now();
  const who = { name, url: service.url };
  const overflow = (maxrec: number) =>
    new TapError(
      `fetch: service ${name} (${service.url}): more than MAXREC = ${maxrec} rows in the cone of ${(queryRadius / 60).toFixed(2)} arcmin (QUERY_STATUS OVERFLOW); nothing stored: narrow --radius or raise config fetch.maxrec_async`,
    );
  let result: TapResult;
  let maxrec: number;
  if (queryRadius > f.async_above_radius_arcmin * 60) {
    maxrec = f.maxrec_async;
    result = await tapAsync(who, f, adql, maxrec, opts.onEvent);
  } else {
    maxrec = f.maxrec_sync;
    result = await tapSync(who, f, adql, maxrec, opts.onEvent);
    if (result.answer.status === 'OVERFLOW' && f.maxrec_async > f.maxrec_sync) {
      maxrec = f.maxrec_async;
      result = await tapAsync(who, f, adql, maxrec, opts.onEvent);
    }
  }
  if (result.answer.status === 'OVERFLOW') throw overflow(maxrec);
  const rows = result.answer.table!.records.length;
  const params: FetchParams = FetchParams.parse({
    service: name,
    url: service.url,
    table: service.table,
    preset: service.preset,
    ra_deg: cone.ra_deg,
    dec_deg: cone.dec_deg,
    radius_arcsec: cone.radius_arcsec,
    query_radius_arcsec: queryRadius,
    adql,
    maxrec,
    mode: result.mode,
    queried_at: new Date().toISOString(),
    response_sha256: sha256Hex(result.bytes),
    response_bytes: result.bytes.byteLength,
  });
  const id = artifactId(FETCH_STAGE, FETCH_VERSION, params, {});
  await store.write(
    {
      id,
      stage: FETCH_STAGE,
      stage_version: FETCH_VERSION,
      schema: fetchColumnsTable.name,
      params: JSON.parse(JSON.stringify(params)) as Record<string, unknown>,
      inputs: {},
      raw_files: [],
      code_version: codeVersion(),
      wall_ms: Math.round(performance.now() - t0),
      notes: {
        rows,
        query_status: result.answer.status,
        ...(result.answer.message ? { query_message: result.answer.message } : {}),
      },
    },
    {
      table: fetchColumnsTable,
      rows: result.answer.fields.map(({ name, ...f }) => ({ column: name, ...f })),
      extraFiles: { [FETCH_RESPONSE_FILE]: new Uint8Array(result.bytes) },
    },
  );
  opts.onEvent({ kind: 'service', service: name, state: 'done', rows, mode: result.mode });
  const path = await store.verifiedPath(await store.readMeta(FETCH_STAGE, id), FETCH_RESPONSE_FILE);
  return {
    service: name,
    preset: service.preset,
    fetchId: id,
    path,
    rows,
    reused: false,
    params,
    table: result.answer.table!,
  };
}

/**
 * How far to pad the photometry cones, arcsec: the reach of the counterpart search of the
 * X-ray table's least precise source, at most max_pad_arcmin; without an X-ray table,
 * max_pad_arcmin.
 */
async function padOf(config: XClassConfig, xray: FetchedTable | undefined): Promise<number> {
  const max = config.fetch.max_pad_arcmin * 60;
  if (!xray) return max;
  const t = xray.table ?? parseTapAnswer(await fs.readFile(xray.path, 'utf8'), xray.path).table!;
  const mapping = withDeclaredUnits(
    alignMapping(serviceMapping(xray.preset, []) as XrayMapping, t.header, t.file),
    t.units ?? {},
    t.file,
  );
  const { rows } = readXraySources(t, mapping, config.input.no_data);
  const sigma = rows.reduce((m, r) => Math.max(m, r.sigma_eff_arcsec ?? 0), 0);
  const c = config.classify.counterparts;
  return Math.min(max, catalogReachArcsec(sigma, c, c.shift_radii));
}

/**
 * Fetches a cone from each service named (the X-ray one first), as artifacts. Returns the
 * tables in the order named, and a step record for each (the run record that holds them
 * makes them reachable for `xclass gc` and shows them to `audit`).
 */
export async function fetchCone(
  store: ArtifactStore,
  config: XClassConfig,
  cone: Cone,
  names: readonly string[],
  opts: { refresh?: boolean; onEvent?: (e: FetchEvent) => void } = {},
): Promise<{ tables: FetchedTable[]; steps: StepRecord[] }> {
  checkCone(config, cone);
  const services = servicesOf(config, names);
  const xrayServices = services.filter(([, s]) => s.preset === 'csc2');
  if (xrayServices.length > 1)
    throw new ConfigError(
      `fetch: more than one X-ray service named (${xrayServices.map(([n]) => n).join(', ')}): a field has one X-ray table`,
    );
  const o = { refresh: opts.refresh === true, onEvent: opts.onEvent ?? (() => {}) };
  const steps: StepRecord[] = [];
  const timed = async (name: string, run: () => Promise<FetchedTable>): Promise<FetchedTable> => {
    const startedAtMs = Date.now();
    try {
      const t = await run();
      steps.push(stepOf(name, 'done', t.fetchId, t.reused, startedAtMs, null));
      return t;
    } catch (err) {
      steps.push(stepOf(name, 'failed', null, null, startedAtMs, (err as Error).message));
      throw err;
    }
  };
  const xray = xrayServices[0]
    ? await timed(xrayServices[0][0], () =>
        fetchOne(store, config, xrayServices[0]![0], xrayServices[0]![1], cone, cone.radius_arcsec, o),
      )
    : undefined;
  const pad = await padOf(config, xray);
  const photometry = await Promise.all(
    services
      .filter(([, s]) => s.preset !== 'csc2')
      .map(([n, s]) => timed(n, () => fetchOne(store, config, n, s, cone, cone.radius_arcsec + pad, o))),
  );
  const byName = new Map([...(xray ? [xray] : []), ...photometry].map((t) => [t.service, t]));
  // the X-ray step first, then the photometry in the order named (they ran at once)
  const order = [...xrayServices, ...services.filter(([, s]) => s.preset !== 'csc2')].map(([n]) => `fetch/${n}`);
  steps.sort((a, b) => order.indexOf(a.key) - order.indexOf(b.key));
  return { tables: services.map(([n]) => byName.get(n)!), steps };
}

function stepOf(
  service: string,
  status: 'done' | 'failed',
  artifactId: string | null,
  cacheHit: boolean | null,
  startedAtMs: number,
  error: string | null,
): StepRecord {
  const endedAtMs = Date.now();
  return {
    key: `fetch/${service}`,
    stage: FETCH_STAGE,
    variant: null,
    status,
    artifactId,
    cacheHit,
    wallMs: endedAtMs - startedAtMs,
    startedAtMs,
    endedAtMs,
    error,
  };
}

/** What a classify artifact records of a fetched table it read. */
export function fetchedInput(t: FetchedTable, file: string): FetchedInput {
  return {
    file,
    fetch_id: t.fetchId,
    service: t.service,
    url: t.params.url,
    adql: t.params.adql,
    queried_at: t.params.queried_at,
  };
}

/** `fetch --out DIR`: each answer copied to DIR/<service>.vot; an existing file is never replaced. */
export async function copyFetched(tables: readonly FetchedTable[], dir: string): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const t of tables) {
    const dest = join(dir, `${t.service}.vot`);
    await writeFileOnce(dest, await fs.readFile(t.path));
    written.push(dest);
  }
  return written;
}

/** A position as typed: degrees, or sexagesimal (RA in hours `11:05:09.3`, Dec `-58:50:10`). */
function angleOf(text: string, axis: 'ra' | 'dec'): number {
  const t = text.trim();
  const deg = /^[-+]?\d+(\.\d*)?([eE][-+]?\d+)?$/.test(t) ? Number(t) : axis === 'ra' ? parseRaDeg(t) : parseDecDeg(t);
  if (deg === null || !Number.isFinite(deg))
    throw new ConfigError(
      `fetch: ${axis === 'ra' ? 'right ascension' : 'declination'} '${text}': expected degrees or sexagesimal`,
    );
  return deg;
}

/** `--ra`, `--dec`, `--radius` (a unit, or a bare number in arcmin) as a cone. */
export function coneOf(ra: string, dec: string, radius: string): Cone {
  const r = parseAngleArcsec(radius);
  if (r === null)
    throw new ConfigError(
      `fetch: radius '${radius}': expected an angle such as 2arcmin, 30arcsec, 0.1deg (a bare number is arcmin)`,
    );
  return { ra_deg: angleOf(ra, 'ra'), dec_deg: angleOf(dec, 'dec'), radius_arcsec: r };
}

/** `classify --cone RA,DEC,R`. */
export function parseConeSpec(spec: string): Cone {
  const parts = spec.split(',');
  if (parts.length !== 3)
    throw new ConfigError(
      `classify: --cone '${spec}': expected RA,DEC,RADIUS (degrees, degrees, an angle such as 5arcmin)`,
    );
  return coneOf(parts[0]!, parts[1]!, parts[2]!);
}

/** One line per event on stderr: which service is asked, retried, how an asynchronous job goes. */
function fetchEventLine(e: FetchEvent): string | null {
  switch (e.kind) {
    case 'service':
      return e.state === 'query'
        ? `fetch: ${e.service}: querying`
        : e.state === 'reused'
          ? `fetch: ${e.service}: ${e.rows} rows, from the store (the same query answered before; --refresh asks again)`
          : `fetch: ${e.service}: ${e.rows} rows (${e.mode})`;
    case 'retry':
      return `fetch: attempt ${e.attempt} failed (${e.reason}); trying again`;
    case 'job':
      return `fetch: asynchronous job ${e.url}: ${e.phase}`;
  }
}

/** Prints each fetch event as one line on stderr; nothing with --json (stdout is the machine output then). */
export function fetchEventPrinter(json: boolean | undefined): (e: FetchEvent) => void {
  return (e) => {
    const line = fetchEventLine(e);
    if (line && !json) process.stderr.write(`${line}\n`);
  };
}
