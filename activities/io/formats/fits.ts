import { checked, type TableFormatReader } from './format.js';
import { promises as fs } from 'node:fs';
import { InputError } from '../../../lib/errors.js';
import type { TargetTable } from '../table.js';

/**
 * A reader for FITS binary tables (BINTABLE extensions; Pence et al. 2010, FITS
 * standard 4.0, section 7.3). Written here because no maintained JavaScript FITS
 * library reads binary tables in Node (npm `fitsjs` is a browser library last released
 * in 2014); the format is small enough to read directly: 2880-byte blocks of 80-char
 * header cards, then big-endian fixed-width rows.
 *
 * Scalar columns of type L, B, I, J, K, E, D and character columns (rA) are read;
 * TSCAL/TZERO are applied, TNULL integers and NaN floats become missing values. Vector
 * and variable-length columns (r > 1 numeric, P, Q) are left out of the header with
 * a note, so a mapping that names one gets the "column missing" error.
 */

const BLOCK = 2880;
const CARD = 80;

interface Header {
  cards: Map<string, string>;
  /** bytes of header including padding */
  size: number;
}

function readHeader(buf: Buffer, start: number, file: string): Header {
  const cards = new Map<string, string>();
  let pos = start;
  for (;;) {
    if (pos + CARD > buf.length) throw new InputError({ file }, `FITS header at byte ${start} has no END card`);
    const card = buf.toString('latin1', pos, pos + CARD);
    pos += CARD;
    const key = card.slice(0, 8).trim();
    if (key === 'END') break;
    if (card.slice(8, 10) !== '= ') continue;
    cards.set(key, card.slice(10));
  }
  const size = Math.ceil((pos - start) / BLOCK) * BLOCK;
  return { cards, size };
}

/** A card's value: a quoted string (quotes doubled inside), or the text before a comment slash. */
function cardValue(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const t = raw.trimStart();
  if (t.startsWith("'")) {
    let out = '';
    for (let i = 1; i < t.length; i++) {
      if (t[i] === "'") {
        if (t[i + 1] === "'") {
          out += "'";
          i++;
        } else break;
      } else out += t[i];
    }
    return out.trimEnd();
  }
  return t.split('/')[0]!.trim();
}

function intCard(h: Header, key: string, file: string, fallback?: number): number {
  const v = cardValue(h.cards.get(key));
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new InputError({ file, column: key }, 'FITS header keyword missing');
  }
  const n = Number(v);
  if (!Number.isInteger(n))
    throw new InputError({ file, column: key, value: v }, 'FITS header keyword is not an integer');
  return n;
}

function numCard(h: Header, key: string): number | undefined {
  const v = cardValue(h.cards.get(key));
  if (v === undefined) return undefined;
  const n = Number(v.replace(/D/i, 'E'));
  return Number.isFinite(n) ? n : undefined;
}

/** Bytes of an HDU's data, padded to whole blocks. */
function dataSize(h: Header, file: string): number {
  const bitpix = intCard(h, 'BITPIX', file);
  const naxis = intCard(h, 'NAXIS', file);
  if (naxis === 0) return 0;
  let n = 1;
  for (let k = 1; k <= naxis; k++) n *= intCard(h, `NAXIS${k}`, file);
  const bytes = (Math.abs(bitpix) / 8) * intCard(h, 'GCOUNT', file, 1) * (intCard(h, 'PCOUNT', file, 0) + n);
  return Math.ceil(bytes / BLOCK) * BLOCK;
}

const WIDTH: Record<string, number> = { L: 1, B: 1, I: 2, J: 4, K: 8, E: 4, D: 8, A: 1 };

interface Column {
  name: string;
  type: string;
  repeat: number;
  offset: number;
  scale: number;
  zero: number;
  tnull: number | undefined;
}

