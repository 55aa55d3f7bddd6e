import { stringify as yamlStringify } from 'yaml';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqlString, withConnection } from '../artifacts/duckdb.js';

/**
 * A result table as users open it in TOPCAT, astropy and spreadsheets: typed columns with
 * units, UCDs (IVOA UCD1+) and descriptions, written as CSV, ECSV, VOTable, FITS or
 * Parquet. Floats are written at the precision they carry (`digits` after the point),
 * never as 17-digit round-trip text.
 */
export interface OutColumn {
  name: string;
  type: 'string' | 'double' | 'int' | 'bool';
  unit?: string;
  ucd?: string;
  description: string;
  /** decimals a double is written with in the text formats */
  digits?: number;
}

/** one value per column, in column order; null is missing */
export type OutRow = (string | number | boolean | null)[];

export interface OutTable {
  name: string;
  columns: OutColumn[];
  rows: OutRow[];
}

/**
 * A result table too large to hold: its columns, its row count, and its rows in order, a
 * part at a time (each call of `parts` a fresh pass; FITS makes two, one for the string
 * widths).
 */
export interface OutTableSource {
  name: string;
  columns: OutColumn[];
  rows: number;
  parts(): AsyncIterable<readonly OutRow[]>;
}

/** A format's bytes in three pieces: before the rows, the rows of one part, after the rows. */
interface Encoding {
  head: string | Uint8Array;
  rows(part: readonly OutRow[]): string | Uint8Array;
  tail: string | Uint8Array;
}

/** A whole table's bytes from its encoding (the text formats as text). */
function whole(e: Encoding, rows: readonly OutRow[]): string | Uint8Array {
  const pieces = [e.head, e.rows(rows), e.tail];
  if (pieces.every((x) => typeof x === 'string')) return pieces.join('');
  const enc = new TextEncoder();
  const bytes = pieces.map((x) => (typeof x === 'string' ? enc.encode(x) : x));
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of bytes) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

export const OUTPUT_FORMATS = ['csv', 'ecsv', 'votable', 'fits', 'parquet'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The format an output file's extension names, or undefined. */
export function formatOfPath(path: string): OutputFormat | undefined {
  const ext = /\.([a-z]+)$/i.exec(path)?.[1]?.toLowerCase();
  if (ext === 'csv') return 'csv';
  if (ext === 'ecsv') return 'ecsv';
  if (ext === 'vot' || ext === 'votable' || ext === 'xml') return 'votable';
  if (ext === 'fits' || ext === 'fit') return 'fits';
  if (ext === 'parquet') return 'parquet';
  return undefined;
}

/** A cell as text: a double at its column's decimals (trailing zeros kept off), a bool as true/false. */
function text(v: string | number | boolean | null, c: OutColumn): string {
  if (v === null) return '';
  if (typeof v === 'number' && c.type === 'double') {
    if (!Number.isFinite(v)) return '';
    return c.digits === undefined ? String(v) : String(Number(v.toFixed(c.digits)));
  }
  return String(v);
}

/** Lines of text, each ended by a newline. */
const lines = (part: readonly OutRow[], line: (r: OutRow) => string) => {
  let out = '';
  for (const r of part) out += `${line(r)}\n`;
  return out;
};

function csvEncoding(columns: readonly OutColumn[]): Encoding {
  const field = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return {
    head: `${columns.map((c) => field(c.name)).join(',')}\n`,
    rows: (part) => lines(part, (r) => r.map((v, k) => field(text(v, columns[k]!))).join(',')),
    tail: '',
  };
}

export function toCsv(t: OutTable): string {
  return whole(csvEncoding(t.columns), t.rows) as string;
}

const ECSV_TYPE: Record<OutColumn['type'], string> = {
  string: 'string',
  double: 'float64',
  int: 'int64',
  bool: 'bool',
};

/** ECSV 1.0 (astropy's Enhanced CSV): a YAML header (by the yaml library) with each column's type, unit and description; space-delimited rows. */
function ecsvEncoding(name: string, columns: readonly OutColumn[]): Encoding {
  const header = yamlStringify(
    {
      datatype: columns.map((c) => ({
        name: c.name,
        ...(c.unit ? { unit: c.unit } : {}),
        datatype: ECSV_TYPE[c.type],
        description: c.description,
        ...(c.ucd ? { meta: { ucd: c.ucd } } : {}),
      })),
      meta: { name },
      schema: 'astropy-2.0',
    },
    { lineWidth: 0 },
  )
    .trimEnd()
    .split('\n')
    .map((l) => `# ${l}`);
  // ECSV's booleans are True and False (astropy refuses true)
  const field = (s: string, c: OutColumn) =>
    c.type === 'string' || s === ''
      ? `"${s.replace(/"/g, '""')}"`
      : c.type === 'bool'
        ? s === 'true'
          ? 'True'
          : 'False'
        : s;
  return {
    head: `${['# %ECSV 1.0', '# ---', ...header, columns.map((c) => c.name).join(' ')].join('\n')}\n`,
    rows: (part) => lines(part, (r) => r.map((v, k) => field(text(v, columns[k]!), columns[k]!)).join(' ')),
    tail: '',
  };
}

export function toEcsv(t: OutTable): string {
  return whole(ecsvEncoding(t.name, t.columns), t.rows) as string;
}

const VOT_TYPE: Record<OutColumn['type'], string> = {
  string: 'char" arraysize="*',
  double: 'double',
  int: 'long',
  bool: 'boolean',
};
const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** VOTable 1.4, TABLEDATA: a FIELD per column with datatype, unit, ucd and DESCRIPTION; an empty TD is null. */
function votableEncoding(name: string, columns: readonly OutColumn[]): Encoding {
  const head = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">',
    '<RESOURCE type="results">',
    `<TABLE name="${xml(name)}">`,
  ];
  for (const c of columns)
    head.push(
      `<FIELD name="${xml(c.name)}" datatype="${VOT_TYPE[c.type]}"${c.unit ? ` unit="${xml(c.unit)}"` : ''}${c.ucd ? ` ucd="${xml(c.ucd)}"` : ''}><DESCRIPTION>${xml(c.description)}</DESCRIPTION></FIELD>`,
    );
  head.push('<DATA><TABLEDATA>');
  return {
    head: `${head.join('\n')}\n`,
    rows: (part) => lines(part, (r) => `<TR>${r.map((v, k) => `<TD>${xml(text(v, columns[k]!))}</TD>`).join('')}</TR>`),
    tail: `${['</TABLEDATA></DATA>', '</TABLE>', '</RESOURCE>', '</VOTABLE>'].join('\n')}\n`,
  };
}

