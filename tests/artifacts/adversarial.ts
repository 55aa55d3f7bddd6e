import { createServer } from 'node:http';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { queryStore } from '../../artifacts/query.js';
import { ArtifactStore } from '../../artifacts/store.js';
import { referencePredictionsTable } from '../../schemas/tables.js';
import { prediction, referenceMeta, writeRunRecord } from './fixtures.js';

/**
 * A hostile user's statements against `xclass query` (issue 25): writes, reads outside
 * the store through every table function and IMPORT/ATTACH/INSTALL/LOAD/SECRET form,
 * URLs, error-message echoes, quarantined, stray and damaged files. Each is run on a
 * small store with, outside it, files holding a marker, and a local HTTP server; what
 * each did is observed, not assumed: files written (trees before and after), files read
 * (access times, set in the past before each statement: relatime updates them on a
 * read), the marker or /etc/passwd in any output (leaked), requests to the server and a
 * ~/.duckdb folder made (looked up).
 */

export const MARKER = 'XCLASS_SECRET_7f3a';

export interface Outcome {
  name: string;
  sql: string;
  /** the error line, or `ok: N rows` */
  line: string;
  /** whether the statement should be answered (the rest must be refused) */
  expected: boolean;
  answered: boolean;
  written: string[];
  read: string[];
  leaked: boolean;
  lookedUp: number;
}

export interface Scene {
  store: ArtifactStore;
  outside: string;
  work: string;
  port: number;
  /** a verified artifact file, a quarantined one, a damaged one, a stray one */
  data: string;
  quarantined: string;
  damaged: string;
  stray: string;
  /** requests the local server has had */
  hits(): number;
  close(): Promise<void>;
}

