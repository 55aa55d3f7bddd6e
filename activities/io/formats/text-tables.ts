import type { TableFormatReader } from './format.js';
import { promises as fs } from 'node:fs';
import { issueLine } from '../../../schemas/issues.js';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InputError } from '../../../lib/errors.js';
import { readCsv } from './csv.js';
import { checkHeader } from '../validate.js';
import type { TargetTable } from '../table.js';

/**
 * The text table formats astropy and the archives write besides CSV: ECSV (astropy's
 * Enhanced CSV: a YAML header in `# ` comment lines, then a delimited table) and IPAC
 * (IRSA's fixed-width tables with `|`-separated header lines). Both declare units.
 */

/** ECSV's header, as far as XClass reads it (https://github.com/astropy/astropy-APEs/blob/main/APE6.rst). */
const EcsvHeader = z.object({
  delimiter: z.enum([' ', ',']).default(' '),
  datatype: z.array(z.object({ name: z.string(), unit: z.string().optional(), datatype: z.string().optional() })),
});

/** A file's text starts like an ECSV file. */
export function isEcsv(head: string): boolean {
  return /^# %ECSV \d/.test(head);
}

/**
 * Reads an ECSV file: the YAML header (parsed by the `yaml` library) gives the
 * delimiter and each column's unit; the rows are read as CSV with that delimiter. The
 * column names of the header line must be the ones the YAML lists.
 */
export async function readEcsv(path: string, file: string): Promise<TargetTable> {
  const text = await fs.readFile(path, 'utf8');
  const yamlLines: string[] = [];
  for (const line of text.split(/\r?\n/).slice(1)) {
    if (!line.startsWith('#')) break;
    const body = line.replace(/^# ?/, '');
    if (body.trim() === '---') continue;
    yamlLines.push(body);
  }
  let header: z.infer<typeof EcsvHeader>;
  try {
    const parsed = EcsvHeader.safeParse(parseYaml(yamlLines.join('\n')));
    if (!parsed.success) throw new Error(issueLine(parsed.error));
    header = parsed.data;
  } catch (err) {
    throw new InputError({ file, row: 1 }, `unreadable ECSV header: ${(err as Error).message.split('\n')[0]}`);
  }
  const table = await readCsv(path, file, { delimiter: header.delimiter });
  const names = header.datatype.map((d) => d.name);
  if (names.join('\u0000') !== table.header.join('\u0000'))
    throw new InputError(
      { file, column: table.header.join(', ') },
      `the column names differ from the ECSV header's (${names.join(', ')})`,
    );
  const units = Object.fromEntries(
    header.datatype.filter((d) => d.unit !== undefined && d.unit !== '').map((d) => [d.name, d.unit!]),
  );
  return { ...table, units };
}

/** A file's text starts like an IPAC table: `\` keyword or comment lines, then a `|`-separated header line. */
export function isIpac(head: string): boolean {
  const lines = head.split(/\r?\n/).filter((l) => l.trim() !== '');
  const first = lines.find((l) => !l.startsWith('\\'));
  // (the head may cut the header line: two bars and a name between them are enough)
  return first !== undefined && /^\|[^|,]*[A-Za-z_][^|,]*\|/.test(first);
}

/**
 * Reads an IPAC table (IRSA's format; the definition is
 * https://irsa.ipac.caltech.edu/applications/DDGEN/Doc/ipac_tbl.html): `\` lines are
 * keywords and comments; up to four `|` header lines give names, types, units and the
 * null value; each data line is cut at the column boundaries the `|` marks set. Written
 * by hand: no Node library reads IPAC tables.
 */
export async function readIpac(path: string, file: string): Promise<TargetTable> {
  const text = await fs.readFile(path, 'utf8');
  const lines = text.split(/\r?\n/);
  const headerLines: { line: string; n: number }[] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('\\') || l.trim() === '') continue;
    if (!l.startsWith('|')) break;
    headerLines.push({ line: l, n: i + 1 });
  }
  if (headerLines.length === 0) throw new InputError({ file, row: 1 }, 'not an IPAC table: no | header line');
  const first = headerLines[0]!.line;
  // column k spans the characters between its two | marks
  const bars: number[] = [];
  for (let c = 0; c < first.length; c++) if (first[c] === '|') bars.push(c);
  const cell = (l: string, k: number) => l.slice(bars[k]! + 1, bars[k + 1]).trim();
  const header = bars.slice(0, -1).map((_, k) => cell(first, k));
  checkHeader(header, file, headerLines[0]!.n);
  const row = (idx: number) =>
    headerLines[idx] ? bars.slice(0, -1).map((_, k) => cell(headerLines[idx]!.line, k)) : undefined;
  const units = row(2);
  const nulls = row(3) ?? header.map(() => 'null');
  const records: Record<string, unknown>[] = [];
  const lineNumbers: number[] = [];
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '' || l.startsWith('\\')) continue;
    const rec: Record<string, unknown> = {};
    header.forEach((h, k) => {
      // the characters from this column's | to the next one's (the last column runs to the end of the line)
      const v = l.slice(bars[k], bars[k + 1]! + (k === header.length - 1 ? Infinity : 0)).trim();
      rec[h] = v === '' || v === nulls[k] ? null : v;
    });
    records.push(rec);
    lineNumbers.push(i + 1);
  }
  if (records.length === 0)
    throw new InputError({ file, row: headerLines.at(-1)!.n + 1 }, 'no data rows after the header');
  const declared = units ? Object.fromEntries(header.flatMap((h, k) => (units[k] ? [[h, units[k]!]] : []))) : {};
  return { file, header, records, lines: lineNumbers, units: declared };
}

/** astropy's ECSV: a `# %ECSV` YAML header with each column's type and unit. */
export const ECSV_FORMAT: TableFormatReader = {
  name: 'ecsv',
  identify: (_head, text) => isEcsv(text),
  read: readEcsv,
  declaresUnits: true,
};

/** IRSA's IPAC table: `\` keyword lines, then `|`-delimited name, type and unit rows. */
export const IPAC_FORMAT: TableFormatReader = {
  name: 'ipac',
  identify: (_head, text) => isIpac(text),
  read: readIpac,
  declaresUnits: true,
};
