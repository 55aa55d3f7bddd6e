import { InputError } from '../../lib/errors.js';

/**
 * Input validation shared by every reader of user tables (`ingest`, `reference`, the
 * label-catalog parsers, `classify`): one number parser, the plausible range of each
 * kind of column, no-data sentinels turned into missing values, and header checks.
 * Every rejection is one InputError naming file, row, column, value and what was expected.
 */

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * The one number parser: a decimal or scientific-notation number (text or an already
 * numeric cell); empty or NULL -> null; anything else (hex `0x10`, `inf`, `NaN`, `1,5`,
 * units) -> undefined, which the caller rejects.
 */
export function parseNumber(v: unknown): number | null | undefined {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  if (t === '') return null;
  if (!DECIMAL.test(t)) return undefined;
  const x = Number(t);
  return Number.isFinite(x) ? x : undefined;
}

interface KindSpec {
  min: number;
  max: number;
  /** the minimum itself is not allowed (an error of 0 says nothing) */
  minExclusive?: boolean;
  /** values of the configured no-data list mean "no measurement" in this kind of column */
  noData: boolean;
  expected: string;
}

/**
 * Plausible ranges. Bounds are wide on purpose: they catch markers and unit mistakes, not
 * unusual sources. Sentinels apply only where a sentinel can never be a real value (a
 * magnitude of 99, a probability of -99); a parallax or distance of 99 is real.
 */
export const COLUMN_KINDS = {
  ra_deg: { min: 0, max: 360 - 1e-12, noData: false, expected: 'right ascension in degrees, 0 <= RA < 360' },
  dec_deg: { min: -90, max: 90, noData: false, expected: 'declination in degrees, -90 <= Dec <= 90' },
  mag: { min: -30, max: 40, noData: true, expected: 'a magnitude between -30 and 40' },
  mag_err: { min: 0, max: 10, minExclusive: true, noData: true, expected: 'a magnitude error > 0 and <= 10' },
  flux_cgs: { min: 0, max: 1e-6, noData: true, expected: 'a non-negative flux in erg/s/cm^2 (at most 1e-6)' },
  flux_err_cgs: { min: 0, max: 1e-6, noData: true, expected: 'a non-negative flux error in erg/s/cm^2 (at most 1e-6)' },
  probability: { min: 0, max: 1, noData: true, expected: 'a probability between 0 and 1' },
  significance: { min: 0, max: 1e6, noData: false, expected: 'a detection significance (S/N) >= 0' },
  pos_err_arcsec: { min: 0, max: 3600, noData: false, expected: 'a positional error in arcsec, 0 to 3600' },
  parallax_mas: {
    min: -1000,
    max: 1000,
    noData: false,
    expected: 'a parallax in mas between -1000 and 1000 (the nearest star has 768)',
  },
  parallax_err_mas: {
    min: 0,
    max: 1000,
    minExclusive: true,
    noData: false,
    expected: 'a parallax error in mas > 0 and <= 1000',
  },
  pm_masyr: { min: 0, max: 20000, noData: false, expected: 'a total proper motion in mas/yr between 0 and 20000' },
  pm_component_masyr: {
    min: -20000,
    max: 20000,
    noData: false,
    expected: 'a proper-motion component in mas/yr between -20000 and 20000',
  },
  distance_pc: { min: 0, max: 1e7, minExclusive: true, noData: false, expected: 'a distance in pc > 0' },
  nonnegative: { min: 0, max: Number.MAX_VALUE, noData: false, expected: 'a number >= 0' },
  a_v_mag: { min: 0, max: 30, noData: false, expected: 'an extinction A_V in mag between 0 and 30' },
} as const satisfies Record<string, KindSpec>;
export type ColumnKind = keyof typeof COLUMN_KINDS;

/** No-data values met, per column: recorded in the artifact's notes. */
export type NoDataCounts = Record<string, number>;

/** Where a cell is: file, 1-based line (or row), column. */
export interface Cell {
  file: string;
  row: number;
  column: string;
}

/**
 * A measurement: parsed by the one number parser, a no-data sentinel turned into null
 * (counted), then checked against its kind's range.
 */
export function measurement(
  cell: Cell,
  raw: unknown,
  kind: ColumnKind,
  noData: readonly number[],
  counts: NoDataCounts,
): number | null {
  const v = parseNumber(raw);
  if (v === undefined) throw new InputError({ ...cell, value: raw }, 'expected a number');
  if (v === null) return null;
  const spec: KindSpec = COLUMN_KINDS[kind];
  if (spec.noData && noData.includes(v)) {
    counts[cell.column] = (counts[cell.column] ?? 0) + 1;
    return null;
  }
  if (v < spec.min || v > spec.max || (spec.minExclusive === true && v === spec.min)) {
    const hint = spec.noData ? ' (a no-data marker? list it in config input.no_data)' : '';
    throw new InputError({ ...cell, value: raw }, `expected ${spec.expected}${hint}`);
  }
  return v;
}

/**
 * A header must name every column once: a repeated name would silently replace the
 * first. `allowEmpty` is for formats whose delimiters frame the line (`|a|b|`).
 */
export function checkHeader(
  header: readonly string[],
  file: string,
  line: number,
  opts: { allowEmpty?: boolean } = {},
): void {
  const seen = new Map<string, number>();
  header.forEach((name, i) => {
    if (name === '' && opts.allowEmpty) return;
    if (name === '')
      throw new InputError({ file, row: line, column: `#${i + 1}`, value: '' }, 'expected a column name in the header');
    const first = seen.get(name);
    if (first !== undefined)
      throw new InputError(
        { file, row: line, column: name },
        `column name repeated in the header (columns ${first + 1} and ${i + 1})`,
      );
    seen.set(name, i);
  });
}

/** A class name must be one the label map knows. */
export function checkClass(cell: Cell, value: string, labelMap: Readonly<Record<string, unknown>>): void {
  if (!Object.hasOwn(labelMap, value))
    throw new InputError(
      { ...cell, value },
      `unknown label, expected one of ${Object.keys(labelMap).join(', ')} (config labels.map)`,
    );
}
