import { checked, type TableFormatReader } from './format.js';
import { promises as fs } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { InputError } from '../../../lib/errors.js';
import type { TargetTable } from '../table.js';

/**
 * VOTable 1.x (IVOA recommendation 1.4/1.5): the first TABLE of the first RESOURCE,
 * in the TABLEDATA, BINARY or BINARY2 serialisation. The XML is parsed by
 * fast-xml-parser; the binary streams are decoded here because no maintained Node
 * library reads VOTables (astropy's reader is Python). BINARY2 rows start with a
 * null bitmask; BINARY marks missing values with NaN or the field's `null` value.
 * Scalar numeric fields and character fields are read; array fields are consumed and
 * left empty (missing), with their names kept, so a mapping naming one reads missing
 * values rather than garbage.
 */

type Attrs = Record<string, unknown>;

const SIZE: Record<string, number> = {
  boolean: 1,
  bit: 1,
  unsignedByte: 1,
  short: 2,
  int: 4,
  long: 8,
  char: 1,
  unicodeChar: 2,
  float: 4,
  double: 8,
  floatComplex: 8,
  doubleComplex: 16,
};

interface Field {
  name: string;
  datatype: string;
  /** null: scalar; a number: fixed count; 'var': length prefix */
  count: number | 'var' | null;
  nullValue: string | undefined;
}

function asArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function fieldOf(a: Attrs, k: number, file: string, nullValue: string | undefined): Field {
  const name = String(a['name'] ?? a['ID'] ?? `col${k + 1}`);
  const datatype = String(a['datatype'] ?? '');
  if (SIZE[datatype] === undefined)
    throw new InputError({ file, column: name, value: datatype }, 'unknown VOTable datatype');
  const size = a['arraysize'] === undefined ? null : String(a['arraysize']);
  let count: Field['count'] = null;
  if (size !== null) {
    if (size.includes('*')) count = 'var';
    else {
      const dims = size.split('x').map(Number);
      if (dims.some((d) => !Number.isInteger(d) || d < 1))
        throw new InputError({ file, column: name, value: size }, 'unreadable VOTable arraysize');
      count = dims.reduce((x, y) => x * y, 1);
    }
  }
  return { name, datatype, count, nullValue };
}

/** Decodes one binary row's field; returns the value and the new offset. */
function decodeField(view: DataView, buf: Buffer, at: number, f: Field, file: string, row: number): [unknown, number] {
  let n = 1;
  if (f.count === 'var') {
    n = view.getUint32(at);
    at += 4;
  } else if (f.count !== null) n = f.count;
  const width = f.datatype === 'bit' ? Math.ceil(n / 8) : SIZE[f.datatype]! * n;
  if (at + width > buf.length)
    throw new InputError({ file, row, column: f.name }, 'VOTable binary stream ends inside a row');
  const end = at + width;
  if (f.datatype === 'char') return [buf.toString('latin1', at, end).replace(/\0.*$/s, '').trimEnd(), end];
  if (f.datatype === 'unicodeChar')
    return [Buffer.from(buf.subarray(at, end)).swap16().toString('utf16le').replace(/\0.*$/s, '').trimEnd(), end];
  // a scalar bit: the spec packs it in the high bit, astropy 8 writes 0x08; any set bit is true
  if (f.datatype === 'bit' && f.count === null) return [buf[at]! !== 0, end];
  if (n !== 1 || f.count === 'var' || f.datatype === 'bit' || f.datatype.endsWith('Complex')) return [null, end];
  let v: unknown;
  switch (f.datatype) {
    case 'boolean': {
      const c = String.fromCharCode(buf[at]!);
      v = 'Tt1'.includes(c) ? true : 'Ff0'.includes(c) ? false : null;
      break;
    }
    case 'unsignedByte':
      v = view.getUint8(at);
      break;
    case 'short':
      v = view.getInt16(at);
      break;
    case 'int':
      v = view.getInt32(at);
      break;
    case 'long':
      // identifiers (Gaia source_id) stay exact as text
      v = view.getBigInt64(at).toString();
      break;
    case 'float':
      v = view.getFloat32(at);
      break;
    default:
      v = view.getFloat64(at);
  }
  if (typeof v === 'number' && Number.isNaN(v)) v = null;
  if (v !== null && f.nullValue !== undefined && String(v) === f.nullValue) v = null;
  return [v, end];
}

