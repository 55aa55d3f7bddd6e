import { promises as fs } from 'node:fs';
import { InputError } from '../../../lib/errors.js';
import { sqlString, withConnection, withLiteralPath } from '../../../artifacts/duckdb.js';
import { checkHeader, measurement, type ColumnKind, type NoDataCounts } from '../validate.js';

export interface CsvTable {
  file: string;
  header: string[];
  /** each record as text (NULL for an empty field), keyed by header name */
  records: Record<string, string | null>[];
  /** the 1-based line in the file of each record */
  lines: number[];
}

/**
 * The delimiter of a comma-separated file: a comma, unless its header line has none and
 * is split by semicolons (as spreadsheets write CSV where the comma is the decimal mark)
 * or vertical bars.
 */
export function textDelimiter(headerLine: string): string {
  if (headerLine.includes(',')) return ',';
  for (const d of [';', '|']) if (headerLine.includes(d)) return d;
  return ',';
}

/**
 * Reads a delimited text file with DuckDB's CSV reader, every field as text, so the
 * caller parses and validates each value itself and can name the line of a bad one.
 * Lines starting with `#` (comments, as archives and astropy write above and among
 * the rows; ECSV's YAML header) are skipped, and the line numbers still count them.
 */
export async function readCsv(path: string, displayName: string, opts: { delimiter?: string } = {}): Promise<CsvTable> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(
      { file: displayName },
      `cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)}: ${path})`,
    );
  }
  const physicalLines = text.split(/\r?\n/);
  while (physicalLines.length > 0 && physicalLines[physicalLines.length - 1]!.trim() === '') physicalLines.pop();
  const headerIndex = physicalLines.findIndex((l) => !l.startsWith('#'));
  if (physicalLines.length === 0 || headerIndex < 0)
    throw new InputError({ file: displayName }, 'file is empty, expected a header line and data rows');
  const headerLine = physicalLines[headerIndex]!;
  const delim = opts.delimiter ?? textDelimiter(headerLine);
  const header = splitHeader(headerLine, delim);
  checkHeader(header, displayName, headerIndex + 1);
  if (!physicalLines.slice(headerIndex + 1).some((l) => !l.startsWith('#')))
    throw new InputError({ file: displayName, row: headerIndex + 2 }, 'no data rows after the header');

  const records = await withLiteralPath(path, (literal) =>
    withConnection(async (conn) => {
      try {
        // every column as text under a positional name (c0, c1, ...): the header is checked by us, values parsed by us
        const columns = header.map((_, i) => `${sqlString(`c${i}`)}: 'VARCHAR'`).join(', ');
        // DuckDB skips the # lines itself (a `skip` would count the lines after them)
        const comments = headerIndex > 0 || text.includes('\n#') ? `, comment = '#'` : '';
        const options = `header = true, all_varchar = true, delim = ${sqlString(delim)}, quote = '"', escape = '"', auto_detect = false${comments}`;
        const reader = await conn.runAndReadAll(
          `SELECT * FROM read_csv(${sqlString(literal)}, ${options}, columns = {${columns}})`,
        );
        // by column: no intermediate object per row under the positional names
        return reader.getColumnsJS() as (string | null)[][];
      } catch (err) {
        const first = (err as Error).message.split('\n').find((l) => l.trim() !== '') ?? String(err);
        throw new InputError({ file: displayName }, `not a valid delimited file: ${first}`);
      }
    }),
  );
  // DuckDB numbered the columns c0..cN; each record gets them under their header names
  const nRecords = records[0]?.length ?? 0;
  const named: Record<string, string | null>[] = new Array<Record<string, string | null>>(nRecords);
  for (let r = 0; r < nRecords; r++) {
    const out: Record<string, string | null> = {};
    for (let i = 0; i < header.length; i++) {
      const v = records[i]?.[r]?.trim();
      out[header[i]!] = v === undefined || v === '' ? null : v;
    }
    named[r] = out;
  }
  const lines = recordStartLines(text)
    .filter((line) => line > headerIndex + 1 && !physicalLines[line - 1]?.startsWith('#'))
    .slice(0, named.length);
  return { file: displayName, header, records: named, lines };
}

/** Header names split on the delimiter; for a space-delimited header (ECSV), runs of spaces and quoted names. */
function splitHeader(line: string, delim: string): string[] {
  if (delim !== ' ') return line.split(delim).map((h) => h.trim());
  return (line.trim().match(/"(?:[^"]|"")*"|\S+/g) ?? []).map((h) =>
    h.startsWith('"') ? h.slice(1, -1).replace(/""/g, '"') : h,
  );
}

/**
 * The 1-based line on which each record starts (the header is record 0). A quoted
 * field may span lines, so this follows quotes rather than counting newlines.
 */
function recordStartLines(text: string): number[] {
  const starts: number[] = [1];
  let line = 1;
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 34 /* " */) inQuotes = !inQuotes;
    else if (ch === 10 /* \n */) {
      line++;
      if (!inQuotes && i + 1 < text.length) starts.push(line);
    }
  }
  return starts;
}

/** Every required column must be in the header; the error names the first missing one. */
export function requireColumns(table: CsvTable, columns: readonly string[]): void {
  for (const c of columns) {
    if (!table.header.includes(c))
      throw new InputError({ file: table.file, row: 1, column: c }, `required column is missing from the header`);
  }
}

/** A measurement field: the shared parser, no-data sentinels and the range of its kind (io/validate.ts). */
export function measurementField(
  table: CsvTable,
  i: number,
  column: string,
  kind: ColumnKind,
  noData: readonly number[],
  counts: NoDataCounts,
): number | null {
  return measurement(
    { file: table.file, row: table.lines[i]!, column },
    table.records[i]![column],
    kind,
    noData,
    counts,
  );
}

export function textField(table: CsvTable, i: number, column: string): string | null {
  return table.records[i]![column] ?? null;
}
