import { promises as fs } from 'node:fs';
import { InputError } from '../../../lib/errors.js';
import { checkHeader } from '../validate.js';
import { openCsvZones, readCsv, textDelimiter } from './csv.js';
import type { TableFormatReader } from './format.js';

/**
 * The header line of a delimited text table: the first line that is not a `#` comment,
 * split on the delimiter (`\t` for TSV; for CSV the one the header line uses: comma,
 * semicolon or vertical bar).
 */
async function delimitedHeader(path: string, file: string, tab: boolean): Promise<string[]> {
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
  const header = line.split(tab ? '\t' : textDelimiter(line)).map((h) => h.trim());
  checkHeader(header, file, 1);
  return header;
}

/** Tab-separated text (`.tsv`, `.tab`): recognised by its name, tried after every format with a signature. */
export const TSV_FORMAT: TableFormatReader = {
  name: 'tsv',
  identify: (_head, _text, file) => /\.(tsv|tab)$/i.test(file),
  read: (path, file) => readCsv(path, file, { delimiter: '\t' }),
  zones: (path, file, column, scale, dir) => openCsvZones(path, file, column, scale, dir, { delimiter: '\t' }),
  header: (path, file) => delimitedHeader(path, file, true),
  declaresUnits: false,
};

/** CSV (`#` comments allowed; a header with semicolons or bars read with that delimiter): what any other file is read as. */
export const CSV_FORMAT: TableFormatReader = {
  name: 'csv',
  identify: () => true,
  read: (path, file) => readCsv(path, file),
  zones: (path, file, column, scale, dir) => openCsvZones(path, file, column, scale, dir),
  header: (path, file) => delimitedHeader(path, file, false),
  declaresUnits: false,
};
