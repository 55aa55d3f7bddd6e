import { InputError } from '../../lib/errors.js';
import { sqlString, withConnection, withLiteralPath } from '../../artifacts/duckdb.js';
import { readCsv, textDelimiter } from './csv.js';
import { checkHeader } from './validate.js';
import { readFitsTable } from './fits.js';
import { readVoTable } from './votable.js';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { isEcsv, isIpac, readEcsv, readIpac } from './text-tables.js';
import type { TargetTable } from './table.js';

const TABLE_FORMATS = ['csv', 'tsv', 'ecsv', 'ipac', 'parquet', 'votable', 'fits', 'gzip'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

/**
 * A table file's format from its first bytes (gzip `1f 8b`, FITS `SIMPLE  =`, Parquet
 * `PAR1`, XML for VOTable, `# %ECSV` for ECSV, a `\` or `|` line for IPAC), else from
 * its extension (`.tsv`/`.tab` tab-separated, anything else CSV, `#` comments allowed).
 */
export async function tableFormat(path: string, file: string): Promise<TableFormat> {
  const fh = await fs.open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new InputError({ file }, `cannot read (${err.code ?? String(err)})`);
  });
  const head = Buffer.alloc(256);
  try {
    await fh.read(head, 0, 256, 0);
  } finally {
    await fh.close();
  }
  const text = head.toString('latin1');
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (text.startsWith('SIMPLE  =')) return 'fits';
  if (isEcsv(text)) return 'ecsv';
  if (isIpac(text)) return 'ipac';
  if (text.startsWith('PAR1')) return 'parquet';
  if (/^(\ufeff|\xef\xbb\xbf)?\s*<(\?xml|VOTABLE|!--)/i.test(text)) return 'votable';
  return /\.(tsv|tab)$/i.test(file) ? 'tsv' : 'csv';
}

/**
 * Reads a catalog table in any of the formats astronomers download: CSV, TSV, ECSV,
 * IPAC, Parquet, VOTable (TABLEDATA, BINARY, BINARY2) or a FITS binary table, each
 * also gzip-compressed. Text tables go through the same reader as the training table
 * (every field as text, lines counted for errors); the path is always the literal
 * file, never a pattern.
 */
export async function readTargetTable(path: string, file: string): Promise<TargetTable> {
  const format = await tableFormat(path, file);
  if (format === 'gzip') return withGunzipped(path, file, (plain) => readTargetTable(plain, file));
  if (format === 'ecsv') return readEcsv(path, file);
  if (format === 'ipac') return readIpac(path, file);
  if (format === 'fits') return checked(await readFitsTable(path, file));
  if (format === 'votable') return checked(await readVoTable(path, file));
  if (format !== 'parquet') return readCsv(path, file, format === 'tsv' ? { delimiter: '\t' } : {});
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

function checked(t: TargetTable): TargetTable {
  checkHeader(t.header, t.file, 1);
  return t;
}

/**
 * The column names of a catalog table without reading its rows where the format allows
 * (the first line of a text table, a Parquet file's schema): planning a classification
 * needs only the header, and a photometry catalog may have millions of rows.
 */
export async function readTableHeader(path: string, file: string): Promise<string[]> {
  const format = await tableFormat(path, file);
  if (format === 'gzip') return withGunzipped(path, file, (plain) => readTableHeader(plain, file));
  if (format === 'csv' || format === 'tsv') {
    const fh = await fs.open(path, 'r');
    let head = '';
    try {
      const buf = Buffer.alloc(1 << 16);
      // to the first line that is not a # comment
      for (let pos = 0; !/(^|\n)[^#\n][^\n]*\n/.test(head);) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        head += buf.toString('utf8', 0, bytesRead);
        pos += bytesRead;
      }
    } finally {
      await fh.close();
    }
    const line = head.split(/\r?\n/).find((l) => !l.startsWith('#')) ?? '';
    if (line.trim() === '') throw new InputError({ file }, 'file is empty, expected a header line and data rows');
    const header = line.split(format === 'tsv' ? '\t' : textDelimiter(line)).map((h) => h.trim());
    checkHeader(header, file, 1);
    return header;
  }
  if (format === 'parquet')
    return withLiteralPath(path, (literal) =>
      withConnection(async (conn) => {
        try {
          return (await conn.runAndReadAll(`SELECT * FROM read_parquet(${sqlString(literal)}) LIMIT 0`)).columnNames();
        } catch (err) {
          throw new InputError({ file }, `cannot read as Parquet: ${(err as Error).message.split('\n')[0]}`);
        }
      }),
    );
  return (await readTargetTable(path, file)).header;
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
    try {
      await pipeline(createReadStream(path), createGunzip(), createWriteStream(plain));
    } catch (err) {
      throw new InputError({ file }, `not a readable gzip file (${(err as Error).message})`);
    }
    return await fn(plain);
  } finally {
    await rm(dir, { recursive: true, force: true });
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
  const format = await tableFormat(path, file);
  const plain = format === 'csv' || format === 'tsv' || format === 'parquet';
  if (plain) return { header: await readTableHeader(path, file), units: {} };
  const t = await readTargetTable(path, file);
  return { header: t.header, units: t.units ?? {} };
}
