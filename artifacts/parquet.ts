import { randomBytes } from 'node:crypto';
import { firstIssue } from '../schemas/issues.js';
import { DOUBLE, DuckDBDataChunk, INTEGER, VARCHAR, type DuckDBAppender, type DuckDBType } from '@duckdb/node-api';
import { columnPredicates, columnTypes, type ColumnType, type TableSchema } from '../schemas/table.js';
import { InputError } from '../lib/errors.js';
import { sqlIdent, sqlString, withConnection } from './duckdb.js';

/**
 * Validates every row against the table schema. The error names the artifact (or
 * file), the row index, the column and the offending value: the first row zod rejects,
 * with zod's own message. The rows are checked a column at a time by predicates exact
 * to the schema (columnPredicates); only a row one of them, or its key count, flags is
 * parsed by zod as an object (a strict object: exactly the declared columns).
 */
export function validateRows(table: TableSchema, rows: readonly unknown[], where: string): void {
  const columns = columnPredicates(table);
  const flagged = new Uint8Array(rows.length);
  let any = false;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    // no column is optional (columnTypes refuses one), so with every column's value accepted an
    // equal key count means no key beside them
    if (row === null || typeof row !== 'object' || Array.isArray(row) || Object.keys(row).length !== columns.length) {
      flagged[i] = 1;
      any = true;
    }
  }
  for (const { name, accepts } of columns)
    for (let i = 0; i < rows.length; i++)
      if (!flagged[i] && !accepts((rows[i] as Record<string, unknown>)[name])) {
        flagged[i] = 1;
        any = true;
      }
  if (!any) return;
  for (let i = 0; i < rows.length; i++) if (flagged[i]) checkRow(table, rows[i], i, where);
}

/** One row parsed by zod as the table's strict object; throws validateRows's error (row `index`) when zod rejects it. */
export function checkRow(table: TableSchema, row: unknown, index: number, where: string): void {
  const result = table.row.safeParse(row);
  if (result.success) return;
  const issue = firstIssue(result.error);
  const column = issue.key || undefined;
  const value =
    column !== undefined && row !== null && typeof row === 'object' ? (row as Record<string, unknown>)[column] : row;
  throw new InputError({ file: where, row: index, column, value }, `${issue.message} (schema ${table.name})`);
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
  const ddl = cols.map((c) => `${sqlIdent(c.name)} ${c.type}${c.nullable ? '' : ' NOT NULL'}`).join(', ');
  await appendAndCopy(ddl, path, (app) => {
    for (const row of rows) {
      for (const c of cols) appendValue(app, c, row[c.name]);
      app.endRow();
    }
  });
}

/** A Parquet file (snappy) of a table of columns `ddl` that `fill` appends to: a temporary table, copied, dropped. */
async function appendAndCopy(ddl: string, path: string, fill: (app: DuckDBAppender) => void): Promise<void> {
  const tmpTable = `w_${randomBytes(6).toString('hex')}`;
  await withConnection(async (conn) => {
    await conn.run(`CREATE TABLE ${tmpTable} (${ddl})`);
    try {
      const app = await conn.createAppender(tmpTable);
      fill(app);
      app.closeSync();
      await conn.run(`COPY ${tmpTable} TO ${sqlString(path)} (FORMAT parquet, COMPRESSION snappy)`);
    } finally {
      await conn.run(`DROP TABLE ${tmpTable}`);
    }
  });
}

/** A column for writeColumns: its values in row order (a DOUBLE is NULL where `known` is 0). */
export type ColumnValues =
  | { name: string; type: 'DOUBLE'; values: Float64Array; known?: Uint8Array }
  | { name: string; type: 'INTEGER'; values: Uint8Array | Int32Array }
  | { name: string; type: 'VARCHAR'; values: readonly string[] };

const CHUNK_TYPES: Record<ColumnValues['type'], DuckDBType> = { DOUBLE, INTEGER, VARCHAR };

/**
 * Writes columns of `rows` values each to a Parquet file (snappy), appended as DuckDB data
 * chunks: the numbers of a column's 2,048 rows reach DuckDB in one copy, where the appender
 * (writeParquet) makes a call per value. The long tables of a classified field (tens of
 * columns by 10^4 sources a zone) are written so, as an intermediate file a SELECT then reads
 * (writeParquetSelect); the caller checks the values against its schema first.
 */