export async function readVoTable(path: string, file: string): Promise<TargetTable> {
  const text = await fs.readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new InputError({ file }, `cannot read (${err.code ?? String(err)})`);
  });
  return voTableOf(parseVoDocument(text, file), file);
}

/**
 * A TAP answer (DALI 1.1 section 4.4): the `QUERY_STATUS` INFO of the results RESOURCE
 * (or of the VOTABLE) — `OK`, `OVERFLOW` (more rows than MAXREC: DALI puts a second INFO
 * after the table) or `ERROR` with the server's message — and the table when there is one.
 */
export interface TapAnswer {
  status: string;
  message: string;
  table: TargetTable | null;
  /** each column's datatype, unit and UCD as the service declared them */
  fields: { name: string; datatype: string; unit: string | null; ucd: string | null }[];
}

export function parseTapAnswer(text: string, file: string): TapAnswer {
  const vot = parseVoDocument(text, file);
  const resources = asArray(vot['RESOURCE'] as Attrs[] | undefined);
  const results = resources.find((r) => r['type'] === 'results') ?? resources[0];
  const infos = [
    ...asArray(vot['INFO'] as Attrs[] | undefined),
    ...asArray(results?.['INFO'] as Attrs[] | undefined),
  ].filter((i) => i['name'] === 'QUERY_STATUS');
  // OVERFLOW (or ERROR) trumps the OK written before the table
  const rank = (v: string) => (v === 'ERROR' ? 2 : v === 'OVERFLOW' ? 1 : 0);
  const status = infos
    .map((i) => ({ value: String(i['value'] ?? '').toUpperCase(), message: String(i['#text'] ?? '').trim() }))
    .sort((a, b) => rank(b.value) - rank(a.value))[0];
  const hasTable = resources.some((r) => asArray(r['TABLE'] as Attrs[] | undefined).length > 0);
  const table = hasTable && status?.value !== 'ERROR' ? voTableOf(vot, file) : null;
  const fields = asArray(firstTable(vot)?.['FIELD'] as Attrs[] | undefined).map((a, k) => ({
    name: String(a['name'] ?? a['ID'] ?? `col${k + 1}`),
    datatype: String(a['datatype'] ?? ''),
    unit: a['unit'] === undefined || String(a['unit']).trim() === '' ? null : String(a['unit']).trim(),
    ucd: a['ucd'] === undefined ? null : String(a['ucd']),
  }));
  return { status: status?.value ?? 'OK', message: status?.message ?? '', table, fields };
}

function firstTable(vot: Attrs): Attrs | undefined {
  return asArray(vot['RESOURCE'] as Attrs[] | undefined)
    .flatMap((r) => asArray(r['TABLE'] as Attrs[] | undefined))
    .at(0);
}

/** The VOTABLE element of a document, or an error naming the file. */
function parseVoDocument(text: string, file: string): Attrs {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    removeNSPrefix: true,
    isArray: (name) => ['RESOURCE', 'TABLE', 'FIELD', 'TR', 'TD', 'PARAM', 'INFO'].includes(name),
  });
  let doc: Attrs;
  try {
    doc = parser.parse(text, true) as Attrs;
  } catch (err) {
    throw new InputError({ file }, `not well-formed XML: ${(err as Error).message.split('\n')[0]}`);
  }
  const vot = doc['VOTABLE'] as Attrs | undefined;
  if (!vot) throw new InputError({ file, row: 1 }, 'not a VOTable (no VOTABLE element)');
  return vot;
}

