import { createReadStream, createWriteStream, mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InputError } from '../../../lib/errors.js';
import type { TargetTable } from '../table.js';
import type { DecBand, ZonedTable } from './csv.js';
import { CSV_FORMAT, TSV_FORMAT } from './delimited.js';
import { parseNumber } from '../validate.js';
import { FITS_FORMAT } from './fits.js';
import type { TableFormatReader } from './format.js';
import { PARQUET_FORMAT } from './parquet.js';
import { ECSV_FORMAT, IPAC_FORMAT } from './text-tables.js';
import { VOTABLE_FORMAT } from './votable.js';

/**
 * The table formats astronomers download, in the order a file is tried against them:
 * first every format with a signature in its first bytes (FITS `SIMPLE  =`, ECSV
 * `# %ECSV`, an IPAC `\` or `|` line, Parquet `PAR1`, XML for VOTable), then by name
 * (`.tsv`/`.tab`), and CSV for anything else. A gzip-compressed file (`1f 8b`) is any of
 * them compressed. Adding a format: its reader in this folder (`TableFormatReader`,
 * format.ts) and its place in this list.
 */
export const TABLE_FORMATS: readonly TableFormatReader[] = [
  FITS_FORMAT,
  ECSV_FORMAT,
  IPAC_FORMAT,
  PARQUET_FORMAT,
  VOTABLE_FORMAT,
  TSV_FORMAT,
  CSV_FORMAT,
];

type Identified = { gzip: true } | { gzip: false; format: TableFormatReader };

/** A table file's format from its first bytes and its name. */
async function identify(path: string, file: string): Promise<Identified> {
  const fh = await fs.open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new InputError({ file }, `cannot read (${err.code ?? String(err)})`);
  });
  const head = Buffer.alloc(256);
  try {
    await fh.read(head, 0, 256, 0);
  } finally {
    await fh.close();
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return { gzip: true };
  const text = head.toString('latin1');
  return { gzip: false, format: TABLE_FORMATS.find((f) => f.identify(head, text, file))! };
}

/** The format's name (`gzip` for a compressed file), as tests and messages name it. */
export async function tableFormat(path: string, file: string): Promise<string> {
  const id = await identify(path, file);
  return id.gzip ? 'gzip' : id.format.name;
}

/**
 * Reads a catalog table in any of the formats astronomers download: CSV, TSV, ECSV,
 * IPAC, Parquet, VOTable (TABLEDATA, BINARY, BINARY2) or a FITS binary table, each
 * also gzip-compressed. Text tables go through the same reader as the training table
 * (every field as text, lines counted for errors); the path is always the literal
 * file, never a pattern.
 */
export async function readTargetTable(path: string, file: string): Promise<TargetTable> {
  const id = await identify(path, file);
  if (id.gzip) return withGunzipped(path, file, (plain) => readTargetTable(plain, file));
  return id.format.read(path, file);
}

/**
 * A catalog table read a band of declinations at a time (a zone of the field and its
 * margin; formats/csv.ts `ZonedTable`), with the lines the whole read gives each row. CSV,
 * TSV and Parquet have each band cut inside DuckDB's scan, so a zone's rows are all that
 * reach JavaScript; the other formats are read whole and cut. A CSV or TSV is converted to
 * Parquet (and a gzip-compressed file decompressed) once per process, in a folder of its
 * own removed when the process exits, so a field's zone steps on one worker share it (a
 * long-lived worker keeps every table it converted until it exits).
 */
export async function openTableZones(path: string, file: string, column: string, scale: number): Promise<ZonedTable> {
  const st = await fs.stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new InputError({ file }, `cannot read (${err.code ?? String(err)})`);
  });
  const id = await identify(path, file);
  if (!id.gzip && !id.format.zones) return wholeZones(await id.format.read(path, file), file, column, scale);
  const key = [resolve(path), st.size, st.mtimeMs, st.ctimeMs, st.ino, column, scale].join('\0');
  let zoned = zonedTables.get(key);
  if (!zoned) {
    zoned = openZones(path, file, column, scale, id);
    zonedTables.set(key, zoned);
    // a failure is the caller's, not a cached answer
    zoned.catch(() => zonedTables.delete(key));
  }
  return zoned;
}

