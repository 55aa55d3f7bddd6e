import { mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../lib/errors.js';
import { loadRunRecords } from './run-records.js';
import { sqlString } from './duckdb.js';
import type { ArtifactMeta } from '../schemas/artifact.js';
import { ArtifactStore, DamagedFileError, META_FILE } from './store.js';

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

/** Table functions whose first argument names files: the query may name the store's verified files only. */
const FILE_READERS = new Set([
  'read_parquet',
  'parquet_scan',
  'parquet_metadata',
  'parquet_schema',
  'parquet_file_metadata',
  'parquet_kv_metadata',
  'read_json',
  'read_json_auto',
  'read_json_objects',
  'read_json_objects_auto',
  'read_ndjson',
  'read_ndjson_auto',
  'read_ndjson_objects',
]);
/** Table functions over values only. Every other one (read_text, read_csv, glob, query, ...) is refused. */
const VALUE_FUNCTIONS = new Set(['range', 'generate_series', 'unnest', 'json_each', 'json_tree']);

/** A JSON parse tree node of DuckDB's json_serialize_sql. */
type Node = { [key: string]: unknown };

/** DuckDB writes "no location" as 2^64 - 1, more than a JavaScript number holds exactly: carried as text through the rewrite. */
const NO_LOCATION = '18446744073709551615';
const NO_LOCATION_TOKEN = '"xclass-no-location"';

/**
 * The files a query may read: every file of an artifact whose meta.json reads and
 * authenticates (by real path), the meta.json files themselves, and the run records.
 * Files are hashed only when the query names them.
 */
interface StoreFiles {
  /** the store at its real path, verifying by checksum whatever the config's store.verify */
  store: ArtifactStore;
  /** the store's folder by real path, and as the config spells it (resolved) */
  root: string;
  spelledRoot: string;
  metas: ArtifactMeta[];
  /** real path -> the artifact and file name it is (meta.json included); a run record has no artifact */
  files: Map<string, { meta: ArtifactMeta | null; name: string }>;
  runFiles: string[];
}

async function storeFiles(store: ArtifactStore): Promise<StoreFiles> {
  const root = await realpath(store.root).catch(() => resolve(store.root));
  const real = new ArtifactStore(root, 'checksum');
  // only files that parse and authenticate: one damaged meta.json or run record is named by `verify`, not fatal here
  const { metas } = await real.scan();
  const files = new Map<string, { meta: ArtifactMeta | null; name: string }>();
  for (const meta of metas)
    for (const name of [META_FILE, ...meta.files.map((f) => f.name)])
      files.set(join(real.dir(meta.stage, meta.id), name), { meta, name });
  const runFiles = (await loadRunRecords(real)).map((r) => join(real.runsDir, `${r.run_id}.json`));
  for (const f of runFiles) files.set(f, { meta: null, name: f });
  return { store: real, root, spelledRoot: resolve(store.root), metas, files, runFiles };
}

/**
 * Creates the views `artifacts`, `lineage`, `runs` and `run_steps` over the store's
 * files. DuckDB reads the JSON and Parquet in place; there is no database file.
 */
async function createStoreViews(conn: DuckDBConnection, sf: StoreFiles): Promise<void> {
  const metaFiles = sf.metas.map((m) => join(sf.root, m.stage, m.id, META_FILE));
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
  const runSource =
    sf.runFiles.length > 0
      ? `SELECT json FROM read_json_objects([${sf.runFiles.map(sqlString).join(', ')}])`
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

/**
 * A DuckDB instance that can read nothing but `allowedPaths`: extensions never installed
 * or loaded, home, extension and temp folders in `home`, external access off and the
 * configuration locked before it is handed out.
 */
async function sandbox(
  home: string,
  limits: QueryLimits,
  allowedPaths: readonly string[],
): Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }> {
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
    if (allowedPaths.length > 0) await conn.run(`SET allowed_paths = [${allowedPaths.map(sqlString).join(', ')}]`);
    await conn.run('SET enable_external_access = false');
    await conn.run('SET lock_configuration = true');
  } catch (err) {
    conn.closeSync();
    instance.closeSync();
    throw err;
  }
  return { instance, conn };
}