/** The first TABLE of a VOTable document, decoded. */
function voTableOf(vot: Attrs, file: string): TargetTable {
  const table = firstTable(vot);
  if (!table) throw new InputError({ file }, 'the VOTable has no TABLE');
  const fields = asArray(table['FIELD'] as Attrs[] | undefined).map((a, k) => {
    const values = a['VALUES'] as Attrs | undefined;
    return fieldOf(a, k, file, values?.['null'] === undefined ? undefined : String(values['null']));
  });
  if (fields.length === 0) throw new InputError({ file }, 'the VOTable TABLE has no FIELD');
  const data = (table['DATA'] ?? {}) as Attrs;
  const records: Record<string, unknown>[] = [];
  if (data['TABLEDATA'] !== undefined) {
    const td = data['TABLEDATA'];
    const rows = typeof td === 'object' && td !== null ? asArray((td as Attrs)['TR'] as Attrs[] | undefined) : [];
    rows.forEach((tr, i) => {
      const tds = asArray(tr['TD'] as unknown[] | undefined);
      if (tds.length !== fields.length)
        throw new InputError({ file, row: i + 1 }, `expected ${fields.length} TD cells, found ${tds.length}`);
      const rec: Record<string, unknown> = {};
      fields.forEach((f, k) => {
        const td = tds[k];
        const raw = (
          typeof td === 'object' && td !== null ? String((td as Attrs)['#text'] ?? '') : String(td ?? '')
        ).trim();
        const text = f.datatype === 'char' || f.datatype === 'unicodeChar';
        // numeric arrays are left missing, as in the binary serialisations
        if (text) rec[f.name] = raw === '' ? null : raw;
        else rec[f.name] = raw === '' || raw === f.nullValue || raw === 'NaN' || f.count !== null ? null : raw;
      });
      records.push(rec);
    });
  } else {
    const binary = (data['BINARY2'] ?? data['BINARY']) as Attrs | undefined;
    if (!binary) throw new InputError({ file }, 'the VOTable TABLE has no TABLEDATA, BINARY or BINARY2 data');
    const masked = data['BINARY2'] !== undefined;
    const stream = binary['STREAM'] as Attrs | string | undefined;
    const encoding = typeof stream === 'object' ? stream['encoding'] : 'base64';
    if (encoding !== 'base64')
      throw new InputError({ file, value: String(encoding) }, 'only base64-encoded VOTable streams are read');
    const b64 = typeof stream === 'object' ? String(stream['#text'] ?? '') : String(stream ?? '');
    const buf = Buffer.from(b64.replace(/\s+/g, ''), 'base64');
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const maskBytes = masked ? Math.ceil(fields.length / 8) : 0;
    let at = 0;
    while (at < buf.length) {
      const row = records.length + 1;
      const mask = buf.subarray(at, at + maskBytes);
      at += maskBytes;
      const rec: Record<string, unknown> = {};
      fields.forEach((f, k) => {
        const [v, next] = decodeField(view, buf, at, f, file, row);
        at = next;
        rec[f.name] = masked && (mask[k >> 3]! & (0x80 >> (k & 7))) !== 0 ? null : v;
      });
      records.push(rec);
    }
  }
  // the units the FIELDs declare (honoured by the classify plan: columnScales)
  const units: Record<string, string> = {};
  asArray(table['FIELD'] as Attrs[] | undefined).forEach((a, k) => {
    if (a['unit'] !== undefined && String(a['unit']).trim() !== '') units[fields[k]!.name] = String(a['unit']).trim();
  });
  return { file, header: fields.map((f) => f.name), records, lines: records.map((_, i) => i + 1), units };
}

/** VOTable (TABLEDATA, BINARY, BINARY2): XML, its first TABLE. */
export const VOTABLE_FORMAT: TableFormatReader = {
  name: 'votable',
  identify: (_head, text) => /^(\ufeff|\xef\xbb\xbf)?\s*<(\?xml|VOTABLE|!--)/i.test(text),
  read: async (path, file) => checked(await readVoTable(path, file)),
  declaresUnits: true,
};
