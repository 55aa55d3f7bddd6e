import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../lib/errors.js';
import type { Filter } from '../../lib/sed/filters.js';
import { closestNames } from '../../lib/sed/filters.js';
import type { SedSettings } from '../../schemas/sed.js';

/** A whitespace-separated numeric table: the first `columns` columns of every non-comment line. */
async function readColumns(path: string, display: string, columns: number, opts: { skipLines?: number; comment?: string } = {}): Promise<Float64Array[]> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    throw new InputError({ file: display }, `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const cols: number[][] = Array.from({ length: columns }, () => []);
  const lines = text.split(/\r?\n/);
  for (let i = opts.skipLines ?? 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || (opts.comment && line.startsWith(opts.comment))) continue;
    const parts = line.split(/\s+/);
    if (parts.length < columns) throw new InputError({ file: display, row: i + 1 }, `expected ${columns} numeric columns, found ${parts.length}`);
    for (let c = 0; c < columns; c++) {
      const v = Number(parts[c]);
      if (!Number.isFinite(v)) throw new InputError({ file: display, row: i + 1, column: String(c + 1), value: parts[c] }, 'expected a number');
      cols[c]!.push(v);
    }
  }
  if (cols[0]!.length < 2) throw new InputError({ file: display }, 'expected at least two rows of data');
  for (let i = 1; i < cols[0]!.length; i++) {
    if (!(cols[0]![i]! > cols[0]![i - 1]!))
      throw new InputError({ file: display, row: i + 1, column: 'wavelength', value: cols[0]![i] }, 'wavelengths must increase');
  }
  return cols.map((c) => Float64Array.from(c));
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
  return new InputError({ file: where, value: name }, `unknown filter; closest known: ${closestNames(name, known).join(', ')}`);
}

/** A filter curve (data README: 4 comment lines, then wavelength_A throughput; tiny negatives clipped to 0). */
export async function loadFilter(dataDir: string, name: string): Promise<Filter> {
  const file = filterFileName(name);
  const [wavelength_aa, throughput] = await readColumns(join(dataDir, file), file, 2, { comment: '#' });
  return { name, wavelength_aa: wavelength_aa!, throughput: throughput!.map((t) => Math.max(0, t)) };
}

/** Pickles (1998) spectrum: wavelength (A) and F_lambda normalised at 5556 A; further columns ignored. */
export async function loadPickles(dataDir: string, file: string): Promise<{ wavelength_aa: Float64Array; flux_flam: Float64Array }> {
  const [wavelength_aa, flux_flam] = await readColumns(join(dataDir, file), file, 2);
  return { wavelength_aa: wavelength_aa!, flux_flam: flux_flam! };
}

/** Vanden Berk et al. (2001) composite: a 23-line byte-by-byte header, then Wave FluxD e_FluxD. */
export async function loadComposite(dataDir: string, file: string): Promise<{ wavelength_aa: Float64Array; flux_flam: Float64Array }> {
  const [wavelength_aa, flux_flam] = await readColumns(join(dataDir, file), file, 2, { skipLines: 23 });
  return { wavelength_aa: wavelength_aa!, flux_flam: flux_flam! };
}

/** CALSPEC Vega: 4 comment lines, then wavelength (A, vacuum) and F_lambda (erg/s/cm^2/A). */
export async function loadVega(dataDir: string, file: string): Promise<{ wavelength_aa: Float64Array; flux_flam_cgs: Float64Array }> {
  const [wavelength_aa, flux_flam_cgs] = await readColumns(join(dataDir, file), file, 2, { comment: '#' });
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

/** Every data file the `sed` stage reads under these settings, relative to the data folder. */
export function sedDataFiles(s: SedSettings): string[] {
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
  return [...files].sort();
}
