import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA, MUWCLASS, tempDir } from '../helpers.js';

/** The MUWCLASS header and its first `n` data lines (none of which holds a quoted field). */
export function muwclassHead(n: number): { header: string[]; rows: string[][] } {
  const lines = readFileSync(MUWCLASS, 'utf8').split('\n');
  const picked = lines.slice(1, 1 + n);
  if (picked.some((l) => l.includes('"'))) throw new Error('fixture rows must not hold quoted fields');
  return { header: lines[0]!.split(','), rows: picked.map((l) => l.split(',')) };
}

/** A data folder holding catalogs/muwclass_TD_2022.csv with the given text (the other catalogs, filters and templates linked from the real one). */
export function dataDirWith(csvText: string): string {
  const dir = tempDir('xclass-data-');
  symlinkSync(join(DATA, 'filters'), join(dir, 'filters'));
  symlinkSync(join(DATA, 'templates'), join(dir, 'templates'));
  mkdirSync(join(dir, 'catalogs'), { recursive: true });
  for (const f of readdirSync(join(DATA, 'catalogs')))
    if (f !== 'muwclass_TD_2022.csv') symlinkSync(join(DATA, 'catalogs', f), join(dir, 'catalogs', f));
  writeFileSync(join(dir, 'catalogs', 'muwclass_TD_2022.csv'), csvText);
  return dir;
}

export function toCsv(header: string[], rows: string[][]): string {
  return `${[header, ...rows].map((r) => r.join(',')).join('\n')}\n`;
}
