import type { DuckDBResultReader } from '@duckdb/node-api';
import { InputError } from '../../../lib/errors.js';
import { sqlIdent, sqlString, withConnection, withLiteralPath } from '../../../artifacts/duckdb.js';
import { censusSql, decBandSql } from './csv.js';
import { checked, type TableFormatReader } from './format.js';

/** A Parquet file read by DuckDB, always as the literal file (never a pattern). */
async function readParquetFile<T>(
  path: string,
  file: string,
  sql: (literal: string) => string,
  take: (r: DuckDBResultReader) => T,
): Promise<T> {
  return withLiteralPath(path, (literal) =>
    withConnection(async (conn) => {
      try {
        return take(await conn.runAndReadAll(sql(sqlString(literal))));
      } catch (err) {
        throw new InputError({ file }, `cannot read as Parquet: ${(err as Error).message.split('\n')[0]}`);
      }
    }),
  );
}

/** Parquet (`PAR1`): read by DuckDB; its schema gives the header without the rows. */
export const PARQUET_FORMAT: TableFormatReader = {
  name: 'parquet',
  identify: (_head, text) => text.startsWith('PAR1'),
  read: async (path, file) => {
    const { header, records } = await readParquetFile(
      path,
      file,
      (literal) => `SELECT * FROM read_parquet(${literal})`,
      (r) => ({ header: r.columnNames(), records: r.getRowObjectsJS() as Record<string, unknown>[] }),
    );
    return checked({ file, header, records, lines: records.map((_, i) => i + 1) });
  },
  zones: async (path, file, column, scale) => {
    const header = await PARQUET_FORMAT.header!(path, file);
    if (!header.includes(column))
      throw new InputError({ file, row: 1, column }, 'required column is missing from the header');
    return {
      header,
      read: async (lo, hi) => {
        const { records, lines } = await readParquetFile(
          path,
          file,
          (literal) =>
            `SELECT * FROM read_parquet(${literal}, file_row_number = true) WHERE ${decBandSql(sqlIdent(column), { scale, lo, hi })} ORDER BY file_row_number`,
          (r) => {
            const rows = r.getRowObjectsJS() as Record<string, unknown>[];
            // the row number is the reader's, not a column of the file
            const lines = rows.map((row) => Number(row['file_row_number']) + 1);
            for (const row of rows) delete row['file_row_number'];
            return { records: rows, lines };
          },
        );
        return checked({ file, header, records, lines });
      },
      census: () =>
        withLiteralPath(path, (literal) =>
          censusSql(`read_parquet(${sqlString(literal)})`, sqlIdent(column), scale).catch((err: Error) => {
            throw new InputError({ file }, `cannot read as Parquet: ${err.message.split('\n')[0]}`);
          }),
        ),
    };
  },
  header: (path, file) =>
    readParquetFile(
      path,
      file,
      (literal) => `SELECT * FROM read_parquet(${literal}) LIMIT 0`,
      (r) => r.columnNames(),
    ),
  declaresUnits: false,
};
