import { z } from 'zod';
import { defineTable, type Row } from './table.js';

/**
 * Fetching a field's catalogs over the Virtual Observatory's Table Access Protocol
 * (`xclass fetch`, `xclass classify --cone`): the services (config `fetch.services`),
 * the client's bounds, and what a fetch artifact records.
 */

/** An ADQL identifier: a table (`schema.table`) or a column, never a quoted or computed name. */
const AdqlTable = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$/,
    'expected an ADQL table name such as gaiadr3.gaia_source',
  );

/** The presets a service's answer is read with (activities/io/catalog-presets.ts). */
const FETCH_PRESETS = ['csc2', 'gaia_dr3', '2mass', 'ps1_dr2', 'hsc'] as const;
export const FetchPreset = z.enum(FETCH_PRESETS);
export type FetchPreset = z.infer<typeof FetchPreset>;

/** One TAP service and the table a cone is cut from. */
export const TapService = z.strictObject({
  /** the TAP base URL (the one holding /sync and /async) */
  url: z.url({ protocol: /^https?$/ }),
  table: AdqlTable,
  /** the column mapping its rows are read with; `csc2` is the X-ray table */
  preset: FetchPreset,
  /** where the numbers come from (a page of the service's documentation) */
  doc: z.string().min(1),
});
export type TapService = z.infer<typeof TapService>;

export const FetchSettings = z.strictObject({
  /** name -> service; names are lower-case (`gaia_dr3`, `csc21`) */
  services: z.record(
    z.string().regex(/^[a-z0-9][a-z0-9_]*$/, 'expected a name of lower-case letters, digits and _'),
    TapService,
  ),
  /** the services `fetch` and `classify --cone` query when no --service is given: one X-ray service and photometry */
  default_services: z.array(z.string().min(1)).min(1),
  /** the largest cone radius accepted, arcmin (politeness: a TAP service is shared) */
  max_radius_arcmin: z.number().positive().max(600),
  /** MAXREC of a synchronous query; an answer that overflows it is retried as an asynchronous job */
  maxrec_sync: z.number().int().positive().max(10_000_000),
  /** MAXREC of an asynchronous job; an answer that overflows it is refused in one line */
  maxrec_async: z.number().int().positive().max(100_000_000),
  /** cones larger than this go to an asynchronous job directly, arcmin */
  async_above_radius_arcmin: z.number().positive(),
  /** the largest padding of a photometry cone for counterpart search, arcmin */
  max_pad_arcmin: z.number().nonnegative().max(60),
  /** queries in flight at once per service */
  max_concurrent_per_service: z.number().int().min(1).max(16),
  /** seconds one HTTP request may take before it is abandoned (and retried) */
  timeout_s: z.number().positive().max(3600),
  /** attempts of one HTTP request on a connection error, a timeout or a 5xx answer */
  attempts: z.number().int().min(1).max(10),
  /** the first wait between attempts and between polls of an asynchronous job, seconds; doubled each time up to poll_max_s */
  backoff_s: z.number().positive().max(60),
  poll_max_s: z.number().positive().max(600),
  /** how long an asynchronous job may run before it is deleted and refused, seconds */
  job_timeout_s: z.number().positive().max(86_400),
});
export type FetchSettings = z.infer<typeof FetchSettings>;

/** A fetch artifact's params: what was asked of whom, when, and the digest of the answer. */
export const FetchParams = z.strictObject({
  service: z.string().min(1),
  url: z.string().min(1),
  table: z.string().min(1),
  preset: FetchPreset,
  ra_deg: z.number(),
  dec_deg: z.number(),
  /** the cone asked for, and the radius queried (padded for counterparts), arcsec */
  radius_arcsec: z.number().positive(),
  query_radius_arcsec: z.number().positive(),
  adql: z.string().min(1),
  maxrec: z.number().int().positive(),
  mode: z.enum(['sync', 'async']),
  /** ISO time the answer was received */
  queried_at: z.string().min(1),
  response_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  response_bytes: z.number().int().nonnegative(),
});
export type FetchParams = z.infer<typeof FetchParams>;

/** The file a fetch artifact keeps the service's answer in, exactly as received. */
export const FETCH_RESPONSE_FILE = 'response.vot';

/** A fetch artifact's main table: the answer's columns as the service described them. */
export const fetchColumnsTable = defineTable('fetch_columns', {
  column: z.string().min(1),
  datatype: z.string(),
  unit: z.string().nullable(),
  ucd: z.string().nullable(),
});
export type FetchColumn = Row<typeof fetchColumnsTable>;

/** What a classify artifact records of a table it read from a fetch artifact. */
export const FetchedInput = z.strictObject({
  /** the file name classify read (the table's or catalog's `name` in its params) */
  file: z.string().min(1),
  fetch_id: z.string().regex(/^[0-9a-f]{64}$/),
  service: z.string().min(1),
  url: z.string().min(1),
  adql: z.string().min(1),
  queried_at: z.string().min(1),
});
export type FetchedInput = z.infer<typeof FetchedInput>;
