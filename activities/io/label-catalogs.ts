import { promises as fs } from 'node:fs';
import { parseDecDeg, parseRaDeg } from '../../lib/sky/coords.js';
import { InputError } from '../../lib/errors.js';
import { checkHeader } from './validate.js';
import { readCsv, requireColumns } from './formats/csv.js';
import type { LabelCatalog, SkippedRow } from '../../schemas/labels.js';

/** A label as read, before class mapping. */
export interface RawLabel {
  name: string;
  alt_names: string[];
  ra_deg: number;
  dec_deg: number;
  class_raw: string;
  reference: string;
  line: number;
  is_xray: boolean;
  period_s: number | null;
  /** the catalogue's own subtype (HMXB Be/sg/SFXT, LMXB NS/BH confirmed/candidate, CV DN/NL/AM...); null: none given */
  subclass: string | null;
  /** the identifiers the catalogue gives: CSC 2.0 name, Gaia (DR3 or DR2) source id, 2MASS designation */
  ids: { csc: string | null; gaia: string | null; twomass: string | null };
}

const NO_IDS: RawLabel['ids'] = { csc: null, gaia: null, twomass: null };

export interface ParsedCatalog {
  labels: RawLabel[];
  skipped: SkippedRow[];
}

/**
 * A catalogue value with an uncertainty and a reference tag, e.g. `8.020392(9) [mgr+05]`,
 * `0.063+0.020-0.016 [tem08]`, `~65`, `67.9*`: returns the central value, or null for
 * `...` and empty fields.
 */
export function parseTaggedValue(text: string): number | null {
  const t = text.replace(/\[[^\]]*\]/g, '').trim();
  if (t === '' || t === '...') return null;
  const m = /^[~<>]?\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/.exec(t);
  return m ? Number(m[1]) : null;
}

