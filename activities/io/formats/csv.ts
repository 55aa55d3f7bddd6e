import { createReadStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../../lib/errors.js';
import { sqlIdent, sqlString, withConnection, withLiteralPath } from '../../../artifacts/duckdb.js';
import type { TargetTable } from '../table.js';
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
  const named = namedRecords(header, records);
  const lines = recordStartLines(text)
    .filter((line) => line > headerIndex + 1 && !physicalLines[line - 1]?.startsWith('#'))
    .slice(0, named.length);
  return { file: displayName, header, records: named, lines };
}

/** DuckDB's text columns (c0..cN, all VARCHAR) as records under the header's names, trimmed, an empty field NULL. */
function namedRecords(
  header: readonly string[],
  columns: readonly (readonly (string | null)[])[],
): Record<string, string | null>[] {
  const n = columns[0]?.length ?? 0;
  const records = new Array<Record<string, string | null>>(n);
  for (let r = 0; r < n; r++) {
    const out: Record<string, string | null> = {};
    for (let i = 0; i < header.length; i++) {
      const v = columns[i]?.[r]?.trim();
      out[header[i]!] = v === undefined || v === '' ? null : v;
    }
    records[r] = out;
  }
  return records;
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

/**
 * A band of declinations a zone reads (lib/sky/zones.ts): the rows whose column, as a
 * number times `scale`, lies in [lo, hi] degrees, and every row whose value is not such a
 * number or not a declination at all (text, sexagesimal, empty, out of range), so that the
 * caller parses and checks it as it would in the whole table. A superset of the rows in
 * the band, never a subset.
 */
export interface DecBand {
  scale: number;
  lo: number;
  hi: number;
}

/** A table read a band of declinations at a time (registry.ts openTableZones). */
export interface ZonedTable {
  header: string[];
  /** every row whose declination column is in [lo, hi] degrees, or is not a plain number in [-90, 90] */
  read(lo: number, hi: number): Promise<TargetTable>;
  /** how many rows the table has, and the declinations (degrees) of those whose is a plain number in [-90, 90] */
  census(): Promise<DecCensus>;
}

export interface DecCensus {
  rows: number;
  decs: Float64Array;
}

/** A column's value as a declination in degrees (SQL), NULL when it is not a number. */
const decSql = (expr: string, scale: number) => `(TRY_CAST(trim(CAST(${expr} AS VARCHAR)) AS DOUBLE) * ${scale})`;

/** The band as a DuckDB condition on one column (its SQL expression). */
export function decBandSql(expr: string, band: DecBand): string {
  return inBandSql(decSql(expr, band.scale), band);
}

/** The band as a DuckDB condition on a declination in degrees (`v`, NULL when not a number): kept unless a plain number outside the band. */
function inBandSql(v: string, band: Pick<DecBand, 'lo' | 'hi'>): string {
  return `(${v} IS NULL OR isnan(${v}) OR ${v} < -90 OR ${v} > 90 OR ${v} BETWEEN ${band.lo} AND ${band.hi})`;
}

/** The census of a table DuckDB reads as `relation`, its declinations in the column `expr`. */
export async function censusSql(relation: string, expr: string, scale: number): Promise<DecCensus> {
  const v = decSql(expr, scale);
  return withConnection(async (conn) => {
    const rows = Number(
      ((await conn.runAndReadAll(`SELECT count(*) FROM ${relation}`)).getColumnsJS()[0] as bigint[])[0] ?? 0,
    );
    const decs = (
      await conn.runAndReadAll(`SELECT v FROM (SELECT ${v} AS v FROM ${relation}) WHERE v BETWEEN -90 AND 90`)
    ).getColumnsJS()[0] as number[];
    return { rows, decs: Float64Array.from(decs ?? []) };
  });
}

/** What one streamed pass over a delimited file tells its reader: the header, comments, and where every record starts. */
interface DelimitedScan {
  /** 0-based index of the header line (the first that is not a # comment) */
  headerIndex: number;
  headerLine: string;
  /** whether a # line follows a newline anywhere (DuckDB is then told to skip comments) */
  comments: boolean;
  /** the 1-based line each data record starts on, as readCsv counts them */
  starts: Int32Array;
}

/**
 * One pass over a delimited file in chunks, holding 4 bytes per record (not the text):
 * the same header, comment and record-start rules as readCsv, which reads the whole text.
 * Written by hand because no CSV library reports the physical line of each record across
 * quoted newlines the way readCsv's errors name them.
 */
async function scanDelimited(path: string, displayName: string): Promise<DelimitedScan> {
  let starts = new Int32Array(1 << 16);
  let n = 0;
  let line = 1;
  let inQuotes = false;
  let atLineStart = true;
  let lineIsComment = false;
  let lineHasContent = false;
  let headerIndex = -1;
  let header: number[] = [];
  let comments = false;
  let hasData = false;
  // a record start pushed at a line's start is dropped if that line turns out to be a comment
  let pendingStart = -1;
  let prevNewline = false;
  const endLine = () => {
    if (headerIndex < 0 && !lineIsComment) headerIndex = line - 1;
    else if (headerIndex >= 0 && line - 1 > headerIndex && !lineIsComment && lineHasContent) hasData = true;
  };
  const push = (v: number) => {
    if (n === starts.length) {
      const grown = new Int32Array(starts.length * 2);
      grown.set(starts);
      starts = grown;
    }
    starts[n++] = v;
  };
  let sawAny = false;
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      for (let i = 0; i < chunk.length; i++) {
        const ch = chunk[i]!;
        sawAny = true;
        if (atLineStart) {
          atLineStart = false;
          lineIsComment = ch === 35; /* # */
          lineHasContent = false;
          if (lineIsComment && prevNewline) comments = true;
          if (pendingStart >= 0) {
            if (!lineIsComment && headerIndex >= 0 && pendingStart > headerIndex + 1) push(pendingStart);
            pendingStart = -1;
          }
        }
        if (headerIndex < 0 && !lineIsComment && ch !== 10 && ch !== 13) header.push(ch);
        if (ch !== 10 && ch !== 13 && ch !== 32 && ch !== 9) lineHasContent = true;
        if (ch === 34 /* " */) inQuotes = !inQuotes;
        else if (ch === 10 /* \n */) {
          endLine();
          line++;
          atLineStart = true;
          prevNewline = true;
          // readCsv's recordStartLines: a record starts after a newline outside quotes (not after the last byte)
          if (!inQuotes) pendingStart = line;
          continue;
        }
        prevNewline = false;
      }
    }
  } catch (err) {
    throw new InputError(
      { file: displayName },
      `cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)}: ${path})`,
    );
  }
  if (!atLineStart) endLine();
  if (!sawAny || headerIndex < 0)
    throw new InputError({ file: displayName }, 'file is empty, expected a header line and data rows');
  if (!hasData) throw new InputError({ file: displayName, row: headerIndex + 2 }, 'no data rows after the header');
  return {
    headerIndex,
    headerLine: Buffer.from(header).toString('utf8'),
    comments,
    starts: starts.subarray(0, n),
  };
}

