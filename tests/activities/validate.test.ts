import { describe, expect, it } from 'vitest';
import { checkHeader, measurement, parseNumber, type NoDataCounts } from '../../activities/io/validate.js';

const cell = { file: 'targets.csv', row: 7, column: 'F475W' };

describe('input validation', () => {
  it('parses decimal and scientific numbers, and nothing else', () => {
    expect([parseNumber('3e-15'), parseNumber(' -2.5 '), parseNumber('.5'), parseNumber(12), parseNumber(3n)]).toEqual([
      3e-15, -2.5, 0.5, 12, 3,
    ]);
    expect([parseNumber(''), parseNumber(null), parseNumber(undefined)]).toEqual([null, null, null]);
    for (const bad of ['0x10', 'inf', 'Infinity', 'NaN', '1,5', '3 mag', '1e400', Number.NaN, true])
      expect(parseNumber(bad), String(bad)).toBeUndefined();
  });

  it('turns no-data sentinels into missing values in magnitude columns and counts them', () => {
    const counts: NoDataCounts = {};
    expect(measurement(cell, '99.99', 'mag', [99, 99.99], counts)).toBeNull();
    expect(measurement(cell, '99', 'mag', [99, 99.99], counts)).toBeNull();
    expect(measurement(cell, '21.3', 'mag', [99, 99.99], counts)).toBe(21.3);
    expect(counts).toEqual({ F475W: 2 });
  });

  it('keeps a value equal to a sentinel where it is real (a distance of 99 pc)', () => {
    const counts: NoDataCounts = {};
    expect(measurement({ ...cell, column: 'rgeo' }, '99', 'distance_pc', [99], counts)).toBe(99);
    expect(counts).toEqual({});
  });

  it.each([
    [
      '99',
      'mag',
      /targets\.csv, row 7, column 'F475W': expected a magnitude between -30 and 40 \(a no-data marker\? list it in config input\.no_data\), got "99"$/,
    ],
    ['-0.02', 'mag_err', /expected a magnitude error > 0 and <= 10/],
    ['0', 'mag_err', /expected a magnitude error > 0 and <= 10/],
    ['1.2', 'probability', /expected a probability between 0 and 1/],
    ['-1e-15', 'flux_cgs', /expected a non-negative flux in erg\/s\/cm\^2/],
    ['4000', 'parallax_mas', /expected a parallax in mas between -1000 and 1000/],
    ['360', 'ra_deg', /expected right ascension in degrees, 0 <= RA < 360/],
    ['0x1A', 'mag', /expected a number, got "0x1A"$/],
  ] as const)('rejects %s as %s in one line', (value, kind, message) => {
    expect(() => measurement(cell, value, kind, [], {})).toThrow(message);
  });

  it('rejects a repeated or empty column name, naming it', () => {
    expect(() => checkHeader(['id', 'Fs', 'Gmag', 'Fs'], 'td.csv', 1)).toThrow(
      /^td\.csv, row 1, column 'Fs': column name repeated in the header \(columns 2 and 4\)$/,
    );
    expect(() => checkHeader(['id', ''], 'td.csv', 1)).toThrow(/column '#2': expected a column name/);
    expect(() => checkHeader(['', 'name', 'ra', ''], 'liu.psv', 1, { allowEmpty: true })).not.toThrow();
  });
});
