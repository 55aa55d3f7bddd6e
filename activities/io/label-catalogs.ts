import { promises as fs } from 'node:fs';
import { parseDecDeg, parseRaDeg } from '../../lib/sky/coords.js';
import { InputError } from '../../lib/errors.js';
import { checkHeader } from './validate.js';
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
}

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

function position(raText: string, decText: string, line: number, catalog: string, skipped: SkippedRow[]): { ra: number; dec: number } | null {
  const ra = parseRaDeg(raText);
  const dec = parseDecDeg(decText);
  if (ra === null || dec === null) {
    skipped.push({ catalog, line, reason: `unreadable position: ra ${JSON.stringify(raText.trim())}, dec ${JSON.stringify(decText.trim())}` });
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
    if (col(required) < 0) throw new InputError({ file, row: 1, column: required }, 'required column is missing from the header');
  for (let i = 1; i < text.length; i++) {
    const raw = text[i]!;
    if (raw.trim() === '') continue;
    const f = raw.split('|').map((v) => v.trim());
    if (f.length !== header!.length) {
      skipped.push({ catalog: cat.name, line: i + 1, reason: `expected ${header!.length} '|'-separated fields, found ${f.length}` });
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
      skipped.push({ catalog: cat.name, line: i + 1, reason: `web-export line before the header: ${JSON.stringify(text[i]!.trim())}` });
  const header = text[headerAt]!.split('\t').map((h) => h.trim());
  checkHeader(header, file, headerAt + 1, { allowEmpty: true });
  const col = (n: string) => header.indexOf(n);
  for (const required of ['name', 'ra', 'dec'])
    if (col(required) < 0) throw new InputError({ file, row: headerAt + 1, column: required }, 'required column is missing from the header');
  for (let i = headerAt + 1; i < text.length; i++) {
    const raw = text[i]!;
    if (raw.trim() === '') continue;
    const f = raw.split('\t').map((v) => v.trim());
    if (f.length < header.length) {
      skipped.push({ catalog: cat.name, line: i + 1, reason: `expected ${header.length} tab-separated fields, found ${f.length}` });
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
  if (posCol < 0) throw new InputError({ file, row: 1, column: 'RA, Dec' }, 'required column is missing from the header');
  for (let i = 1; i < text.length; i++) {
    const raw = text[i]!;
    if (raw.trim() === '') continue;
    const f = raw.split('\t').map((v) => v.trim());
    if (f.length < header.length) {
      skipped.push({
        catalog: cat.name,
        line: i + 1,
        reason: f.every((v) => v === '') ? 'blank row' : `expected ${header.length} tab-separated fields, found ${f.length}`,
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
    });
  }
  return { labels, skipped };
}

/** Reads one label catalog in its format. MUWCLASS is read by readMuwclassLabels (it needs the CSV reader). */
export async function readLabelCatalog(path: string, cat: LabelCatalog, file: string): Promise<ParsedCatalog> {
  const text = await lines(path, file);
  if (text.every((l) => l.trim() === '')) throw new InputError({ file }, 'file is empty');
  switch (cat.format) {
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