/**
 * A delimited file read zone by zone (`ZonedTable`): DuckDB's CSV reader converts it once
 * to a Parquet file in `dir` with each record's number (one thread, so the numbers follow
 * the file) and its declination in degrees, sorted by declination (NULL last), so that a
 * band reads only the row groups whose declinations reach it (Parquet's min/max per row
 * group: 0.4-0.7 s a band of a 10^7-row catalog against 5.6-6.0 s scanning it whole, for
 * the same conversion time); the rows outside never reach JavaScript, and a band's rows
 * come back in the file's order. The records, text and line numbers are readCsv's.
 */
export async function openCsvZones(
  path: string,
  displayName: string,
  column: string,
  scale: number,
  dir: string,
  opts: { delimiter?: string } = {},
): Promise<ZonedTable> {
  const scan = await scanDelimited(path, displayName);
  const headerLine = scan.headerLine.replace(/\r$/, '');
  const delim = opts.delimiter ?? textDelimiter(headerLine);
  const header = splitHeader(headerLine, delim);
  checkHeader(header, displayName, scan.headerIndex + 1);
  const at = header.indexOf(column);
  if (at < 0) throw new InputError({ file: displayName, row: 1, column }, `required column is missing from the header`);
  const converted = join(dir, 'records.parquet');
  await withLiteralPath(path, (literal) =>
    withConnection(async (conn) => {
      try {
        const columns = header.map((_, i) => `${sqlString(`c${i}`)}: 'VARCHAR'`).join(', ');
        const comments = scan.headerIndex > 0 || scan.comments ? `, comment = '#'` : '';
        const options = `header = true, all_varchar = true, delim = ${sqlString(delim)}, quote = '"', escape = '"', auto_detect = false, parallel = false${comments}`;
        await conn.run(
          `COPY (SELECT *, ${decSql(sqlIdent(`c${at}`), scale)} AS xclass_dec FROM (SELECT row_number() OVER () AS xclass_record, * FROM read_csv(${sqlString(literal)}, ${options}, columns = {${columns}})) ORDER BY xclass_dec NULLS LAST, xclass_record) TO ${sqlString(converted)} (FORMAT parquet)`,
        );
      } catch (err) {
        const first = (err as Error).message.split('\n').find((l) => l.trim() !== '') ?? String(err);
        throw new InputError({ file: displayName }, `not a valid delimited file: ${first}`);
      }
    }),
  );
  return {
    header,
    read: async (lo, hi) => {
      const columns = await withConnection(async (conn) => {
        const reader = await conn.runAndReadAll(
          `SELECT * EXCLUDE (xclass_dec) FROM read_parquet(${sqlString(converted)}) WHERE ${inBandSql('xclass_dec', { lo, hi })} ORDER BY xclass_record`,
        );
        return reader.getColumnsJS() as (string | bigint | null)[][];
      });
      // the record numbers first, then c0..cN
      const numbers = (columns[0] ?? []) as bigint[];
      const records = namedRecords(header, columns.slice(1) as (string | null)[][]);
      const lines = numbers.map((n) => scan.starts[Number(n) - 1]!);
      return { file: displayName, header, records, lines };
    },
    census: () => censusSql(`read_parquet(${sqlString(converted)})`, sqlIdent(`c${at}`), scale),
  };
}