/**
 * `xclass query "SQL"`: one read-only SELECT over the store views and the store's
 * verified files, in two sandboxed DuckDB instances.
 *
 * The first can read no file at all: it parses the statement (IMPORT DATABASE, expanded
 * while parsing, is refused there) and serialises its parse tree, which exists for
 * SELECTs only, so anything else is refused before it is bound. In the tree every table
 * function is checked against an allow list (file readers for Parquet and JSON, value
 * functions), and every file a reader names must be a string literal: each pattern is
 * resolved here, in JavaScript, against the store's authenticated artifact files (never
 * `_quarantine/`, stray or outside files; a literal name of one of those is refused, a
 * pattern leaves them out), each file named is checked against its recorded checksum,
 * and the pattern is replaced by the list of real paths. The second instance is created
 * allowing exactly those files, the meta.json files and the run records, and runs the
 * rewritten statement: binding and execution (which read file headers, and echo them in
 * errors) only ever see verified store files. Memory and time are limited by the config.
 */
export async function queryStore(
  store: ArtifactStore,
  sql: string,
  limits: QueryLimits = DEFAULT_LIMITS,
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<QueryResult> {
  const home = await mkdtemp(join(tmpdir(), 'xclass-query-'));
  try {
    const parser = await sandbox(join(home, 'parse'), limits, []);
    let tree: Node;
    try {
      tree = await parseSelect(parser.conn, sql);
    } finally {
      parser.conn.closeSync();
      parser.instance.closeSync();
    }
    const sf = await storeFiles(store);
    const touched = new Set<string>();
    const rewritten = await rewriteFileArguments(tree, sf, touched, warn);
    const runSql = await deserialize(home, limits, rewritten);
    const allowed = [
      ...new Set([...sf.metas.map((m) => join(sf.root, m.stage, m.id, META_FILE)), ...sf.runFiles, ...touched]),
    ];
    const runner = await sandbox(join(home, 'run'), limits, allowed);
    try {
      await createStoreViews(runner.conn, sf);
      const prepared = await runner.conn.prepare(runSql).catch((err: unknown) => {
        throw new InputError({ file: 'query' }, firstLine(err));
      });
      if (prepared.statementType !== StatementType.SELECT)
        throw new InputError(
          { file: 'query' },
          `only a read-only SELECT is allowed, got a statement of type ${StatementType[prepared.statementType]}`,
        );
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        runner.conn.interrupt();
      }, limits.timeout_s * 1000);
      try {
        const reader = await runner.conn.runAndReadAll(runSql);
        return { columns: reader.columnNames(), rows: reader.getRowObjectsJson() as Record<string, unknown>[] };
      } catch (err) {
        throw new InputError(
          { file: 'query' },
          timedOut ? `interrupted after ${limits.timeout_s} s (config query.timeout_s)` : firstLine(err),
        );
      } finally {
        clearTimeout(timer);
      }
    } finally {
      runner.conn.closeSync();
      runner.instance.closeSync();
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** The one SELECT statement's parse tree; anything else is refused from its parse, never bound. */
async function parseSelect(conn: DuckDBConnection, sql: string): Promise<Node> {
  const statements = await conn.extractStatements(sql).catch((err: unknown) => {
    throw new InputError({ file: 'query' }, `not valid SQL: ${firstLine(err)}`);
  });
  if (statements.count !== 1)
    throw new InputError({ file: 'query' }, `expected exactly one statement, got ${statements.count}`);
  // json_serialize_sql serialises SELECTs only (DESCRIBE, SUMMARIZE, FROM-first and VALUES are SELECTs)
  const reader = await conn.runAndReadAll(`SELECT json_serialize_sql(${sqlString(sql)})::VARCHAR AS tree`);
  const text = String(reader.getRowObjectsJson()[0]?.['tree'] ?? '');
  const tree = JSON.parse(text.split(NO_LOCATION).join(NO_LOCATION_TOKEN)) as Node;
  if (tree['error'] !== false) {
    const keyword = /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase() ?? '?';
    throw new InputError({ file: 'query' }, `only a read-only SELECT is allowed, got a statement of type ${keyword}`);
  }
  return tree;
}

/** The statement as SQL again, from its (rewritten) parse tree, by DuckDB's own deserialiser in a sandbox that reads nothing. */
async function deserialize(home: string, limits: QueryLimits, tree: Node): Promise<string> {
  const json = JSON.stringify(tree).split(NO_LOCATION_TOKEN).join(NO_LOCATION);
  const db = await sandbox(join(home, 'write'), limits, []);
  try {
    const reader = await db.conn.runAndReadAll(`SELECT json_deserialize_sql(${sqlString(json)}::JSON) AS sql`);
    return String(reader.getRowObjectsJson()[0]?.['sql']);
  } catch (err) {
    throw new InputError({ file: 'query' }, `cannot run this statement in the query sandbox: ${firstLine(err)}`);
  } finally {
    db.conn.closeSync();
    db.instance.closeSync();
  }
}

/**
 * Walks the parse tree: refuses table functions off the allow lists and files named as
 * tables, and replaces each file reader's first argument by the verified files it names.
 */
async function rewriteFileArguments(
  tree: Node,
  sf: StoreFiles,
  touched: Set<string>,
  warn: (line: string) => void,
): Promise<Node> {
  const visit = async (value: unknown): Promise<void> => {
    if (Array.isArray(value)) {
      for (const v of value) await visit(v);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const node = value as Node;
    if (node['type'] === 'BASE_TABLE' && typeof node['table_name'] === 'string' && /[/.\\]/.test(node['table_name']))
      throw new InputError(
        { file: 'query', value: node['table_name'] },
        `name a file through read_parquet('PATH'), not as a table`,
      );
    if (node['type'] === 'TABLE_FUNCTION') {
      const fn = node['function'] as Node;
      const name = String(fn['function_name']).toLowerCase();
      if (FILE_READERS.has(name)) {
        const children = fn['children'] as Node[];
        const patterns = literalStrings(children[0]);
        if (patterns === undefined)
          throw new InputError(
            { file: 'query', column: name },
            'the files a reader takes must be a string literal or a list of them',
          );
        const files: string[] = [];
        for (const p of patterns) files.push(...(await storeFilesOf(p, name, sf, warn)));
        for (const f of files) touched.add(f);
        children[0] = listOf(files, children[0]!);
      } else if (!VALUE_FUNCTIONS.has(name) && !name.startsWith('duckdb_'))
        throw new InputError(
          { file: 'query', value: name },
          `table function not allowed in a query (it reads the store's Parquet and JSON files through read_parquet, read_json and their kin; value functions: ${[...VALUE_FUNCTIONS].join(', ')})`,
        );
    }
    for (const v of Object.values(node)) await visit(v);
  };
  await visit(tree);
  return tree;
}

/** The strings of a constant VARCHAR or a list of them; undefined for anything computed. */
function literalStrings(arg: Node | undefined): string[] | undefined {
  if (arg === undefined) return undefined;
  const constant = (n: Node): string | undefined => {
    const v = n['value'] as Node | undefined;
    return n['class'] === 'CONSTANT' && v && (v['type'] as Node)['id'] === 'VARCHAR' && v['is_null'] === false
      ? String(v['value'])
      : undefined;
  };
  const one = constant(arg);
  if (one !== undefined) return [one];
  if (arg['class'] === 'FUNCTION' && arg['function_name'] === 'list_value') {
    const items = (arg['children'] as Node[]).map(constant);
    return items.every((s): s is string => s !== undefined) ? items : undefined;
  }
  return undefined;
}

/** A list_value node of string constants, shaped like DuckDB's own. */
function listOf(files: string[], like: Node): Node {
  const constant = (s: string): Node => ({
    class: 'CONSTANT',
    type: 'VALUE_CONSTANT',
    alias: '',
    query_location: like['query_location'],
    value: { type: { id: 'VARCHAR', type_info: null }, is_null: false, value: s },
  });
  return {
    class: 'FUNCTION',
    type: 'FUNCTION',
    alias: '',
    query_location: like['query_location'],
    function_name: 'list_value',
    schema: 'main',
    children: files.map(constant),
    filter: null,
    order_bys: { type: 'ORDER_MODIFIER', orders: [] },
    distinct: false,
    is_operator: false,
    export_state: false,
    catalog: '',
  };
}

const GLOB_CHARS = /[*?[\]{}]/;

/**
 * The verified store files a reader's pattern names, by real path. A URL, a path outside
 * the store, and (named without a wildcard) a quarantined, stray or damaged file are
 * refused in one line that quotes the name, never the content; a wildcard leaves out what
 * is not a verified artifact file and says how many in one line.
 */
async function storeFilesOf(
  pattern: string,
  reader: string,
  sf: StoreFiles,
  warn: (line: string) => void,
): Promise<string[]> {
  // the full name, not the 80 characters a value is cut to
  const where = { file: `query: ${reader}('${pattern}')` };
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(pattern) || pattern.startsWith('~'))
    throw new InputError(where, `names no file of the store ${sf.root} (a query reads verified artifact files only)`);
  const abs = resolve(pattern);
  // outside the store as written: refused before the file system is asked whether it exists
  const inside = (root: string) => abs === root || abs.startsWith(`${root}/`);
  if (!inside(sf.root) && !inside(sf.spelledRoot))
    throw new InputError(
      where,
      `names a path outside the store ${sf.root} (a query reads verified artifact files only)`,
    );
  const candidates = GLOB_CHARS.test(pattern) ? await expandGlob(abs, sf.root) : [abs];
  if (candidates === undefined)
    throw new InputError(
      where,
      `names a path outside the store ${sf.root} (a query reads verified artifact files only)`,
    );
  const found: string[] = [];
  const left: string[] = [];
  for (const c of candidates) {
    const real = await realpath(c).catch(() => undefined);
    if (real === undefined) {
      if (!GLOB_CHARS.test(pattern)) throw new InputError(where, 'names no existing file');
      continue;
    }
    const entry = sf.files.get(real);
    if (!entry) {
      const why = real.startsWith(`${sf.root}/`)
        ? real.startsWith(`${join(sf.root, '_quarantine')}/`)
          ? 'is in the quarantine, not an artifact file'
          : 'is not a file of an artifact of the store'
        : `is outside the store ${sf.root}`;
      if (!GLOB_CHARS.test(pattern))
        throw new InputError({ file: `query: ${c}` }, `${why} (a query reads verified artifact files only)`);
      left.push(`${c} ${why}`);
      continue;
    }
    if (entry.meta !== null && entry.name !== META_FILE) {
      await sf.store.verifiedPath(entry.meta, entry.name).catch((err: unknown) => {
        if (err instanceof DamagedFileError)
          throw new InputError({ file: `query: ${err.path}` }, `damaged artifact file: ${err.reason}`);
        throw err;
      });
    }
    found.push(real);
  }
  if (left.length > 0)
    warn(`xclass: query: ${reader}('${pattern}'): ${left.length} matching file(s) left out, e.g. ${left[0]}`);
  if (found.length === 0) throw new InputError(where, 'names no verified artifact file of the store');
  return found.sort();
}

/**
 * The files under the store that match a glob pattern (`*` and `?` within a path segment,
 * `**` across segments, `[...]` and `{a,b}`), walked by hand from the pattern's literal
 * prefix: DuckDB's own glob would have to be allowed to list folders, and Node 20 has no
 * fs.glob. A literal prefix outside the store (undefined) is refused by the caller.
 */
async function expandGlob(abs: string, root: string): Promise<string[] | undefined> {
  const segments = abs.split('/').filter((s) => s !== '');
  const firstGlob = segments.findIndex((s) => GLOB_CHARS.test(s));
  const base = `/${segments.slice(0, firstGlob).join('/')}`;
  const realBase = await realpath(base).catch(() => undefined);
  if (realBase === undefined) return [];
  // only the store is walked: a pattern from above it would list other folders
  if (realBase !== root && !realBase.startsWith(`${root}/`)) return undefined;
  const matchers = segments.slice(firstGlob).map((s) => (s === '**' ? '**' : segmentRegex(s)));
  const out: string[] = [];
  const walk = async (dir: string, i: number): Promise<void> => {
    if (i === matchers.length) {
      out.push(dir);
      return;
    }
    const m = matchers[i]!;
    if (m === '**') {
      await walk(dir, i + 1);
      for (const e of await readdir(dir, { withFileTypes: true }).catch(() => []))
        if (e.isDirectory()) await walk(join(dir, e.name), i);
      return;
    }
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (!m.test(e.name)) continue;
      if (i < matchers.length - 1 && !e.isDirectory() && !e.isSymbolicLink()) continue;
      await walk(join(dir, e.name), i + 1);
    }
  };
  await walk(base, 0);
  return [...new Set(out)].sort();
}

function segmentRegex(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${segment
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '{') {
      const end = segment.indexOf('}', i + 1);
      if (end < 0) re += '\\{';
      else {
        re += `(?:${segment
          .slice(i + 1, end)
          .split(',')
          .map((a) => a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('|')})`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').find((l) => l.trim() !== '') ?? text;
}
