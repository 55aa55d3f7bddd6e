import { randomBytes } from 'node:crypto';
import { firstIssue } from '../schemas/issues.js';
import type { DuckDBAppender } from '@duckdb/node-api';
import { columnTypes, type ColumnType, type TableSchema } from '../schemas/table.js';
import { InputError } from '../lib/errors.js';
import { sqlIdent, sqlString, withConnection } from './duckdb.js';

/**
 * Validates every row against the table schema. The error names the artifact (or
 * file), the row index, the column and the offending value.
 */
export function validateRows(table: TableSchema, rows: readonly unknown[], where: string): void {
  for (let i = 0; i < rows.length; i++) {
    const result = table.row.safeParse(rows[i]);
    if (!result.success) {
      const issue = firstIssue(result.error);
      const column = issue.key || undefined;
      const row = rows[i] as Record<string, unknown> | undefined;
      const value = column !== undefined && row !== null && typeof row === 'object' ? row[column] : row;
      throw new InputError({ file: where, row: i, column, value }, `${issue.message} (schema ${table.name})`);
    }
  }
}

function appendValue(app: DuckDBAppender, col: ColumnType, value: unknown): void {
  if (value === null || value === undefined) return app.appendNull();
  switch (col.type) {
    case 'DOUBLE':
      return app.appendDouble(value as number);
    case 'INTEGER':
      return app.appendInteger(value as number);
    case 'VARCHAR':
      return app.appendVarchar(value as string);
    case 'BOOLEAN':
      return app.appendBoolean(value as boolean);
  }
}

/** Writes validated rows to a Parquet file (snappy: the codec every Parquet reader has), with the column types the schema declares. */
export async function writeParquet(
  table: TableSchema,
  rows: readonly Record<string, unknown>[],
  path: string,
): Promise<void> {
  const cols = columnTypes(table);
  const tmpTable = `w_${randomBytes(6).toString('hex')}`;
  await withConnection(async (conn) => {
    const ddl = cols.map((c) => `${sqlIdent(c.name)} ${c.type}${c.nullable ? '' : ' NOT NULL'}`).join(', ');
    await conn.run(`CREATE TABLE ${tmpTable} (${ddl})`);
    const app = await conn.createAppender(tmpTable);
    for (const row of rows) {
      for (const c of cols) appendValue(app, c, row[c.name]);
      app.endRow();
    }
    app.closeSync();
    await conn.run(`COPY ${tmpTable} TO ${sqlString(path)} (FORMAT parquet, COMPRESSION snappy)`);
    await conn.run(`DROP TABLE ${tmpTable}`);
  });
}

/** Reads a Parquet file written by writeParquet and validates it against the schema. */
export async function readParquet<T extends TableSchema>(
  table: T,
  path: string,
  where: string,
): Promise<Record<string, unknown>[]> {
  const rows = await withConnection(async (conn) => {
    const reader = await conn.runAndReadAll(`SELECT * FROM read_parquet(${sqlString(path)})`);
    return reader.getRowObjectsJS() as Record<string, unknown>[];
  });
  const expected = columnTypes(table).map((c) => c.name);
  const first = rows[0];
  if (first) {
    const actual = Object.keys(first);
    const missing = expected.filter((c) => !actual.includes(c));
    if (missing.length > 0)
      throw new InputError(
        { file: where, column: missing[0] },
        `column missing from Parquet file (schema ${table.name})`,
      );
  }
  validateRows(table, rows, where);
  return rows;
}
