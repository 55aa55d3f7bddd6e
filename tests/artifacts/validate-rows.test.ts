import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TABLES } from '../../activities/registry.js';
import { validateRows } from '../../artifacts/parquet.js';
import { columnPredicates, defineTable } from '../../schemas/table.js';

/** The bounds a column's zod checks name (number bounds), to probe either side of. */
function boundsOf(schema: z.ZodType): number[] {
  const def = (
    schema as unknown as { _zod: { def: { innerType?: z.ZodType; checks?: { _zod: { def: { value?: unknown } } }[] } } }
  )._zod.def;
  const own = (def.checks ?? []).map((c) => c._zod.def.value).filter((v): v is number => typeof v === 'number');
  return def.innerType ? [...own, ...boundsOf(def.innerType)] : own;
}

const PROBES: unknown[] = [
  null,
  undefined,
  0,
  -0,
  1,
  -1,
  0.5,
  1.5,
  359.999,
  360,
  -90,
  90,
  90.0001,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  '',
  'a',
  'AGN',
  'LMXB',
  'abc_1',
  'A B',
  '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  true,
  false,
  '1',
  [],
  {},
];

describe('column predicates', () => {
  it('accept exactly the values zod accepts, for every column of every registered table', () => {
    let checked = 0;
    for (const table of Object.values(TABLES)) {
      const shape = table.row.shape;
      for (const { name, accepts } of columnPredicates(table)) {
        const schema = shape[name]!;
        const near = boundsOf(schema).flatMap((b) => [b, b - 1e-9, b + 1e-9, b - 1, b + 1]);
        for (const v of [...PROBES, ...near]) {
          expect(accepts(v), `${table.name}.${name} on ${String(v)}`).toBe(schema.safeParse(v).success);
          checked++;
        }
      }
    }
    expect(Object.keys(TABLES).length).toBeGreaterThan(30);
    expect(checked).toBeGreaterThan(10_000);
  });
});

describe('validateRows', () => {
  const t = defineTable('probe', {
    id: z.string().min(1),
    n: z.number().int().nonnegative(),
    p: z.number().min(0).max(1).nullable(),
    cls: z.enum(['AGN', 'CV']),
  });
  const good = (i: number) => ({ id: `s${i}`, n: i, p: i / 10, cls: 'AGN' });

  it('passes good rows and names the first bad row, its column and value, with zod message', () => {
    const rows: Record<string, unknown>[] = Array.from({ length: 10 }, (_, i) => good(i));
    expect(() => validateRows(t, rows, 'f.parquet')).not.toThrow();
    rows[7] = { ...good(7), n: 2.5 };
    rows[4] = { ...good(4), p: 1.25 };
    expect(() => validateRows(t, rows, 'f.parquet')).toThrow(
      /^f\.parquet, row 4, column 'p': Too big: expected number to be <=1 \(schema probe\), got 1\.25$/,
    );
  });

  it('refuses a row with a key beside the declared columns, as a strict object does', () => {
    const rows: Record<string, unknown>[] = [good(0), { ...good(1), extra: 1 }];
    expect(() => validateRows(t, rows, 'f.parquet')).toThrow(/row 1/);
    // a missing column with an extra key in its place (same key count) is still refused
    const { cls: _cls, ...noCls } = good(2);
    expect(() => validateRows(t, [good(0), { ...noCls, other: 'AGN' }], 'f.parquet')).toThrow(/row 1/);
  });

  it('refuses NaN and infinities in a number column (zod 4 numbers are finite)', () => {
    expect(() => validateRows(t, [{ ...good(0), p: Number.NaN }], 'f')).toThrow(
      /row 0, column 'p': expected number, received NaN/,
    );
    expect(() => validateRows(t, [{ ...good(0), n: Number.POSITIVE_INFINITY }], 'f')).toThrow(/row 0, column 'n'/);
  });
});
