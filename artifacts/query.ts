import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString, withConnection } from './duckdb.js';
import type { ArtifactStore } from './store.js';

function hasFiles(dir: string, pred: (name: string) => boolean, depth: number): boolean {
  if (!existsSync(dir)) return false;
  for (const name of readdirSync(dir)) {
    if (depth === 0 ? pred(name) : !name.startsWith('_') && hasFiles(join(dir, name), pred, depth - 1)) return true;
  }
  return false;
}

/**
 * Creates the views `artifacts`, `lineage`, `runs` and `run_steps` over the store's
 * files. DuckDB reads the JSON and Parquet in place; there is no database file.
 */
export async function createStoreViews(conn: DuckDBConnection, store: ArtifactStore): Promise<void> {
  const metaGlob = sqlString(join(store.root, '*', '*', 'meta.json'));
  const anyMeta = hasFiles(store.root, (n) => n === 'meta.json', 2);
  const metaSource = anyMeta
    ? `SELECT json, filename FROM read_json_objects(${metaGlob}, filename = true) WHERE filename NOT LIKE '%/\\_tmp/%' ESCAPE '\\'`
    : `SELECT NULL::JSON AS json, NULL::VARCHAR AS filename WHERE false`;
  await conn.run(`CREATE OR REPLACE TEMP VIEW artifacts AS
    SELECT json->>'id' AS id, json->>'stage' AS stage, (json->>'stage_version')::INTEGER AS stage_version,
           json->>'schema' AS schema, (json->>'row_count')::BIGINT AS row_count,
           (json->>'created_at')::TIMESTAMPTZ AS created_at, json->>'code_version' AS code_version,
           (json->>'wall_ms')::DOUBLE AS wall_ms, json->>'host' AS host,
           json->'params' AS params, json->'inputs' AS inputs, json->'raw_files' AS raw_files, json->'notes' AS notes,
           replace(filename, '/meta.json', '') AS dir, replace(filename, 'meta.json', 'data.parquet') AS data_path
    FROM (${metaSource})`);
  await conn.run(`CREATE OR REPLACE TEMP VIEW lineage AS
    SELECT a.id AS artifact_id, a.stage, r.role, a.inputs->>r.role AS input_id
    FROM artifacts a, unnest(json_keys(a.inputs)) AS r(role)`);
  const anyRun = hasFiles(store.runsDir, (n) => n.endsWith('.json'), 0);
  const runSource = anyRun
    ? `SELECT json FROM read_json_objects(${sqlString(join(store.runsDir, '*.json'))})`
    : `SELECT NULL::JSON AS json WHERE false`;
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

/** `xclass query "SQL"`: runs SQL with the store views in scope. */
export async function queryStore(store: ArtifactStore, sql: string): Promise<QueryResult> {
  return withConnection(async (conn) => {
    await createStoreViews(conn, store);
    const reader = await conn.runAndReadAll(sql);
    return { columns: reader.columnNames(), rows: reader.getRowObjectsJson() as Record<string, unknown>[] };
  });
}
