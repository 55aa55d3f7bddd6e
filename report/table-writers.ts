import { stringify as yamlStringify } from 'yaml';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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

export interface OutTable {
  name: string;
  columns: OutColumn[];
  /** one array per row, in column order; null is missing */
  rows: (string | number | boolean | null)[][];
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

export function toCsv(t: OutTable): string {
  const field = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [t.columns.map((c) => field(c.name)).join(',')];
  for (const r of t.rows) lines.push(r.map((v, k) => field(text(v, t.columns[k]!))).join(','));
  return `${lines.join('\n')}\n`;
}

const ECSV_TYPE: Record<OutColumn['type'], string> = {
  string: 'string',
  double: 'float64',
  int: 'int64',
  bool: 'bool',
};

/** ECSV 1.0 (astropy's Enhanced CSV): a YAML header (by the yaml library) with each column's type, unit and description; space-delimited rows. */
export function toEcsv(t: OutTable): string {
  const header = yamlStringify(
    {
      datatype: t.columns.map((c) => ({
        name: c.name,
        ...(c.unit ? { unit: c.unit } : {}),
        datatype: ECSV_TYPE[c.type],
        description: c.description,
        ...(c.ucd ? { meta: { ucd: c.ucd } } : {}),
      })),
      meta: { name: t.name },
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
  const lines = ['# %ECSV 1.0', '# ---', ...header, t.columns.map((c) => c.name).join(' ')];
  for (const r of t.rows) lines.push(r.map((v, k) => field(text(v, t.columns[k]!), t.columns[k]!)).join(' '));
  return `${lines.join('\n')}\n`;
}

const VOT_TYPE: Record<OutColumn['type'], string> = {
  string: 'char" arraysize="*',
  double: 'double',
  int: 'long',
  bool: 'boolean',
};
const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** VOTable 1.4, TABLEDATA: a FIELD per column with datatype, unit, ucd and DESCRIPTION; an empty TD is null. */
export function toVotable(t: OutTable): string {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">',
    '<RESOURCE type="results">',
    `<TABLE name="${xml(t.name)}">`,
  ];
  for (const c of t.columns)
    out.push(
      `<FIELD name="${xml(c.name)}" datatype="${VOT_TYPE[c.type]}"${c.unit ? ` unit="${xml(c.unit)}"` : ''}${c.ucd ? ` ucd="${xml(c.ucd)}"` : ''}><DESCRIPTION>${xml(c.description)}</DESCRIPTION></FIELD>`,
    );
  out.push('<DATA><TABLEDATA>');
  for (const r of t.rows) out.push(`<TR>${r.map((v, k) => `<TD>${xml(text(v, t.columns[k]!))}</TD>`).join('')}</TR>`);
  out.push('</TABLEDATA></DATA>', '</TABLE>', '</RESOURCE>', '</VOTABLE>');
  return `${out.join('\n')}\n`;
}

/**
 * A FITS file: an empty primary HDU and one BINTABLE with TTYPE, TFORM, TUNIT and (as
 * TUCD, the convention TOPCAT reads) the UCD of each column. Strings are fixed-width
 * `nA` (n the longest), doubles `D` (NaN for missing), integers `K` with TNULL, booleans
 * `L` (0 for missing). Written by hand: no maintained Node library writes FITS tables.
 */
export function toFits(t: OutTable): Uint8Array {
  const enc = new TextEncoder();
  const widths = t.columns.map((c, k) =>
    c.type === 'string'
      ? Math.max(1, ...t.rows.map((r) => enc.encode(r[k] === null ? '' : String(r[k])).length))
      : c.type === 'bool'
        ? 1
        : 8,
  );
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
    return enc.encode(h.padEnd(Math.ceil(h.length / 2880) * 2880));
  };
  const primary = block([card('SIMPLE', 'T'), card('BITPIX', '8'), card('NAXIS', '0'), card('EXTEND', 'T')]);
  const cards = [
    card('XTENSION', str('BINTABLE')),
    card('BITPIX', '8'),
    card('NAXIS', '2'),
    card('NAXIS1', String(rowBytes)),
    card('NAXIS2', String(t.rows.length)),
    card('PCOUNT', '0'),
    card('GCOUNT', '1'),
    card('TFIELDS', String(t.columns.length)),
    card('EXTNAME', str(t.name)),
  ];
  const INT_NULL = -9223372036854775808n;
  t.columns.forEach((c, k) => {
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
  const header = block(cards);
  const dataLen = Math.ceil((rowBytes * t.rows.length) / 2880) * 2880;
  const data = new Uint8Array(dataLen);
  const view = new DataView(data.buffer);
  let at = 0;
  for (const r of t.rows) {
    t.columns.forEach((c, k) => {
      const v = r[k]!;
      if (c.type === 'string') data.set(enc.encode(v === null ? '' : String(v)), at);
      else if (c.type === 'double') view.setFloat64(at, typeof v === 'number' ? v : NaN);
      else if (c.type === 'int') view.setBigInt64(at, typeof v === 'number' ? BigInt(v) : INT_NULL);
      else data[at] = v === null ? 0 : v ? 0x54 /* T */ : 0x46; /* F */
      at += widths[k]!;
    });
  }
  const out = new Uint8Array(primary.length + header.length + data.length);
  out.set(primary, 0);
  out.set(header, primary.length);
  out.set(data, primary.length + header.length);
  return out;
}

const DUCK_TYPE: Record<OutColumn['type'], string> = {
  string: 'VARCHAR',
  double: 'DOUBLE',
  int: 'BIGINT',
  bool: 'BOOLEAN',
};

/** Parquet, by DuckDB from the CSV form, with each column's unit and UCD in the file's key-value metadata (`units`, `ucds`, JSON). */
export async function writeParquetTable(t: OutTable, csvPath: string, outPath: string): Promise<void> {
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

/** A result table's bytes in an output format (Parquet through DuckDB, from the CSV form, in a temporary folder). */
export async function encodeTable(t: OutTable, format: OutputFormat): Promise<string | Uint8Array> {
  if (format === 'csv') return toCsv(t);
  if (format === 'ecsv') return toEcsv(t);
  if (format === 'votable') return toVotable(t);
  if (format === 'fits') return toFits(t);
  const dir = await mkdtemp(join(tmpdir(), 'xclass-out-'));
  try {
    await writeFile(join(dir, 't.csv'), toCsv(t));
    await writeParquetTable(t, join(dir, 't.csv'), join(dir, 't.parquet'));
    return new Uint8Array(await readFile(join(dir, 't.parquet')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
