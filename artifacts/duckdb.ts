import { rmSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { threadId } from 'node:worker_threads';
import { extname, join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

let instance: Promise<DuckDBInstance> | undefined;

/**
 * One in-memory DuckDB per process. It holds no database file, so no process ever
 * takes a write lock: artifacts are plain Parquet/JSON files that any number of
 * workers write and DuckDB reads.
 */
export async function withConnection<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const conn = await connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
  }
}

/**
 * Where this thread's DuckDB spills: one folder per thread (each thread of a process has
 * its own instance, and two instances must not share their spill files), made by DuckDB
 * when it first spills and removed when the thread or process exits, so none is left in
 * the system's temporary folder.
 */
export const duckdbTempDir = join(tmpdir(), `xclass-duckdb-${process.pid}-${threadId}`);

async function connect(): Promise<DuckDBConnection> {
  if (!instance) {
    process.once('exit', () => rmSync(duckdbTempDir, { recursive: true, force: true }));
    instance = DuckDBInstance.create(':memory:', {
      threads: '2',
      // a merge of millions of rows sorts beyond this on disk, not in the process's memory. The
      // process's peak follows it (bench/classify.ts child, 3x10^5 x 10^6 sources, 2 cores): 1 GB
      // 2.2 GB, 512 MB 2.1 GB, 256 MB 1.2 GB, in 134 s each; a 10^7-row CSV catalog still converts
      // and sorts within it (10^4 x 10^7: 168 s at 512 MB, 178 s at 256 MB, 1.65 GB either way)
      memory_limit: process.env['XCLASS_DUCKDB_MEMORY'] ?? '256MB',
      temp_directory: duckdbTempDir,
    });
  }
  return (await instance).connect();
}

/**
 * A query's rows as JS values (BIGINT as bigint), streamed in parts of at least `size`
 * rows (the last may be smaller), so a result of millions of rows is never held whole.
 * The connection closes when the loop ends, however it ends.
 */
export async function* streamRows(sql: string, size = 16_384): AsyncGenerator<unknown[][]> {
  const conn = await connect();
  try {
    const result = await conn.stream(sql);
    let part: unknown[][] = [];
    for await (const rows of result.yieldRowsJs()) {
      for (const r of rows) part.push(r);
      if (part.length >= size) {
        yield part;
        part = [];
      }
    }
    if (part.length > 0) yield part;
  } finally {
    conn.closeSync();
  }
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export function sqlIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/**
 * DuckDB's file readers expand glob patterns (`*`, `?`, `[...]`, `{a,b}`) and `~` in a
 * path, so `t*.csv` would read every matching file while the artifact records one. A
 * path holding any of those characters is read through a symlink with a plain name, so
 * a user's table path is always the one literal file it names.
 */
export async function withLiteralPath<T>(path: string, fn: (safePath: string) => Promise<T>): Promise<T> {
  if (!/[*?[\]{}~]/.test(path)) return fn(path);
  const dir = await mkdtemp(join(tmpdir(), 'xclass-literal-'));
  try {
    const alias = join(dir, `table${extname(path).replace(/[^A-Za-z0-9.]/g, '')}`);
    await symlink(resolve(path), alias);
    return await fn(alias);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
