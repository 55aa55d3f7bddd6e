// Prints one table of the `@figure` lines in the benchmark logs named on the command line (make bench).
import { readFileSync } from 'node:fs';
import type { Figure } from './figures.js';

const figures: Figure[] = process.argv
  .slice(2)
  .flatMap((file) => readFileSync(file, 'utf8').split('\n'))
  .filter((l) => l.startsWith('@figure '))
  .map((l) => JSON.parse(l.slice('@figure '.length)) as Figure);
const cells = figures.map((f) => [f.bench, f.figure, f.value.toPrecision(4), f.unit, f.target ?? '']);
const head = ['bench', 'figure', 'value', 'unit', 'target'];
const widths = head.map((h, c) => Math.max(h.length, ...cells.map((r) => r[c]!.length)));
const line = (r: string[]) => r.map((v, c) => (c === 2 ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join('  ');
console.log(`\nsummary of ${figures.length} figures`);
console.log(line(head));
for (const r of cells) console.log(line(r));