export function toVotable(t: OutTable): string {
  return whole(votableEncoding(t.name, t.columns), t.rows) as string;
}

/** FITS column widths: a string column's is its longest value in UTF-8 bytes, at least 1 (`widths`: the parts before). */
function fitsWidths(columns: readonly OutColumn[], rows: readonly OutRow[], widths?: number[]): number[] {
  const enc = new TextEncoder();
  const w = widths ?? columns.map((c) => (c.type === 'string' ? 1 : c.type === 'bool' ? 1 : 8));
  columns.forEach((c, k) => {
    if (c.type !== 'string') return;
    for (const r of rows) w[k] = Math.max(w[k]!, enc.encode(r[k] === null ? '' : String(r[k])).length);
  });
  return w;
}

function fitsEncoding(name: string, columns: readonly OutColumn[], nRows: number, widths: readonly number[]): Encoding {
  const enc = new TextEncoder();
  const rowBytes = widths.reduce((a, b) => a + b, 0);
  const card = (key: string, value?: string, comment?: string) => {
    // fixed format: a string starts in column 11, a number ends in column 30
    const v = value === undefined ? '' : value.startsWith("'") ? value : value.padStart(20);
    const body = value === undefined ? key.padEnd(8) : `${key.padEnd(8)}= ${v}${comment ? ` / ${comment}` : ''}`;
    return body.slice(0, 80).padEnd(80);
  };
  const str = (s: string) => `'${s.replace(/'/g, "''").padEnd(8)}'`;
  const block = (cards: string[]) => {
    const h = [...cards, card('END')].join('');
    return h.padEnd(Math.ceil(h.length / 2880) * 2880);
  };
  const primary = block([card('SIMPLE', 'T'), card('BITPIX', '8'), card('NAXIS', '0'), card('EXTEND', 'T')]);
  const cards = [
    card('XTENSION', str('BINTABLE')),
    card('BITPIX', '8'),
    card('NAXIS', '2'),
    card('NAXIS1', String(rowBytes)),
    card('NAXIS2', String(nRows)),
    card('PCOUNT', '0'),
    card('GCOUNT', '1'),
    card('TFIELDS', String(columns.length)),
    card('EXTNAME', str(name)),
  ];
  const INT_NULL = -9223372036854775808n;
  columns.forEach((c, k) => {
    const n = k + 1;
    cards.push(card(`TTYPE${n}`, str(c.name)));
    cards.push(
      card(
        `TFORM${n}`,
        str(c.type === 'string' ? `${widths[k]}A` : c.type === 'double' ? 'D' : c.type === 'int' ? 'K' : 'L'),
      ),
    );
    if (c.unit) cards.push(card(`TUNIT${n}`, str(c.unit)));
    if (c.ucd) cards.push(card(`TUCD${n}`, str(c.ucd)));
    if (c.type === 'int') cards.push(card(`TNULL${n}`, INT_NULL.toString()));
  });
  const dataLen = rowBytes * nRows;
  return {
    head: enc.encode(primary + block(cards)),
    rows(part) {
      const data = new Uint8Array(rowBytes * part.length);
      const view = new DataView(data.buffer);
      let at = 0;
      for (const r of part) {
        columns.forEach((c, k) => {
          const v = r[k]!;
          if (c.type === 'string') data.set(enc.encode(v === null ? '' : String(v)), at);
          else if (c.type === 'double') view.setFloat64(at, typeof v === 'number' ? v : NaN);
          else if (c.type === 'int') view.setBigInt64(at, typeof v === 'number' ? BigInt(v) : INT_NULL);
          else data[at] = v === null ? 0 : v ? 0x54 /* T */ : 0x46; /* F */
          at += widths[k]!;
        });
      }
      return data;
    },
    // the data unit fills whole 2880-byte records
    tail: new Uint8Array(Math.ceil(dataLen / 2880) * 2880 - dataLen),
  };
}