const zonedTables = new Map<string, Promise<ZonedTable>>();
let zonesDir: string | null = null;

/** This process's folder of converted tables, removed when it exits. */
function processZonesDir(): string {
  if (zonesDir === null) {
    const dir = mkdtempSync(join(tmpdir(), 'xclass-zones-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    zonesDir = dir;
  }
  return zonesDir;
}

/** `known`: the file's format when the caller identified it already (a decompressed file is identified again). */
async function openZones(
  path: string,
  file: string,
  column: string,
  scale: number,
  known?: Identified,
): Promise<ZonedTable> {
  const id = known ?? (await identify(path, file));
  if (id.gzip) {
    const plain = join(
      await mkdtemp(join(processZonesDir(), 'gunzip-')),
      basename(file).replace(/\.gz$/i, '') || 'table',
    );
    await gunzipTo(path, file, plain);
    return openZones(plain, file, column, scale);
  }
  if (id.format.zones)
    return id.format.zones(path, file, column, scale, await mkdtemp(join(processZonesDir(), 'zones-')));
  return wholeZones(await id.format.read(path, file), file, column, scale);
}

/** A table read whole, cut a band at a time (the formats DuckDB does not scan). */
function wholeZones(t: TargetTable, file: string, column: string, scale: number): ZonedTable {
  if (!t.header.includes(column))
    throw new InputError({ file, row: 1, column }, 'required column is missing from the header');
  return {
    header: t.header,
    read: async (lo, hi) => {
      const keep = t.records.map((r) => inDecBand(r[column], { scale, lo, hi }));
      return { ...t, records: t.records.filter((_, i) => keep[i]), lines: t.lines.filter((_, i) => keep[i]) };
    },
    census: async () => {
      const decs: number[] = [];
      for (const r of t.records) {
        const n = parseNumber(r[column]);
        if (typeof n === 'number' && n * scale >= -90 && n * scale <= 90) decs.push(n * scale);
      }
      return { rows: t.records.length, decs: Float64Array.from(decs) };
    },
  };
}

/** `decBandSql` on one cell, for the formats read whole: kept unless a plain number outside the band. */
function inDecBand(raw: unknown, band: DecBand): boolean {
  const n = parseNumber(raw);
  if (n === null || n === undefined) return true;
  const v = n * band.scale;
  return v < -90 || v > 90 || (v >= band.lo && v <= band.hi);
}

/**
 * The column names of a catalog table without reading its rows where the format allows
 * (the first line of a text table, a Parquet file's schema): planning a classification
 * needs only the header, and a photometry catalog may have millions of rows.
 */
export async function readTableHeader(path: string, file: string): Promise<string[]> {
  const id = await identify(path, file);
  if (id.gzip) return withGunzipped(path, file, (plain) => readTableHeader(plain, file));
  return id.format.header ? id.format.header(path, file) : (await id.format.read(path, file)).header;
}

/**
 * Runs `fn` on a gzip-compressed file's content, decompressed (streamed by node:zlib)
 * into a temporary file named like the original without `.gz`, so every reader (DuckDB's
 * CSV and Parquet readers included) reads it as it would the plain file.
 */
async function withGunzipped<T>(path: string, file: string, fn: (plain: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'xclass-gunzip-'));
  try {
    const plain = join(dir, basename(file).replace(/\.gz$/i, '') || 'table');
    await gunzipTo(path, file, plain);
    return await fn(plain);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A gzip-compressed file decompressed (streamed by node:zlib) to `plain`. */
async function gunzipTo(path: string, file: string, plain: string): Promise<void> {
  try {
    await pipeline(createReadStream(path), createGunzip(), createWriteStream(plain));
  } catch (err) {
    throw new InputError({ file }, `not a readable gzip file (${(err as Error).message})`);
  }
}

/**
 * A table's column names and the units its file declares (VOTable, FITS, ECSV and IPAC
 * headers; none for CSV, TSV and Parquet), reading rows only where the format needs it.
 */
export async function readTableLayout(
  path: string,
  file: string,
): Promise<{ header: string[]; units: Record<string, string> }> {
  const id = await identify(path, file);
  if (!id.gzip && !id.format.declaresUnits) return { header: await readTableHeader(path, file), units: {} };
  const t = await readTargetTable(path, file);
  return { header: t.header, units: t.units ?? {} };
}
