import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import type { Filter } from '../../lib/sed/filters.js';
import { closestNames, filterCurveProblem } from '../../lib/sed/filters.js';
import type { SedSettings } from '../../schemas/sed.js';

/** A whitespace-separated numeric table: the first `columns` columns of every non-comment line, and the file line of each row. */
async function readColumns(
  path: string,
  display: string,
  columns: number,
  opts: { skipLines?: number; comment?: string; repeatedWavelengths?: boolean } = {},
): Promise<{ columns: Float64Array[]; lines: number[] }> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    throw new InputError({ file: display }, `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const cols: number[][] = Array.from({ length: columns }, () => []);
  // the file line of each data row, for errors
  const dataRows: number[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = opts.skipLines ?? 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || (opts.comment && line.startsWith(opts.comment))) continue;
    const parts = line.split(/\s+/);
    if (parts.length < columns)
      throw new InputError({ file: display, row: i + 1 }, `expected ${columns} numeric columns, found ${parts.length}`);
    dataRows.push(i + 1);
    for (let c = 0; c < columns; c++) {
      const v = Number(parts[c]);
      if (!Number.isFinite(v))
        throw new InputError(
          { file: display, row: i + 1, column: String(c + 1), value: parts[c] },
          'expected a number',
        );
      cols[c]!.push(v);
    }
  }
  if (cols[0]!.length < 2) throw new InputError({ file: display }, 'expected at least two rows of data');
  for (let i = 1; i < cols[0]!.length; i++) {
    const [prev, here] = [cols[0]![i - 1]!, cols[0]![i]!];
    if (here > prev || (opts.repeatedWavelengths && here === prev)) continue;
    throw new InputError(
      { file: display, row: dataRows[i], column: 'wavelength', value: here },
      opts.repeatedWavelengths ? 'wavelengths must not decrease' : 'wavelengths must increase',
    );
  }
  return { columns: cols.map((c) => Float64Array.from(c)), lines: dataRows };
}

export function filterFileName(name: string): string {
  return join('filters', `${name}.dat`);
}

/** Names of every filter curve in the data folder (file names without `.dat`). */
export async function knownFilterNames(dataDir: string): Promise<string[]> {
  const files = await fs.readdir(join(dataDir, 'filters')).catch(() => [] as string[]);
  return files
    .filter((f) => f.endsWith('.dat'))
    .map((f) => f.slice(0, -4))
    .sort();
}

/** The error for a filter name with no curve, listing the closest known names. */
export async function unknownFilterError(dataDir: string, name: string, where: string): Promise<InputError> {
  const known = await knownFilterNames(dataDir);
  return new InputError(
    { file: where, value: name },
    `unknown filter; closest known: ${closestNames(name, known).join(', ')}`,
  );
}

/**
 * A filter curve (data README: 4 comment lines, then wavelength_A throughput; tiny
 * negatives clipped to 0), checked: enough rows, throughput in range, the band covered
 * (filterCurveProblem); a damaged curve is one line naming the file and row.
 */
export async function loadFilter(dataDir: string, name: string): Promise<Filter> {
  const file = filterFileName(name);
  const {
    columns: [wavelength_aa, throughput],
    lines,
  } = await readColumns(join(dataDir, file), file, 2, { comment: '#' });
  const bad = filterCurveProblem(name, wavelength_aa!, throughput!);
  if (bad) throw new InputError({ file, ...(bad.row !== undefined ? { row: lines[bad.row] } : {}) }, bad.problem);
  return { name, wavelength_aa: wavelength_aa!, throughput: throughput!.map((t) => Math.max(0, t)) };
}

/** Pickles (1998) spectrum: wavelength (A) and F_lambda normalised at 5556 A; further columns ignored. */
export async function loadPickles(
  dataDir: string,
  file: string,
): Promise<{ wavelength_aa: Float64Array; flux_flam: Float64Array }> {
  const {
    columns: [wavelength_aa, flux_flam],
  } = await readColumns(join(dataDir, file), file, 2);
  return { wavelength_aa: wavelength_aa!, flux_flam: flux_flam! };
}

/** Vanden Berk et al. (2001) composite: a 23-line byte-by-byte header, then Wave FluxD e_FluxD. */
export async function loadComposite(
  dataDir: string,
  file: string,
): Promise<{ wavelength_aa: Float64Array; flux_flam: Float64Array }> {
  const {
    columns: [wavelength_aa, flux_flam],
  } = await readColumns(join(dataDir, file), file, 2, { skipLines: 23 });
  return { wavelength_aa: wavelength_aa!, flux_flam: flux_flam! };
}

/** CALSPEC Vega: 4 comment lines, then wavelength (A, vacuum) and F_lambda (erg/s/cm^2/A). */
export async function loadVega(
  dataDir: string,
  file: string,
): Promise<{ wavelength_aa: Float64Array; flux_flam_cgs: Float64Array }> {
  const {
    columns: [wavelength_aa, flux_flam_cgs],
  } = await readColumns(join(dataDir, file), file, 2, { comment: '#' });
  return { wavelength_aa: wavelength_aa!, flux_flam_cgs: flux_flam_cgs! };
}

/** The 36 solar-metallicity Pickles dwarfs in the bundle (`uk<type>v.dat`, not `iv`), in spectral order. */
export const PICKLES_DWARFS = [
  'o5v',
  'o9v',
  'b0v',
  'b1v',
  'b3v',
  'b57v',
  'b8v',
  'b9v',
  'a0v',
  'a2v',
  'a3v',
  'a5v',
  'a7v',
  'f0v',
  'f2v',
  'f5v',
  'f6v',
  'f8v',
  'g0v',
  'g2v',
  'g5v',
  'g8v',
  'k0v',
  'k2v',
  'k3v',
  'k4v',
  'k5v',
  'k7v',
  'm0v',
  'm1v',
  'm2v',
  'm2p5v',
  'm3v',
  'm4v',
  'm5v',
  'm6v',
] as const;

export function picklesFile(code: string): string {
  return join('templates', 'pickles', `uk${code}.dat`);
}

/** `k5v` -> `K5V`, `b57v` -> `B5-7V`, `m2p5v` -> `M2.5V`. */
export function picklesTypeName(code: string): string {
  const m = /^([obafgkm])(\d)(\d)?(p5)?(i{1,3}|iv|v)$/.exec(code);
  if (!m) return code.toUpperCase();
  const sub = m[3] ? `${m[2]}-${m[3]}` : m[4] ? `${m[2]}.5` : m[2];
  return `${m[1]!.toUpperCase()}${sub}${m[5]!.toUpperCase()}`;
}

/** Every data file the `sed` stage reads under these settings, relative to the data folder (the Salvato list is read for its templates). */
export async function sedDataFiles(s: SedSettings, dataDir: string): Promise<string[]> {
  const bands = s.input_bands.filter((b) => s.surveys.includes(b.survey));
  const files = new Set<string>([
    ...bands.map((b) => filterFileName(b.filter)),
    ...s.output_filters.map(filterFileName),
    ...PICKLES_DWARFS.map(picklesFile),
    picklesFile(s.lmxb_star),
    picklesFile(s.hmxb_star),
    s.templates.composite,
    s.templates.vega,
  ]);
  if (fitsRedshifted(s, 'salvato')) {
    const list = s.agn_redshift!.salvato_list;
    files.add(list);
    for (const f of await salvatoTemplateFiles(dataDir, list)) files.add(f);
  }
  return [...files].sort();
}

/** A redshifted AGN family is fitted: the translation is label-free and gives it a prior above 0. */
export function fitsRedshifted(s: SedSettings, family: 'composite_z' | 'salvato'): boolean {
  return s.assignment === 'label_free' && (s.label_free.priors[family] ?? 0) > 0;
}

/**
 * The template files a LePhare list names (`SALVATO09/S0_template_norm.sed A`: a path
 * under the library's own root, then the template type), relative to the data folder:
 * each file in the list's folder.
 */
export async function salvatoTemplateFiles(dataDir: string, list: string): Promise<string[]> {
  let text: string;
  try {
    text = await fs.readFile(join(dataDir, list), 'utf8');
  } catch (err) {
    throw new InputError({ file: list }, `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const out: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const [path, type] = t.split(/\s+/);
    if (!path || !/^[\w./-]+$/.test(path) || path.includes('..'))
      throw new InputError(
        { file: list, row: i + 1, column: '1', value: path ?? '' },
        'expected a template path such as SALVATO09/S0_template_norm.sed',
      );
    if (type !== undefined && type !== 'A')
      throw new InputError(
        { file: list, row: i + 1, column: '2', value: type },
        'expected template type A (AGN library)',
      );
    out.push(join(dirname(list), basename(path)));
  });
  if (out.length === 0) throw new InputError({ file: list }, 'lists no template');
  return out;
}

