import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../lib/errors.js';
import { loadRunRecords } from './run-records.js';
import { sqlString } from './duckdb.js';
import { META_FILE, type ArtifactStore } from './store.js';

/**
 * Creates the views `artifacts`, `lineage`, `runs` and `run_steps` over the store's
 * files. DuckDB reads the JSON and Parquet in place; there is no database file.
 */
export async function createStoreViews(conn: DuckDBConnection, store: ArtifactStore): Promise<void> {
  // only files that parse: one damaged meta.json or run record is named by the caller, not fatal here
  const { metas } = await store.scan();
  const metaFiles = metas.map((m) => join(store.dir(m.stage, m.id), META_FILE));
  const metaSource =
    metaFiles.length > 0
      ? `SELECT json, filename FROM read_json_objects([${metaFiles.map(sqlString).join(', ')}], filename = true)`
      : `SELECT NULL::JSON AS json, NULL::VARCHAR AS filename WHERE false`;
  await conn.run(`CREATE OR REPLACE TEMP VIEW artifacts AS
    SELECT json->>'id' AS id, json->>'stage' AS stage, (json->>'stage_version')::INTEGER AS stage_version,
           json->>'schema' AS schema, (json->>'row_count')::BIGINT AS row_count,
           (json->>'created_at')::TIMESTAMPTZ AS created_at, json->>'code_version' AS code_version,
           (json->>'wall_ms')::DOUBLE AS wall_ms, json->>'host' AS host,
           json->'params' AS params, json->'inputs' AS inputs, json->'raw_files' AS raw_files, json->'notes' AS notes, json->'facts' AS facts,
           replace(filename, '/meta.json', '') AS dir, replace(filename, 'meta.json', 'data.parquet') AS data_path
    FROM (${metaSource})`);
  await conn.run(`CREATE OR REPLACE TEMP VIEW lineage AS
    SELECT a.id AS artifact_id, a.stage, r.role, a.inputs->>r.role AS input_id
    FROM artifacts a, unnest(json_keys(a.inputs)) AS r(role)`);
  const runFiles = (await loadRunRecords(store)).map((r) => join(store.runsDir, `${r.run_id}.json`));
  const runSource =
    runFiles.length > 0 ? `SELECT json FROM read_json_objects([${runFiles.map(sqlString).join(', ')}])` : `SELECT NULL::JSON AS json WHERE false`;
  await conn.run(`CREATE OR REPLACE TEMP VIEW runs AS
    SELECT json->>'run_id' AS run_id, json->>'workflow' AS workflow, json->>'engine' AS engine,
           json->>'status' AS status, (json->>'started_at')::TIMESTAMPTZ AS started_at,
           (json->>'wall_ms')::DOUBLE AS wall_ms, json->>'config_hash' AS config_hash,
           json->>'code_version' AS code_version, json->'steps' AS steps
    FROM (${runSource})`);
  await conn.run(`CREATE OR REPLACE TEMP VIEW run_steps AS
    SELECT r.run_id, s->>'key' AS step, s->>'stage' AS stage, s->>'status' AS status,
           s->>'artifactId' AS artifact_id, (s->>'cacheHit')::BOOLEAN AS cache_hit,
           (s->>'wallMs')::DOUBLE AS wall_ms, s->>'error' AS error
    FROM runs r, unnest(json_extract(r.steps, '$[*]')) AS t(s)`);
}

export interface QueryResult {
  columns: string[];
  rows: Record<string, unknown>[];
}

/** Resource limits of one query (config `query`). */
export interface QueryLimits {
  /** DuckDB's memory_limit, e.g. `2GB` */
  memory_limit: string;
  /** the statement is interrupted after this many seconds */
  timeout_s: number;
}

const DEFAULT_LIMITS: QueryLimits = { memory_limit: '2GB', timeout_s: 300 };

/**
 * `xclass query "SQL"`: one read-only statement over the store views, on its own DuckDB
 * instance that is sandboxed before a byte of the user's SQL is parsed: extensions are
 * never installed or loaded, its home and extension folders are a temporary folder, and
 * on its one connection external access is off with only the store's folder allowed and
 * the configuration locked. Parsing and binding (which reads a file's header, and would
 * otherwise echo a line of any file in an error) therefore happen inside the sandbox.
 * Anything but a SELECT (WITH ... SELECT, VALUES, FROM ... and DESCRIBE/SUMMARIZE
 * included) is then refused before it runs; memory and time are limited.
 */
export async function queryStore(store: ArtifactStore, sql: string, limits: QueryLimits = DEFAULT_LIMITS): Promise<QueryResult> {
  const home = await mkdtemp(join(tmpdir(), 'xclass-query-'));
  const instance = await DuckDBInstance.create(':memory:', {
    threads: '2',
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    home_directory: home,
    extension_directory: join(home, 'extensions'),
    temp_directory: join(home, 'tmp'),
    memory_limit: limits.memory_limit,
  });
  const conn = await instance.connect();
  try {
    const root = await realpath(store.root).catch(() => store.root);
    await conn.run(`SET allowed_directories = [${sqlString(`${root}/`)}]`);
    await conn.run('SET enable_external_access = false');
    await conn.run('SET lock_configuration = true');
    await createStoreViews(conn, store);
    const statements = await conn.extractStatements(sql).catch((err: unknown) => {
      throw new InputError({ file: 'query' }, `not valid SQL: ${firstLine(err)}`);
    });
    if (statements.count !== 1) throw new InputError({ file: 'query' }, `expected exactly one statement, got ${statements.count}`);
    // parsed, not bound: binding a statement can act (EXPORT DATABASE makes its folder, inside the store too), so
    // anything that is not a SELECT is refused from its parse tree (json_serialize_sql serialises SELECTs only)
    const parsed = await conn.runAndReadAll(`SELECT json_serialize_sql(${sqlString(sql)})::JSON->>'error' AS error`);
    if (parsed.getRowObjectsJson()[0]?.['error'] !== 'false') {
      const keyword = /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase() ?? '?';
      throw new InputError({ file: 'query' }, `only a read-only SELECT is allowed, got a statement of type ${keyword}`);
    }
    const prepared = await statements.prepare(0).catch((err: unknown) => {
      throw new InputError({ file: 'query' }, firstLine(err));
    });
    if (prepared.statementType !== StatementType.SELECT) {
      throw new InputError({ file: 'query' }, `only a read-only SELECT is allowed, got a statement of type ${StatementType[prepared.statementType]}`);
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      conn.interrupt();
    }, limits.timeout_s * 1000);
    try {
      const reader = await conn.runAndReadAll(sql);
      return { columns: reader.columnNames(), rows: reader.getRowObjectsJson() as Record<string, unknown>[] };
    } catch (err) {
      throw new InputError({ file: 'query' }, timedOut ? `interrupted after ${limits.timeout_s} s (config query.timeout_s)` : firstLine(err));
    } finally {
      clearTimeout(timer);
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
    await rm(home, { recursive: true, force: true });
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').find((l) => l.trim() !== '') ?? text;
}