async function lines(path: string, name: string): Promise<string[]> {
  try {
    return (await fs.readFile(path, 'utf8')).split(/\r?\n/);
  } catch (err) {
    throw new InputError({ file: name }, `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Decimal degrees, as the CSV and VizieR exports give them; null when not a number in range. */
function decimalDeg(text: string, max: number, min: number): number | null {
  const t = text.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(t)) return null;
  const v = Number(t);
  return v >= min && v <= max ? v : null;
}

function position(
  raText: string,
  decText: string,
  line: number,
  catalog: string,
  skipped: SkippedRow[],
  decimal = false,
): { ra: number; dec: number } | null {
  const ra = decimal ? decimalDeg(raText, 360 - 1e-12, 0) : parseRaDeg(raText);
  const dec = decimal ? decimalDeg(decText, 90, -90) : parseDecDeg(decText);
  if (ra === null || dec === null) {
    skipped.push({
      catalog,
      line,
      reason: `unreadable position: ra ${JSON.stringify(raText.trim())}, dec ${JSON.stringify(decText.trim())}`,
    });
    return null;
  }
  return { ra, dec };
}

/** Liu, van Paradijs & van den Heuvel (2007) LMXB catalogue, HEASARC pipe-separated export. */
function parseLiu2007(text: string[], cat: LabelCatalog, file: string): ParsedCatalog {
  const labels: RawLabel[] = [];
  const skipped: SkippedRow[] = [];
  const header = text[0]?.split('|').map((h) => h.trim());
  if (header) checkHeader(header, file, 1, { allowEmpty: true });
  const col = (n: string) => header?.indexOf(n) ?? -1;
  for (const required of ['name', 'ra', 'dec'])
    if (col(required) < 0)
      throw new InputError({ file, row: 1, column: required }, 'required column is missing from the header');
  for (let i = 1; i < text.length; i++) {
    const raw = text[i]!;
    if (raw.trim() === '') continue;
    const f = raw.split('|').map((v) => v.trim());
    if (f.length !== header!.length) {
      skipped.push({
        catalog: cat.name,
        line: i + 1,
        reason: `expected ${header!.length} '|'-separated fields, found ${f.length}`,
      });
      continue;
    }
    const pos = position(f[col('ra')]!, f[col('dec')]!, i + 1, cat.name, skipped);
    if (!pos) continue;
    const pp = col('pulse_period') >= 0 ? parseTaggedValue(f[col('pulse_period')]!) : null;
    labels.push({
      name: f[col('name')]!,
      alt_names: ['alt_name_1', 'alt_name_2'].map((c) => (col(c) >= 0 ? f[col(c)]! : '')).filter((s) => s !== ''),
      ra_deg: pos.ra,
      dec_deg: pos.dec,
      class_raw: cat.class ?? 'LMXB',
      reference: cat.reference,
      line: i + 1,
      is_xray: false,
      period_s: pp,
      subclass: null,
      ids: NO_IDS,
    });
  }
  return { labels, skipped };
}

/** Liu et al. (2006) HMXB catalogue, HEASARC tab-separated export: a `Service` line, then the header; a junk first column. */
function parseLiu2006(text: string[], cat: LabelCatalog, file: string): ParsedCatalog {
  const labels: RawLabel[] = [];
  const skipped: SkippedRow[] = [];
  const headerAt = text.findIndex((l) =>
    l
      .split('\t')
      .map((h) => h.trim())
      .includes('name'),
  );
  if (headerAt < 0) throw new InputError({ file, row: 1, column: 'name' }, 'no header line with a name column');
  for (let i = 0; i < headerAt; i++)
    if (text[i]!.trim() !== '')
      skipped.push({
        catalog: cat.name,
        line: i + 1,
        reason: `web-export line before the header: ${JSON.stringify(text[i]!.trim())}`,
      });
  const header = text[headerAt]!.split('\t').map((h) => h.trim());
  checkHeader(header, file, headerAt + 1, { allowEmpty: true });
  const col = (n: string) => header.indexOf(n);
  for (const required of ['name', 'ra', 'dec'])
    if (col(required) < 0)
      throw new InputError({ file, row: headerAt + 1, column: required }, 'required column is missing from the header');
  for (let i = headerAt + 1; i < text.length; i++) {
    const raw = text[i]!;
    if (raw.trim() === '') continue;
    const f = raw.split('\t').map((v) => v.trim());
    if (f.length < header.length) {
      skipped.push({
        catalog: cat.name,
        line: i + 1,
        reason: `expected ${header.length} tab-separated fields, found ${f.length}`,
      });
      continue;
    }
    const pos = position(f[col('ra')]!, f[col('dec')]!, i + 1, cat.name, skipped);
    if (!pos) continue;
    labels.push({
      name: f[col('name')]!,
      alt_names: col('optical_name') >= 0 && f[col('optical_name')] ? [f[col('optical_name')]!] : [],
      ra_deg: pos.ra,
      dec_deg: pos.dec,
      class_raw: cat.class ?? 'HMXB',
      reference: cat.reference,
      line: i + 1,
      is_xray: false,
      period_s: null,
      subclass: null,
      ids: NO_IDS,
    });
  }
  return { labels, skipped };
}

/**
 * McGill magnetar catalogue (Olausen & Kaspi 2014), 2015 tab-separated snapshot: names
 * on line 1, units on line 2, header blocks repeated inside the table, blank rows, values
 * with uncertainties and reference tags, and positions like `01h00m43.14s, -72°11′33.8″ [ref]`.
 */
function parseMcgill(text: string[], cat: LabelCatalog, file: string): ParsedCatalog {
  const labels: RawLabel[] = [];
  const skipped: SkippedRow[] = [];
  const header = text[0]?.split('\t').map((h) => h.trim()) ?? [];
  checkHeader(header, file, 1, { allowEmpty: true });
  const nameCol = header.indexOf('Name');
  const posCol = header.indexOf('RA, Dec');
  const pCol = header.indexOf('P');
  if (nameCol < 0) throw new InputError({ file, row: 1, column: 'Name' }, 'required column is missing from the header');
  if (posCol < 0)
    throw new InputError({ file, row: 1, column: 'RA, Dec' }, 'required column is missing from the header');
  for (let i = 1; i < text.length; i++) {
    const raw = text[i]!;
    if (raw.trim() === '') continue;
    const f = raw.split('\t').map((v) => v.trim());
    if (f.length < header.length) {
      skipped.push({
        catalog: cat.name,
        line: i + 1,
        reason: f.every((v) => v === '')
          ? 'blank row'
          : `expected ${header.length} tab-separated fields, found ${f.length}`,
      });
      continue;
    }
    const posText = f[posCol]!.replace(/\[[^\]]*\]/g, '').trim();
    if (f[nameCol] === '' || posText === 'RA, Dec' || posText === '(J2000)' || f[nameCol] === 'Name') {
      skipped.push({ catalog: cat.name, line: i + 1, reason: 'repeated header or units line' });
      continue;
    }
    const [raText, decText] = posText.split(',');
    const pos = position(raText ?? '', decText ?? '', i + 1, cat.name, skipped);
    if (!pos) continue;
    labels.push({
      // footnote markers (e.g. ‡) are not part of the name
      name: f[nameCol]!.replace(/[^\w\s+\-.]+$/u, '').trim(),
      alt_names: [],
      ra_deg: pos.ra,
      dec_deg: pos.dec,
      class_raw: cat.class ?? 'NS',
      reference: cat.reference,
      line: i + 1,
      is_xray: false,
      period_s: pCol >= 0 ? parseTaggedValue(f[pCol]!) : null,
      subclass: null,
      ids: NO_IDS,
    });
  }
  return { labels, skipped };
}

/**
 * An HMXB subtype as Fortin et al. write it, in plain text: LaTeX markup dropped
 * (`$\\gamma$\\,Be` is a gamma Cas analogue, `gamma Be`), an uncertain `?` kept against
 * the type (`Be ?` -> `Be?`); null when empty.
 */
function fortinSubtype(text: string | null): string | null {
  if (text === null) return null;
  const t = text
    .replace(/\$\\gamma\$/g, 'gamma')
    .replace(/\\,/g, ' ')
    .replace(/[$\\{}]/g, '')
    .replace(/\s+\?/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
  return t === '' ? null : t;
}

/**
 * Fortin et al. HMXB (2023) and LMXB (2024) catalogues, the authors' CSV exports: one
 * row per binary, decimal positions, ~120 columns of which most are identifiers and
 * positions in other missions' catalogues. Kept: the subtype (HMXB `Class`: Be, sg,
 * SFXT...; LMXB `Compact` NS/BH and `Status` confirmed/candidate), the CSC 2.0 name
 * (`Chandra_ID`), Gaia DR3 and 2MASS identifiers, the spin period.
 */
async function parseFortin(
  path: string,
  cat: LabelCatalog,
  file: string,
  kind: 'HMXB' | 'LMXB',
): Promise<ParsedCatalog> {
  const t = await readCsv(path, file);
  const need = [
    'Main_ID',
    'RAdeg',
    'DEdeg',
    'Compact',
    'Chandra_ID',
    'Gaia_ID',
    '2MASS_ID',
    ...(kind === 'HMXB' ? ['Class'] : ['Status']),
  ];
  requireColumns(t, need);
  const labels: RawLabel[] = [];
  const skipped: SkippedRow[] = [];
  t.records.forEach((r, i) => {
    const line = t.lines[i]!;
    const pos = position(r['RAdeg'] ?? '', r['DEdeg'] ?? '', line, cat.name, skipped, true);
    if (!pos) return;
    const compact = r['Compact']?.replace(/\s+/g, ' ').trim() || null;
    const subclass =
      kind === 'HMXB'
        ? fortinSubtype(r['Class'] ?? null)
        : [compact, r['Status']?.trim() || null].filter((x) => x !== null).join(' ') || null;
    const alias = r['Popular_ID']?.trim();
    // `Chandra_ID` is a CSC 2.0 name for most rows, but for a few another catalogue's name (2SXPS, CXOU, CXOGlb, GRO, 4U): kept as an alias
    const chandra = r['Chandra_ID']?.trim() || null;
    const csc = chandra !== null && /^2CXO J\d{6}\.\d[+-]\d{6}/.test(chandra) ? chandra : null;
    labels.push({
      name: r['Main_ID']!.trim(),
      alt_names: [
        ...(alias && alias !== r['Main_ID']!.trim() ? [alias] : []),
        ...(chandra !== null && csc === null ? [chandra] : []),
      ],
      ra_deg: pos.ra,
      dec_deg: pos.dec,
      class_raw: cat.class ?? kind,
      reference: cat.reference,
      line,
      is_xray: false,
      period_s: r['Spin_period'] ? parseTaggedValue(r['Spin_period']) : null,
      subclass,
      ids: {
        csc,
        gaia: r['Gaia_ID']?.replace(/^Gaia DR3\s+/, '').trim() || null,
        twomass: r['2MASS_ID']?.trim() || null,
      },
    });
  });
  return { labels, skipped };
}

/** One column of a VizieR fixed-width table: 1-based first and last byte, format, label. */
export interface FixedWidthColumn {
  from: number;
  to: number;
  format: string;
  label: string;
}

/**
 * The columns of a VizieR fixed-width table from its ReadMe's "Byte-by-byte Description"
 * block: lines `  1- 12  A12  ---  Name  ...` (or `  5  A1 ...` for one byte), up to the
 * block's closing rule. Written by hand: a few lines, and no maintained Node reader of
 * VizieR ReadMe files exists.
 */
export function readMeColumns(readMe: string, dataFile: string): FixedWidthColumn[] {
  const text = readMe.split(/\r?\n/);
  const start = text.findIndex((l) => l.startsWith('Byte-by-byte Description of file:') && l.includes(dataFile));
  if (start < 0)
    throw new InputError({ file: 'ReadMe', column: dataFile }, 'no "Byte-by-byte Description" of this file');
  const cols: FixedWidthColumn[] = [];
  let rules = 0;
  for (let i = start + 1; i < text.length && rules < 3; i++) {
    const l = text[i]!;
    if (/^-{10,}/.test(l)) {
      rules++;
      continue;
    }
    const m = /^\s*(\d+)(?:-\s*(\d+))?\s+([AIF][\d.]+)\s+\S+\s+(\S+)/.exec(l);
    if (m) cols.push({ from: Number(m[1]), to: Number(m[2] ?? m[1]), format: m[3]!, label: m[4]! });
  }
  if (cols.length === 0)
    throw new InputError({ file: 'ReadMe', column: dataFile }, 'the byte-by-byte description lists no column');
  return cols;
}

/**
 * Abril et al. (2020) CVs (VizieR J/MNRAS/492/L40): the Ritter & Kolb and Downes et al.
 * CVs matched to Gaia DR2, fixed width, its columns read from its VizieR ReadMe. Kept:
 * name and alternative name, J2000 position, the CV
 * subtypes Type1/Type2 (DN, NL, AM, ... with SU, UG, ...), the Gaia DR2 source id.
 * The ReadMe is the catalog's `readme` (config label_catalogs), hashed like the table.
 */
async function parseAbril(
  cat: LabelCatalog,
  file: string,
  text: string[],
  readMePath: string | undefined,
): Promise<ParsedCatalog> {
  if (readMePath === undefined)
    throw new InputError({ file }, 'a fixed-width VizieR table is read through its ReadMe: give the catalog a readme');
  let readMe: string;
  try {
    readMe = await fs.readFile(readMePath, 'utf8');
  } catch (err) {
    throw new InputError(
      { file },
      `cannot read its VizieR ReadMe ${readMePath} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
  const cols = readMeColumns(readMe, 'catalog.dat');
  const byLabel = new Map(cols.map((c) => [c.label, c]));
  for (const need of ['Name', 'AltName', 'RAdeg', 'DEdeg', 'Type1', 'Type2', 'Source'])
    if (!byLabel.has(need))
      throw new InputError({ file: readMePath, column: need }, 'the ReadMe does not describe this column');
  const field = (l: string, label: string) => {
    const c = byLabel.get(label)!;
    return l.slice(c.from - 1, c.to).trim();
  };
  const labels: RawLabel[] = [];
  const skipped: SkippedRow[] = [];
  text.forEach((l, i) => {
    if (l.trim() === '') return;
    const line = i + 1;
    if (l.length < byLabel.get('Source')!.to) {
      skipped.push({
        catalog: cat.name,
        line,
        reason: `line of ${l.length} bytes, shorter than the ReadMe's columns up to Source (${byLabel.get('Source')!.to})`,
      });
      return;
    }
    const pos = position(field(l, 'RAdeg'), field(l, 'DEdeg'), line, cat.name, skipped, true);
    if (!pos) return;
    const alt = field(l, 'AltName');
    labels.push({
      name: field(l, 'Name'),
      alt_names: alt ? [alt] : [],
      ra_deg: pos.ra,
      dec_deg: pos.dec,
      class_raw: cat.class ?? 'CV',
      reference: cat.reference,
      line,
      is_xray: false,
      period_s: null,
      subclass: [field(l, 'Type1'), field(l, 'Type2')].filter((x) => x !== '').join(' ') || null,
      ids: { csc: null, gaia: field(l, 'Source') || null, twomass: null },
    });
  });
  return { labels, skipped };
}

/** Reads one label catalog in its format. MUWCLASS is read by readMuwclassLabels (it needs the CSV reader). */
export async function readLabelCatalog(
  path: string,
  cat: LabelCatalog,
  file: string,
  readMePath?: string,
): Promise<ParsedCatalog> {
  if (cat.format === 'fortin2023_hmxb') return parseFortin(path, cat, file, 'HMXB');
  if (cat.format === 'fortin2024_lmxb') return parseFortin(path, cat, file, 'LMXB');
  const text = await lines(path, file);
  if (text.every((l) => l.trim() === '')) throw new InputError({ file }, 'file is empty');
  switch (cat.format) {
    case 'abril2020_cv':
      return parseAbril(cat, file, text, readMePath);
    case 'liu2007_lmxb':
      return parseLiu2007(text, cat, file);
    case 'liu2006_hmxb':
      return parseLiu2006(text, cat, file);
    case 'mcgill_magnetar':
      return parseMcgill(text, cat, file);
    case 'muwclass':
      throw new Error('readLabelCatalog: the MUWCLASS table is read with readMuwclass');
  }
}