/**
 * A LePhare template: wavelength (A) and F_lambda (arbitrary units), two whitespace-separated
 * columns. The Salvato et al. files repeat a wavelength here and there (S0 at 97,000 and
 * 180,000 A, Sey2 five times at 3e6 A) with the same flux, or within 0.1% (pl_QSOH at 1e4 A):
 * a repeat is one point (the first); a repeat whose flux differs by more than 1% is an error.
 */
export async function loadLePhareTemplate(
  dataDir: string,
  file: string,
): Promise<{ wavelength_aa: Float64Array; flux_flam: Float64Array }> {
  const {
    columns: [wl, fl],
  } = await readColumns(join(dataDir, file), file, 2, { comment: '#', repeatedWavelengths: true });
  const wavelength_aa: number[] = [];
  const flux_flam: number[] = [];
  for (let i = 0; i < wl!.length; i++) {
    const n = wavelength_aa.length;
    if (n > 0 && wl![i] === wavelength_aa[n - 1]) {
      const first = flux_flam[n - 1]!;
      if (Math.abs(fl![i]! - first) > 0.01 * Math.max(Math.abs(first), Math.abs(fl![i]!)))
        throw new InputError(
          { file, column: 'flux', value: fl![i]! },
          `wavelength ${wl![i]} A repeated with flux ${first} then ${fl![i]} (more than 1% apart)`,
        );
      continue;
    }
    wavelength_aa.push(wl![i]!);
    flux_flam.push(fl![i]!);
  }
  return { wavelength_aa: Float64Array.from(wavelength_aa), flux_flam: Float64Array.from(flux_flam) };
}