export async function writeColumns(columns: readonly ColumnValues[], rows: number, path: string): Promise<void> {
  for (const c of columns)
    if (c.values.length !== rows)
      throw new Error(`writeColumns: column ${c.name} has ${c.values.length} values, not ${rows}`);
  const types = columns.map((c) => CHUNK_TYPES[c.type]);
  await appendAndCopy(columns.map((c) => `${sqlIdent(c.name)} ${c.type}`).join(', '), path, (app) => {
    const size = 2048;
    for (let at = 0; at < rows; at += size) {
      const n = Math.min(size, rows - at);
      const chunk = DuckDBDataChunk.create(types, n);
      columns.forEach((c, ci) => {
        const part: (number | string | null)[] = new Array<number | string | null>(n);
        if (c.type === 'DOUBLE' && c.known)
          for (let i = 0; i < n; i++) part[i] = c.known[at + i] ? c.values[at + i]! : null;
        else for (let i = 0; i < n; i++) part[i] = c.values[at + i]!;
        chunk.setColumnValues(ci, part);
      });
      app.appendDataChunk(chunk);
    }
  });
}

/**
 * Writes a table from a SQL query (`from`: a relation `x` holding the schema's columns, over
 * Parquet files of other artifacts whose digests the caller checked; `order`: the rows'
 * order), each column cast to the schema's type, streamed by DuckDB's COPY (its sort spills to disk rather than hold
 * the rows), so the rows never reach JavaScript and the file is the one writeParquet
 * writes for the same rows. The caller checks the layout and counts the rows after.
 */
export async function writeParquetSelect(
  table: TableSchema,
  query: { from: string; order: string },
  path: string,
): Promise<void> {
  // the rows' columns are the relation `x`'s
  const cols = columnTypes(table)
    .map((c) => `CAST(x.${sqlIdent(c.name)} AS ${c.type}) AS ${sqlIdent(c.name)}`)
    .join(', ');
  await withConnection((conn) =>
    conn.run(
      `COPY (SELECT ${cols} FROM ${query.from} ORDER BY ${query.order}) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION snappy)`,
    ),
  );
}

/**
 * The read-back of a Parquet file just written: DuckDB opens it and reports its columns,
 * their types, its row count and the NULLs in each column declared NOT NULL, all in SQL,
 * without turning the rows into JS objects (which cost more than writing them). The
 * values themselves were checked against the schema before they were appended, through
 * typed appenders. Returns the row count; throws when a column is missing, extra, of
 * another type or holds a NULL it may not.
 */
export async function parquetLayoutCheck(table: TableSchema, path: string, where: string): Promise<number> {
  const cols = columnTypes(table);
  return withConnection(async (conn) => {
    const file = `read_parquet(${sqlString(path)})`;
    const described = (await (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${file}`)).getRowObjectsJS()) as {
      column_name: string;
      column_type: string;
    }[];
    const found = described.map((d) => `${d.column_name} ${d.column_type}`).join(', ');
    const wanted = cols.map((c) => `${c.name} ${c.type}`).join(', ');
    if (found !== wanted)
      throw new InputError(
        { file: where },
        `Parquet file has columns (${found}), the schema ${table.name} declares (${wanted})`,
      );
    const notNull = cols.filter((c) => !c.nullable);
    const counts = [
      'count(*) AS n',
      ...notNull.map((c, k) => `count(*) FILTER (WHERE ${sqlIdent(c.name)} IS NULL) AS z${k}`),
    ];
    const row = (await (await conn.runAndReadAll(`SELECT ${counts.join(', ')} FROM ${file}`)).getRowObjectsJS())[0] as
      Record<string, bigint | number> | undefined;
    if (!row) throw new InputError({ file: where }, `Parquet file reports no row count (schema ${table.name})`);
    notNull.forEach((c, k) => {
      if (Number(row[`z${k}`]) > 0)
        throw new InputError(
          { file: where, column: c.name },
          `NULL in a column declared NOT NULL (schema ${table.name})`,
        );
    });
    return Number(row['n']);
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
