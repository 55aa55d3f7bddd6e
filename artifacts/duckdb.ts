import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

let instance: Promise<DuckDBInstance> | undefined;

/**
 * One in-memory DuckDB per process. It holds no database file, so no process ever
 * takes a write lock: artifacts are plain Parquet/JSON files that any number of
 * workers write and DuckDB reads.
 */
export async function withConnection<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  instance ??= DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await (await instance).connect();
  try {
    return await fn(conn);
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
