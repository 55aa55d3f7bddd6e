/**
 * Errors caused by the data a user handed us (a catalog, a config value, a table).
 * They are never retried: the same input fails the same way. The message is one line
 * that names where the problem is (file, row, column, value) and what was expected.
 */
export interface InputLocation {
  /** file or artifact the bad value came from */
  file?: string;
  /** 1-based line number in a text file, or 0-based row index in an artifact */
  row?: number;
  column?: string;
  value?: unknown;
}

export class InputError extends Error {
  override readonly name = 'InputError';
  readonly location: InputLocation;
  readonly expected: string;

  constructor(location: InputLocation, expected: string) {
    super(formatInputError(location, expected));
    this.location = location;
    this.expected = expected;
  }
}

/** The error-type name engines use to mark a failure as not retryable. */
const INPUT_ERROR_TYPE = 'InputError';

/**
 * Failures that the same step would meet again on a retry, so both engines fail them at
 * once: bad input, a damaged input artifact (the next run's cache check quarantines and
 * recomputes it), and JavaScript's own deterministic errors (an impossible array length,
 * a type error), which are bugs or unbounded settings, not passing faults.
 */
export const NON_RETRYABLE_ERROR_TYPES = [
  INPUT_ERROR_TYPE,
  'DamagedFileError',
  'RangeError',
  'TypeError',
  'ReferenceError',
  'SyntaxError',
] as const;

function formatInputError(loc: InputLocation, expected: string): string {
  const parts: string[] = [];
  if (loc.file !== undefined) parts.push(loc.file);
  if (loc.row !== undefined) parts.push(`row ${loc.row}`);
  if (loc.column !== undefined) parts.push(`column '${loc.column}'`);
  const where = parts.join(', ');
  const value = 'value' in loc ? `, got ${showValue(loc.value)}` : '';
  return `${where}${where ? ': ' : ''}${expected}${value}`.replace(/[\r\n]+/g, ' ');
}

function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string')
    return v === '' ? 'an empty value' : JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  return String(v);
}

export function isInputError(err: unknown): err is InputError {
  return err instanceof Error && err.name === INPUT_ERROR_TYPE;
}