export async function makeScene(base: string): Promise<Scene> {
  const store = new ArtifactStore(join(base, 'store'));
  const row = { ...prediction('a', 0.9, 'T'), confidence_threshold: 1, p_yso: 0.1 };
  const metas = [1, 2, 3].map((n) => referenceMeta({ n }));
  for (const m of metas) await store.write(m, { table: referencePredictionsTable, rows: [row] });
  const data = join(store.dir('reference', metas[0]!.id), 'data.parquet');
  const q = await store.quarantine('reference', metas[1]!.id, 'adversarial scene');
  const quarantined = join(q!, 'data.parquet');
  const damaged = join(store.dir('reference', metas[2]!.id), 'data.parquet');
  const bytes = readFileSync(damaged);
  bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
  writeFileSync(damaged, bytes);
  const stray = join(store.root, 'stray.parquet');
  writeFileSync(stray, readFileSync(data));
  writeRunRecord(store.runsDir, metas[0]!.id);

  const outside = join(base, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.csv'), `${MARKER},b\n1,2\n`);
  writeFileSync(join(outside, 'secret.txt'), `${MARKER}\n`);
  writeFileSync(join(outside, 'secret.json'), `{"${MARKER}": 1}\n`);
  writeFileSync(join(outside, 'schema.sql'), `CREATE TABLE ${MARKER} (a INTEGER);\n`);
  writeFileSync(join(outside, 'load.sql'), '');
  const plain = await DuckDBInstance.create(':memory:');
  const c = await plain.connect();
  await c.run(`COPY (SELECT 1 AS ${MARKER}) TO '${join(outside, 'secret.parquet')}' (FORMAT parquet)`);
  await c.run(`ATTACH '${join(outside, 'secret.duckdb')}' AS s`);
  await c.run(`CREATE TABLE s.${MARKER} AS SELECT 1 AS a`);
  await c.run('DETACH s');
  c.closeSync();
  plain.closeSync();
  symlinkSync(join(outside, 'secret.csv'), join(store.root, 'link.csv'));
  symlinkSync(join(outside, 'secret.parquet'), join(store.root, 'link.parquet'));
  symlinkSync(outside, join(store.root, 'reference', 'linkdir'));

  const work = join(base, 'work');
  mkdirSync(work);
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(readFileSync(join(outside, 'secret.parquet')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    store,
    outside,
    work,
    port,
    data,
    quarantined,
    damaged,
    stray,
    hits: () => hits,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The statements, each `[name, sql, answered]`: answered ones must return rows, the rest be refused. */
export function statements(s: Scene): [string, string, boolean][] {
  const o = (f: string) => join(s.outside, f);
  const url = `http://127.0.0.1:${s.port}/x.parquet`;
  const root = s.store.root;
  const writes: [string, string, boolean][] = [
    ['COPY to a file outside', `COPY (SELECT 1) TO '${o('out.csv')}'`, false],
    ['COPY over an artifact file', `COPY (SELECT 0.999 AS x) TO '${s.data}' (FORMAT parquet)`, false],
    ['COPY into the store', `COPY (SELECT 1) TO '${root}/new.parquet' (FORMAT parquet)`, false],
    ['COPY a view to JSON', `COPY artifacts TO '${o('a.json')}'`, false],
    ['COPY relative', `COPY (SELECT 1) TO 'rel.csv'`, false],
    ['COPY FROM a file', `COPY artifacts FROM '${o('secret.csv')}'`, false],
    ['CREATE TABLE', 'CREATE TABLE t AS SELECT 1', false],
    ['CREATE VIEW', 'CREATE VIEW v AS SELECT 1', false],
    ['CREATE OR REPLACE the artifacts view', 'CREATE OR REPLACE VIEW artifacts AS SELECT 1', false],
    ['CREATE MACRO', 'CREATE MACRO m(x) AS x', false],
    ['CREATE SEQUENCE', 'CREATE SEQUENCE q', false],
    ['CREATE SCHEMA', 'CREATE SCHEMA z', false],
    ['CREATE TYPE', "CREATE TYPE e AS ENUM ('a')", false],
    ['CREATE SECRET', "CREATE SECRET s (TYPE s3, KEY_ID 'x', SECRET 'y')", false],
    ['CREATE PERSISTENT SECRET', "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'x', SECRET 'y')", false],
    ['DROP SECRET', 'DROP SECRET s', false],
    ['INSERT', 'INSERT INTO artifacts SELECT * FROM artifacts', false],
    ['UPDATE', "UPDATE artifacts SET id = 'x'", false],
    ['DELETE', 'DELETE FROM artifacts', false],
    ['DROP VIEW', 'DROP VIEW artifacts', false],
    ['ALTER', 'ALTER VIEW artifacts RENAME TO b', false],
    ['ATTACH a new database outside', `ATTACH '${o('new.duckdb')}' AS n`, false],
    ['ATTACH the outside database', `ATTACH '${o('secret.duckdb')}' AS n (READ_ONLY)`, false],
    ['ATTACH inside the store', `ATTACH '${root}/db.duckdb'`, false],
    ['ATTACH in memory', "ATTACH ':memory:' AS m", false],
    ['ATTACH a URL', `ATTACH '${url}' AS u`, false],
    ['DETACH', 'DETACH memory', false],
    ['USE', 'USE system', false],
    ['SET external access', 'SET enable_external_access = true', false],
    ['SET allowed_directories', "SET allowed_directories = ['/']", false],
    ['SET lock_configuration', 'SET lock_configuration = false', false],
    ['SET GLOBAL', 'SET GLOBAL memory_limit = 1', false],
    ['RESET', 'RESET allowed_paths', false],
    ['PRAGMA', 'PRAGMA database_list', false],
    ['PRAGMA enable_profiling to a file', `PRAGMA profiling_output = '${o('prof.json')}'`, false],
    ['CALL', 'CALL pragma_version()', false],
    ['EXPORT DATABASE outside', `EXPORT DATABASE '${o('export')}'`, false],
    ['EXPORT DATABASE into an artifact', `EXPORT DATABASE '${s.data}.export'`, false],
    ['IMPORT DATABASE from outside', `IMPORT DATABASE '${s.outside}'`, false],
    ['IMPORT DATABASE from the store', `IMPORT DATABASE '${root}'`, false],
    ['INSTALL', 'INSTALL httpfs', false],
    ['FORCE INSTALL', 'FORCE INSTALL httpfs', false],
    ['INSTALL from a URL', `INSTALL httpfs FROM '${url}'`, false],
    ['LOAD', 'LOAD httpfs', false],
    ['LOAD a file', `LOAD '${o('x.duckdb_extension')}'`, false],
    ['UPDATE EXTENSIONS', 'UPDATE EXTENSIONS', false],
    ['CHECKPOINT', 'CHECKPOINT', false],
    ['VACUUM', 'VACUUM', false],
    ['BEGIN', 'BEGIN TRANSACTION', false],
    ['PREPARE', 'PREPARE p AS SELECT 1', false],
    ['EXPLAIN ANALYZE', `EXPLAIN ANALYZE SELECT * FROM read_parquet('${o('secret.parquet')}')`, false],
    ['two statements', `SELECT 1; COPY (SELECT 1) TO '${o('two.csv')}'`, false],
    ['a SELECT then an ATTACH', `SELECT 1; ATTACH '${o('x.duckdb')}'`, false],
  ];
  const reads: [string, string, boolean][] = [
    ['read_csv outside', `SELECT * FROM read_csv('${o('secret.csv')}')`, false],
    ['read_csv_auto outside', `SELECT * FROM read_csv_auto('${o('secret.csv')}')`, false],
    [
      'a binder error quoting a line of /etc/passwd',
      "SELECT *, count(*) FROM read_csv('/etc/passwd', header=true, delim='\\x01')",
      false,
    ],
    ['read_csv with skip', "SELECT * FROM read_csv('/etc/passwd', skip=3)", false],
    ['sniff_csv', `SELECT * FROM sniff_csv('${o('secret.csv')}')`, false],
    ['read_text outside', `SELECT * FROM read_text('${o('secret.txt')}')`, false],
    ['read_blob outside', `SELECT * FROM read_blob('${o('secret.txt')}')`, false],
    ['read_text of /proc', "SELECT * FROM read_text('/proc/self/environ')", false],
    ['read_json outside', `SELECT * FROM read_json('${o('secret.json')}')`, false],
    ['read_json_auto outside', `SELECT * FROM read_json_auto('${o('secret.json')}')`, false],
    ['read_json_objects outside', `SELECT * FROM read_json_objects('${o('secret.json')}')`, false],
    ['read_ndjson outside', `SELECT * FROM read_ndjson('${o('secret.json')}')`, false],
    ['read_ndjson_objects outside', `SELECT * FROM read_ndjson_objects('${o('secret.json')}')`, false],
    ['read_parquet outside', `SELECT * FROM read_parquet('${o('secret.parquet')}')`, false],
    ['parquet_scan outside', `SELECT * FROM parquet_scan('${o('secret.parquet')}')`, false],
    ['parquet_schema outside', `SELECT * FROM parquet_schema('${o('secret.parquet')}')`, false],
    ['parquet_metadata outside', `SELECT * FROM parquet_metadata('${o('secret.parquet')}')`, false],
    ['parquet_kv_metadata outside', `SELECT * FROM parquet_kv_metadata('${o('secret.parquet')}')`, false],
    ['parquet_file_metadata outside', `SELECT * FROM parquet_file_metadata('${o('secret.parquet')}')`, false],
    ['a file named as a table (CSV)', `SELECT * FROM '${o('secret.csv')}'`, false],
    ['a file named as a table (Parquet)', `SELECT * FROM '${o('secret.parquet')}'`, false],
    ['a file named as a table (JSON)', `SELECT * FROM "${o('secret.json')}"`, false],
    ['glob outside', `SELECT * FROM glob('${s.outside}/*')`, false],
    ['glob of the store', `SELECT * FROM glob('${root}/**')`, false],
    ['query()', `SELECT * FROM query('SELECT * FROM read_text(''${o('secret.txt')}'')')`, false],
    ['query_table()', "SELECT * FROM query_table('artifacts')", false],
    ['read_xlsx', `SELECT * FROM read_xlsx('${o('secret.csv')}')`, false],
    [
      'an outside file in a list with a store file',
      `SELECT * FROM read_parquet(['${s.data}', '${o('secret.parquet')}'])`,
      false,
    ],
    ['a path leaving the store by ..', `SELECT * FROM read_parquet('${root}/../outside/secret.parquet')`, false],
    ['a relative path leaving the store', "SELECT * FROM read_parquet('../outside/secret.parquet')", false],
    ['~', "SELECT * FROM read_parquet('~/secret.parquet')", false],
    ['a symlink in the store to an outside Parquet', `SELECT * FROM read_parquet('${root}/link.parquet')`, false],
    ['a symlink in the store to an outside CSV', `SELECT * FROM read_json_objects('${root}/link.csv')`, false],
    [
      'a symlinked folder in the store',
      `SELECT * FROM read_parquet('${root}/reference/linkdir/secret.parquet')`,
      false,
    ],
    ['a pattern through a symlinked folder', `SELECT * FROM read_parquet('${root}/reference/*/secret.parquet')`, false],
    ['a computed path', `SELECT * FROM read_parquet('${s.outside}' || '/secret.parquet')`, false],
    ['a path from a subquery', 'SELECT * FROM read_parquet((SELECT data_path FROM artifacts LIMIT 1))', false],
    ['a path from getvariable', "SELECT * FROM read_parquet(getvariable('x'))", false],
    ['an outside read in a CTE', `WITH x AS (SELECT * FROM read_csv('${o('secret.csv')}')) SELECT * FROM x`, false],
    [
      'an outside read in a WHERE subquery',
      `SELECT 1 WHERE 1 IN (SELECT 1 FROM read_parquet('${o('secret.parquet')}'))`,
      false,
    ],
    [
      'an outside read in a scalar subquery',
      `SELECT (SELECT count(*) FROM read_parquet('${o('secret.parquet')}'))`,
      false,
    ],
    ['an outside read in a UNION', `SELECT 1 UNION ALL SELECT 1 FROM read_parquet('${o('secret.parquet')}')`, false],
    [
      'an outside read in a LATERAL join',
      `SELECT * FROM range(1) r, LATERAL (SELECT * FROM read_parquet('${o('secret.parquet')}'))`,
      false,
    ],
    ['DESCRIBE an outside file', `DESCRIBE SELECT * FROM read_parquet('${o('secret.parquet')}')`, false],
    ['SUMMARIZE an outside file', `SUMMARIZE SELECT * FROM read_csv('${o('secret.csv')}')`, false],
    ['a quarantined file by name', `SELECT * FROM read_parquet('${s.quarantined}')`, false],
    ['a stray file by name', `SELECT * FROM read_parquet('${s.stray}')`, false],
    ['a damaged file by name', `SELECT count(*) FROM read_parquet('${s.damaged}')`, false],
    [
      'a pattern reaching a damaged file',
      `SELECT count(*) FROM read_parquet('${root}/reference/*/data.parquet')`,
      false,
    ],
    ['a temp-folder file', `SELECT * FROM read_parquet('${root}/_tmp/x.parquet')`, false],
    ['a run record through read_json', `SELECT run_id FROM read_json('${root}/_runs/*.json')`, true],
    ['the outside database through a table name', 'SELECT * FROM secret.main.tbl', false],
  ];
  const urls: [string, string, boolean][] = [
    ['read_parquet of an http URL', `SELECT * FROM read_parquet('${url}')`, false],
    ['read_parquet of an https URL', "SELECT * FROM read_parquet('https://example.invalid/x.parquet')", false],
    ['read_csv of a URL', `SELECT * FROM read_csv('${url}')`, false],
    ['read_json of a URL', `SELECT * FROM read_json('${url}')`, false],
    ['read_text of a URL', `SELECT * FROM read_text('${url}')`, false],
    ['an s3 URL', "SELECT * FROM read_parquet('s3://bucket/x.parquet')", false],
    ['a gcs URL', "SELECT * FROM read_parquet('gcs://bucket/x.parquet')", false],
    ['an hf URL', "SELECT * FROM read_parquet('hf://datasets/x/y.parquet')", false],
    ['an azure URL', "SELECT * FROM read_parquet('az://c/x.parquet')", false],
    ['a file URL', `SELECT * FROM read_parquet('file://${o('secret.parquet')}')`, false],
    ['a URL as a table name', `SELECT * FROM '${url}'`, false],
    ['a URL in a list', `SELECT * FROM read_parquet(['${s.data}', '${url}'])`, false],
    ['a URL pattern', `SELECT * FROM read_parquet('http://127.0.0.1:${s.port}/*.parquet')`, false],
  ];
  const echoes: [string, string, boolean][] = [
    ['a cast error over an outside CSV', `SELECT CAST(${MARKER} AS DATE) FROM read_csv('${o('secret.csv')}')`, false],
    [
      'a column of an outside Parquet named in an error',
      `SELECT nope FROM read_parquet('${o('secret.parquet')}')`,
      false,
    ],
    ['an outside JSON key named in an error', `SELECT nope FROM read_json('${o('secret.json')}')`, false],
    ['the error() function', "SELECT error('boom')", false],
    ['a binder error on the store views', 'SELECT nope FROM artifacts', false],
    ['a syntax error', 'SELEC 1', false],
    ['getenv', "SELECT getenv('HOME')", false],
  ];
  const answered: [string, string, boolean][] = [
    ['the artifacts view', 'SELECT count(*) FROM artifacts', true],
    ['the lineage view', 'SELECT count(*) FROM lineage', true],
    ['the runs and run_steps views', 'SELECT count(*) FROM runs, run_steps', true],
    ['a verified artifact file', `SELECT count(*) FROM read_parquet('${s.data}')`, true],
    [
      'a pattern over every stage, reaching the damaged file',
      `SELECT count(*) FROM read_parquet('${root}/*/*/data.parquet')`,
      false,
    ],
    ['parquet_metadata of an artifact file', `SELECT count(*) FROM parquet_metadata('${s.data}')`, true],
    ['the meta.json files', `SELECT json->>'stage' FROM read_json_objects('${root}/reference/*/meta.json')`, true],
    ['range', 'SELECT sum(range) FROM range(10)', true],
    ['unnest', 'SELECT * FROM unnest([1, 2])', true],
    ['duckdb_settings', "SELECT value FROM duckdb_settings() WHERE name = 'enable_external_access'", true],
    ['DESCRIBE a view', 'DESCRIBE artifacts', true],
    ['VALUES', 'VALUES (1), (2)', true],
    ['FROM-first', 'FROM artifacts SELECT stage', true],
  ];
  return [...writes, ...reads, ...urls, ...echoes, ...answered];
}

interface FileState {
  size: number;
  mtimeMs: number;
  atimeMs: number;
}

function tree(dir: string, out = new Map<string, FileState>()): Map<string, FileState> {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) out.set(p, { size: st.size, mtimeMs: st.mtimeMs, atimeMs: 0 });
    else if (st.isDirectory()) {
      out.set(`${p}/`, { size: 0, mtimeMs: 0, atimeMs: 0 });
      tree(p, out);
    } else out.set(p, { size: st.size, mtimeMs: st.mtimeMs, atimeMs: st.atimeMs });
  }
  return out;
}

const PAST = new Date('2000-01-01T00:00:00Z');

/** Runs every statement and observes what it did. */
export async function runAdversarialQueries(base: string): Promise<Outcome[]> {
  const s = await makeScene(base);
  const watched = [s.outside, s.store.root, s.work];
  // the files a statement must not read: everything outside, and the quarantined and stray ones (the damaged one is
  // read, by the checksum that finds it damaged, and never handed to DuckDB: its content reaching an answer is `leaked`)
  const guarded = (t: Map<string, FileState>) =>
    [...t.keys()].filter((p) => !p.endsWith('/') && (p.startsWith(s.outside) || p === s.quarantined || p === s.stray));
  const duckdbHome = join(homedir(), '.duckdb');
  const homeBefore = existsSync(duckdbHome);
  const cwd = process.cwd();
  process.chdir(s.work);
  const outcomes: Outcome[] = [];
  try {
    for (const [name, sql, shouldAnswer] of statements(s)) {
      for (const p of guarded(new Map(watched.flatMap((d) => [...tree(d)])))) utimesSync(p, PAST, statSync(p).mtime);
      const before = new Map(watched.flatMap((d) => [...tree(d)]));
      const atimes = new Map(guarded(before).map((p) => [p, statSync(p).atimeMs]));
      const hits0 = s.hits();
      let line: string;
      let answered = false;
      const warnings: string[] = [];
      let text = '';
      try {
        const res = await queryStore(s.store, sql, { memory_limit: '512MB', timeout_s: 20 }, (l) => warnings.push(l));
        answered = true;
        line = `ok: ${res.rows.length} rows`;
        text = JSON.stringify(res);
      } catch (err) {
        line = `xclass: ${(err as Error).message}`;
        text = line;
      }
      if (warnings.length > 0) line += ` [${warnings.join(' ')}]`;
      text += warnings.join('\n');
      const after = new Map(watched.flatMap((d) => [...tree(d)]));
      const written = [...after].filter(([p, st]) => {
        const b = before.get(p);
        return !b || b.size !== st.size || b.mtimeMs !== st.mtimeMs;
      });
      const removed = [...before.keys()].filter((p) => !after.has(p));
      const read = [...atimes].filter(([p, t]) => existsSync(p) && statSync(p).atimeMs !== t).map(([p]) => p);
      outcomes.push({
        name,
        sql,
        line,
        expected: shouldAnswer,
        answered,
        written: [...written.map(([p]) => p), ...removed.map((p) => `${p} (removed)`)],
        read,
        leaked: text.includes(MARKER) || /root:x:0:0/.test(text) || /PATH=|HOME=/.test(text),
        lookedUp: s.hits() - hits0 + (existsSync(duckdbHome) && !homeBefore ? 1 : 0),
      });
    }
  } finally {
    process.chdir(cwd);
    await s.close();
  }
  return outcomes;
}
