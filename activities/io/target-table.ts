import { InputError } from '../../lib/errors.js';
import { sqlString, withConnection, withLiteralPath } from '../../artifacts/duckdb.js';
import { readCsv } from './csv.js';
import { checkHeader } from './validate.js';

/** A target table as read: column names, each record by name, and where each record is in the file. */
export interface TargetTable {
  file: string;
  header: string[];
  records: Record<string, unknown>[];
  /** the 1-based line of each record in a text file; the 1-based row in a Parquet file */
  lines: number[];
}

/**
 * Reads a target table: CSV, TSV (by extension) or Parquet. Text tables go through the
 * same reader as the training table (every field as text, lines counted for errors);
 * the path is always the literal file, never a pattern.
 */
export async function readTargetTable(path: string, file: string): Promise<TargetTable> {
  if (!/\.parquet$/i.test(file)) return readCsv(path, file, /\.tsv$/i.test(file) ? { delimiter: '\t' } : {});
  const { header, records } = await withLiteralPath(path, (literal) =>
    withConnection(async (conn) => {
      try {
        const r = await conn.runAndReadAll(`SELECT * FROM read_parquet(${sqlString(literal)})`);
        return { header: r.columnNames(), records: r.getRowObjectsJS() as Record<string, unknown>[] };
      } catch (err) {
        throw new InputError({ file }, `cannot read as Parquet: ${(err as Error).message.split('\n')[0]}`);
      }
    }),
  );
  checkHeader(header, file, 1);
  return { file, header, records, lines: records.map((_, i) => i + 1) };
}