/**
 * A FITS file: an empty primary HDU and one BINTABLE with TTYPE, TFORM, TUNIT and (as
 * TUCD, the convention TOPCAT reads) the UCD of each column. Strings are fixed-width
 * `nA` (n the longest), doubles `D` (NaN for missing), integers `K` with TNULL, booleans
 * `L` (0 for missing). Written by hand: no maintained Node library writes FITS tables.
 */
export function toFits(t: OutTable): Uint8Array {
  return whole(fitsEncoding(t.name, t.columns, t.rows.length, fitsWidths(t.columns, t.rows)), t.rows) as Uint8Array;
}

const DUCK_TYPE: Record<OutColumn['type'], string> = {
  string: 'VARCHAR',
  double: 'DOUBLE',
  int: 'BIGINT',
  bool: 'BOOLEAN',
};

/** Parquet, by DuckDB from the CSV form, with each column's unit and UCD in the file's key-value metadata (`units`, `ucds`, JSON). */
export async function writeParquetTable(
  t: { columns: readonly OutColumn[] },
  csvPath: string,
  outPath: string,
): Promise<void> {
  const columns = t.columns.map((c) => `${sqlString(c.name)}: ${sqlString(DUCK_TYPE[c.type])}`).join(', ');
  const units = JSON.stringify(Object.fromEntries(t.columns.filter((c) => c.unit).map((c) => [c.name, c.unit])));
  const ucds = JSON.stringify(Object.fromEntries(t.columns.filter((c) => c.ucd).map((c) => [c.name, c.ucd])));
  await withConnection((conn) =>
    conn.run(
      `COPY (SELECT * FROM read_csv(${sqlString(csvPath)}, header = true, auto_detect = false, columns = {${columns}}, nullstr = '')) ` +
        `TO ${sqlString(outPath)} (FORMAT parquet, KV_METADATA {units: ${sqlString(units)}, ucds: ${sqlString(ucds)}})`,
    ),
  );
}

/** The extension a result file gets in each format. */
export const OUTPUT_EXTENSION: Record<OutputFormat, string> = {
  csv: 'csv',
  ecsv: 'ecsv',
  votable: 'vot',
  fits: 'fits',
  parquet: 'parquet',
};

/**
 * A table too large to hold, written to `path` (a new file) a part at a time and synced:
 * the bytes toCsv, toEcsv, toVotable and toFits give for the same rows. FITS reads the parts
 * twice (its string widths come first); Parquet is converted by DuckDB from the CSV form.
 */
export async function writeTableFile(src: OutTableSource, format: OutputFormat, path: string): Promise<void> {
  if (format === 'parquet') {
    const dir = await mkdtemp(join(tmpdir(), 'xclass-out-'));
    try {
      await writeTableFile(src, 'csv', join(dir, 't.csv'));
      await writeParquetTable(src, join(dir, 't.csv'), path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return;
  }
  let e: Encoding;
  if (format === 'fits') {
    let widths = fitsWidths(src.columns, []);
    for await (const part of src.parts()) widths = fitsWidths(src.columns, part, widths);
    e = fitsEncoding(src.name, src.columns, src.rows, widths);
  } else
    e =
      format === 'csv'
        ? csvEncoding(src.columns)
        : format === 'ecsv'
          ? ecsvEncoding(src.name, src.columns)
          : votableEncoding(src.name, src.columns);
  const rows = src.parts();
  let n = 0;
  async function* pieces() {
    yield e.head;
    for await (const part of rows) {
      n += part.length;
      yield e.rows(part);
    }
    if (n !== src.rows) throw new Error(`${src.name}: ${n} rows read, ${src.rows} expected`);
    yield e.tail;
  }
  await writePieces(path, pieces());
}

/** A new file at `path` written piece after piece, then synced (a failed piece leaves the caller a partial file to remove). */
export async function writePieces(path: string, pieces: AsyncIterable<string | Uint8Array>): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    // a handle's writeFile writes from its current position: the pieces follow one another
    for await (const piece of pieces) await fh.writeFile(piece);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