/** Reads the first BINTABLE extension of a FITS file. */
export async function readFitsTable(path: string, file: string): Promise<TargetTable> {
  const buf = await fs.readFile(path).catch((err: NodeJS.ErrnoException) => {
    throw new InputError({ file }, `cannot read (${err.code ?? String(err)})`);
  });
  if (buf.toString('latin1', 0, 9) !== 'SIMPLE  =')
    throw new InputError({ file, row: 1 }, 'not a FITS file (no SIMPLE card)');
  let pos = 0;
  let h = readHeader(buf, pos, file);
  pos += h.size + dataSize(h, file);
  for (;;) {
    if (pos >= buf.length) throw new InputError({ file }, 'no BINTABLE extension');
    h = readHeader(buf, pos, file);
    if (cardValue(h.cards.get('XTENSION')) === 'BINTABLE') break;
    pos += h.size + dataSize(h, file);
  }
  const rowBytes = intCard(h, 'NAXIS1', file);
  const nRows = intCard(h, 'NAXIS2', file);
  const nFields = intCard(h, 'TFIELDS', file);
  const start = pos + h.size;
  if (start + rowBytes * nRows > buf.length)
    throw new InputError({ file }, `BINTABLE data truncated: ${nRows} rows of ${rowBytes} bytes expected`);
  const columns: Column[] = [];
  const units: Record<string, string> = {};
  let offset = 0;
  for (let k = 1; k <= nFields; k++) {
    const form = cardValue(h.cards.get(`TFORM${k}`));
    const m = form === undefined ? null : /^(\d*)([LXBIJKAEDCMPQ])/.exec(form.trim());
    if (!m) throw new InputError({ file, column: `TFORM${k}`, value: form ?? '' }, 'unreadable FITS column format');
    const repeat = m[1] === '' ? 1 : Number(m[1]);
    const type = m[2]!;
    const name = cardValue(h.cards.get(`TTYPE${k}`)) || `col${k}`;
    const width =
      type === 'X'
        ? Math.ceil(repeat / 8)
        : type === 'P'
          ? 8
          : type === 'Q'
            ? 16
            : (WIDTH[type] ?? (type === 'C' ? 8 : 16)) * repeat;
    const unit = cardValue(h.cards.get(`TUNIT${k}`))?.trim();
    if (unit) units[name] = unit;
    if (WIDTH[type] !== undefined && (type === 'A' || repeat === 1))
      columns.push({
        name,
        type,
        repeat,
        offset,
        scale: numCard(h, `TSCAL${k}`) ?? 1,
        zero: numCard(h, `TZERO${k}`) ?? 0,
        tnull: numCard(h, `TNULL${k}`),
      });
    offset += width;
  }
  if (offset !== rowBytes)
    throw new InputError(
      { file, column: 'NAXIS1', value: rowBytes },
      `row width does not match the columns' formats (${offset} bytes)`,
    );
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: Record<string, unknown>[] = [];
  for (let r = 0; r < nRows; r++) {
    const base = start + r * rowBytes;
    const rec: Record<string, unknown> = {};
    for (const c of columns) {
      const at = base + c.offset;
      let v: number | bigint | string | boolean | null;
      switch (c.type) {
        case 'A':
          v = buf
            .toString('latin1', at, at + c.repeat)
            .replace(/\0.*$/s, '')
            .trimEnd();
          break;
        case 'L': {
          const b = buf[at];
          v = b === 0x54 ? true : b === 0x46 ? false : null;
          break;
        }
        case 'B':
          v = view.getUint8(at);
          break;
        case 'I':
          v = view.getInt16(at);
          break;
        case 'J':
          v = view.getInt32(at);
          break;
        case 'K':
          v = view.getBigInt64(at);
          break;
        case 'E':
          v = view.getFloat32(at);
          break;
        default:
          v = view.getFloat64(at);
      }
      if (typeof v === 'bigint') {
        // 64-bit integers are identifiers (Gaia source_id): kept exact as text when unscaled
        if (c.tnull !== undefined && v === BigInt(c.tnull)) v = null;
        else if (c.scale === 1 && c.zero === 0) v = v.toString();
        else v = Number(v) * c.scale + c.zero;
      } else if (typeof v === 'number') {
        if ((c.type === 'E' || c.type === 'D') && Number.isNaN(v)) v = null;
        else if (c.tnull !== undefined && c.type !== 'E' && c.type !== 'D' && v === c.tnull) v = null;
        else v = v * c.scale + c.zero;
      }
      rec[c.name] = v;
    }
    records.push(rec);
  }
  return { file, header: columns.map((c) => c.name), records, lines: records.map((_, i) => i + 1), units };
}

/** FITS: the first binary table (BINTABLE) of a file starting `SIMPLE  =`. */
export const FITS_FORMAT: TableFormatReader = {
  name: 'fits',
  identify: (_head, text) => text.startsWith('SIMPLE  ='),
  read: async (path, file) => checked(await readFitsTable(path, file)),
  declaresUnits: true,
};
