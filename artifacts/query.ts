import { realpath } from 'node:fs/promises';
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

/**
 * `xclass query "SQL"`: one read-only statement over the store views. Anything but a
 * SELECT (WITH ... SELECT, VALUES, FROM ... and DESCRIBE/SUMMARIZE included) is refused
 * before it runs; the connection, on its own DuckDB instance, then reads only files
 * under the store (external access off, allowed directories set, configuration
 * locked), so even a SELECT cannot read a file elsewhere.
 */
export async function queryStore(store: ArtifactStore, sql: string): Promise<QueryResult> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await instance.connect();
  try {
    await createStoreViews(conn, store);
    const statements = await conn.extractStatements(sql).catch((err: unknown) => {
      throw new InputError({ file: 'query' }, `not valid SQL: ${firstLine(err)}`);
    });
    if (statements.count !== 1) throw new InputError({ file: 'query' }, `expected exactly one statement, got ${statements.count}`);
    const prepared = await statements.prepare(0).catch((err: unknown) => {
      throw new InputError({ file: 'query' }, firstLine(err));
    });
    if (prepared.statementType !== StatementType.SELECT) {
      throw new InputError({ file: 'query' }, `only a read-only SELECT is allowed, got a statement of type ${StatementType[prepared.statementType]}`);
    }
    const root = await realpath(store.root).catch(() => store.root);
    await conn.run(`SET allowed_directories = [${sqlString(`${root}/`)}]`);
    await conn.run('SET enable_external_access = false');
    await conn.run('SET lock_configuration = true');
    try {
      const reader = await conn.runAndReadAll(sql);
      return { columns: reader.columnNames(), rows: reader.getRowObjectsJson() as Record<string, unknown>[] };
    } catch (err) {
      throw new InputError({ file: 'query' }, firstLine(err));
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').find((l) => l.trim() !== '') ?? text;
}
