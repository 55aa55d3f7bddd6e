import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { measurementField, readCsv, textField } from '../../activities/io/formats/csv.js';

/** A number cell through the shared parser, with no range or sentinel in the way. */
const numberField = (t: Awaited<ReturnType<typeof readCsv>>, i: number, column: string) =>
  measurementField(t, i, column, 'nonnegative', [], {});
import { tempDir } from '../helpers.js';

function csv(text: string): string {
  const path = join(tempDir(), 't.csv');
  writeFileSync(path, text);
  return path;
}

describe('CSV reading', () => {
  it('keeps quoted commas in one field and numbers lines across quoted newlines', async () => {
    const t = await readCsv(csv('name,flux\n"HE 2149-2745A,B",1e-15\n"two\nlines",2\nlast,\n'), 'x.csv');
    expect(t.records.map((r) => r['name'])).toEqual(['HE 2149-2745A,B', 'two\nlines', 'last']);
    expect(t.lines).toEqual([2, 3, 5]);
    expect(numberField(t, 0, 'flux')).toBe(1e-15);
    expect(numberField(t, 2, 'flux')).toBeNull(); // empty field is missing, not zero
    expect(textField(t, 2, 'name')).toBe('last');
  });

  it('names file, line, column and value for a non-number, and refuses NaN and infinities', async () => {
    const t = await readCsv(csv('a,b\n1,2\n3,nan\n4,inf\n'), 'x.csv');
    expect(() => numberField(t, 1, 'b')).toThrow(`x.csv, row 3, column 'b': expected a number, got "nan"`);
    expect(() => numberField(t, 2, 'b')).toThrow(/row 4, column 'b'.*"inf"/);
    expect(numberField(t, 0, 'b')).toBe(2);
  });

  it('reports a row with too many fields as an invalid file', async () => {
    await expect(readCsv(csv('a,b\n1,2\n3,4,5\n'), 'x.csv')).rejects.toThrow(/^x\.csv: not a valid delimited file/);
  });
});
