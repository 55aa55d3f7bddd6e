import { join } from 'node:path';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readTargetTable, tableFormat } from '../../activities/io/formats/registry.js';
import { readXraySources } from '../../activities/io/catalog-rows.js';
import { csc2Mapping } from '../../activities/io/formats/presets.js';
import { sqlString, withConnection } from '../../artifacts/duckdb.js';
import { ROOT, tempDir } from '../helpers.js';

/** Fixtures: tests/fixtures/classify/make_fixtures.py (the first 25 rows of the bundled real CSC 2.0 cone search, written by astropy). */
const FIX = join(ROOT, 'tests', 'fixtures', 'classify');
const CSC = [
  'ngc3532_csc.csv',
  'ngc3532_csc.tsv',
  'ngc3532_csc.tabledata.vot',
  'ngc3532_csc.binary2.vot',
  'ngc3532_csc.fits',
];

async function cscRows(file: string, dir = FIX) {
  const t = await readTargetTable(join(dir, file), file);
  return readXraySources(t, csc2Mapping(), []).rows.map(({ line: _line, ...r }) => r);
}

describe('catalog table formats', () => {
  it('tells the format from the first bytes, then the extension', async () => {
    const formats = await Promise.all(CSC.map((f) => tableFormat(join(FIX, f), f)));
    expect(formats).toEqual(['csv', 'tsv', 'votable', 'votable', 'fits']);
  });

  it('the same CSC rows from CSV, TSV, Parquet, VOTable TABLEDATA and BINARY2, and FITS', async () => {
    const reference = await cscRows('ngc3532_csc.csv');
    expect(reference).toHaveLength(25);
    // row 1 by hand: 2CXO J110507.4-585105 at 11 05 07.45 -58 51 05.47, r0 = r1 = 0.77", no soft flux
    const r = reference[0]!;
    expect(r.id).toBe('2CXO J110507.4-585105');
    expect(r.ra_deg).toBeCloseTo(15 * (11 + 5 / 60 + 7.45 / 3600), 12);
    expect(r.dec_deg).toBeCloseTo(-(58 + 51 / 60 + 5.47 / 3600), 12);
    expect(r.sigma_eff_arcsec).toBeCloseTo(0.77, 12);
    expect(r.pos_err_95_arcsec).toBe(0.77);
    expect(r.flux.b.value).toBe(9.993e-16);
    expect(r.flux.b.err).toBeCloseTo((1.374e-15 - 6.246e-16) / 2, 30);
    expect(r.flux.s).toEqual({ value: null, err: null });
    expect(r.var_p_intra).toBe(0.651);
    expect(r.var_p_inter).toBeNull();
    for (const f of CSC.slice(1)) expect(await cscRows(f), f).toEqual(reference);
    // Parquet, written by DuckDB from the CSV
    const dir = tempDir();
    const parquet = join(dir, 'csc.parquet');
    await withConnection((c) =>
      c.run(
        `COPY (SELECT * FROM read_csv(${sqlString(join(FIX, 'ngc3532_csc.csv'))}, all_varchar = true)) TO ${sqlString(parquet)} (FORMAT parquet)`,
      ),
    );
    expect(await tableFormat(parquet, 'csc.parquet')).toBe('parquet');
    expect(await cscRows('csc.parquet', dir)).toEqual(reference);
    // the same CSV separated by semicolons (as spreadsheets write it), or by vertical bars: read with its delimiter
    for (const [name, d] of [
      ['csc-semicolon.csv', ';'],
      ['csc-bar.csv', '|'],
    ] as const) {
      writeFileSync(join(dir, name), readFileSync(join(FIX, 'ngc3532_csc.csv'), 'utf8').replace(/,/g, d));
      const { readTableHeader } = await import('../../activities/io/formats/registry.js');
      expect((await readTableHeader(join(dir, name), name)).slice(0, 3)).toEqual(['name', 'ra', 'dec']);
      expect(await cscRows(name, dir), name).toEqual(reference);
    }
  });

  it('FITS: TNULL integers, TZERO unsigned integers, 64-bit ids, logicals, strings, NaN', async () => {
    const t = await readTargetTable(join(FIX, 'types.fits'), 'types.fits');
    expect(t.header).toEqual(['id', 'i16', 'u32', 'flag', 'label', 'x']);
    expect(t.records).toEqual([
      { id: '5853498713190525696', i16: 7, u32: 4000000000, flag: true, label: 'AGN', x: 1.5 },
      { id: '1', i16: -3, u32: 0, flag: false, label: 'CV', x: null },
      { id: '-2', i16: null, u32: 17, flag: true, label: 'LM-STAR', x: -2.25 },
    ]);
  });

  it('VOTable: BINARY2 null bits and TABLEDATA give the same rows', async () => {
    const bin = await readTargetTable(join(FIX, 'types.binary2.vot'), 'types.binary2.vot');
    expect(bin.records).toEqual([
      { id: '5853498713190525696', i16: 7, flag: true, label: 'AGN', x: 1.5 },
      { id: '1', i16: -3, flag: false, label: 'CV', x: null },
      { id: '-2', i16: null, flag: true, label: 'LM-STAR', x: -2.25 },
    ]);
    const text = await readTargetTable(join(FIX, 'types.tabledata.vot'), 'types.tabledata.vot');
    // TABLEDATA cells stay text until a mapping reads them as numbers
    expect(text.records.map((r) => [r['id'], r['i16'], r['label'], r['x']])).toEqual([
      ['5853498713190525696', '7', 'AGN', '1.5'],
      ['1', '-3', 'CV', null],
      ['-2', null, 'LM-STAR', '-2.25'],
    ]);
  });

  it('refuses a truncated FITS file and a VOTable without a table, naming the file', async () => {
    const dir = tempDir();
    const cut = join(dir, 'cut.fits');
    copyFileSync(join(FIX, 'types.fits'), cut);
    const { truncateSync } = await import('node:fs');
    truncateSync(cut, 2880 + 1000);
    await expect(readTargetTable(cut, 'cut.fits')).rejects.toThrow(/cut\.fits.*(truncated|no END card)/);
    const empty = join(dir, 'empty.vot');
    writeFileSync(empty, '<?xml version="1.0"?><VOTABLE><RESOURCE></RESOURCE></VOTABLE>');
    await expect(readTargetTable(empty, 'empty.vot')).rejects.toThrow(/empty\.vot.*no TABLE/);
  });

  it('a mapping column missing from the table is named with the columns the table has', async () => {
    const t = await readTargetTable(join(FIX, 'ngc3532_csc.fits'), 'ngc3532_csc.fits');
    expect(() => readXraySources(t, { ...csc2Mapping(), significance: 'snr' }, [])).toThrow(
      /ngc3532_csc\.fits.*row 1.*'snr'.*missing/,
    );
  });
});

describe('magnitude columns that would change answers silently', () => {
  it('maps an HST column named in another case or with a mag suffix, and refuses one named otherwise', async () => {
    const { hstMagnitudeColumn, xclassMapping } = await import('../../activities/io/formats/presets.js');
    const f = 'HST_ACS_WFC.F475W';
    expect(hstMagnitudeColumn(['id', 'F475W', 'f475w_mag'], f, 't.csv')).toBe('F475W');
    expect(hstMagnitudeColumn(['id', 'f475w'], f, 't.csv')).toBe('f475w');
    expect(hstMagnitudeColumn(['id', 'F475W_mag', 'F475W_err', 'e_F475W'], f, 't.csv')).toBe('F475W_mag');
    expect(hstMagnitudeColumn(['id', 'F814W'], f, 't.csv')).toBeNull();
    expect(() => hstMagnitudeColumn(['id', 'F475W_vega'], f, 't.csv')).toThrow(
      /t\.csv, row 1, column 'F475W_vega': expected one AB magnitude column per filter/,
    );
    expect(() => hstMagnitudeColumn(['id', 'f475w', 'F475W_mag'], f, 't.csv')).toThrow(/column 'f475w, F475W_mag'/);
    const m = xclassMapping(
      ['id', 'flux_s', 'flux_m', 'flux_h', 'flux_b', 'f475w', 'F814W_mag'],
      [f, 'HST_ACS_WFC.F814W'],
      't.csv',
    );
    expect(m.magnitudes!.map((c) => [c.column, c.filter, c.system])).toEqual([
      ['f475w', f, 'AB'],
      ['F814W_mag', 'HST_ACS_WFC.F814W', 'AB'],
    ]);
  });

  it('refuses a filter mapped twice and a survey band in another system unless the mapping says so', async () => {
    const { checkMagnitudeColumns } = await import('../../lib/classify/targets.js');
    const gaia = {
      name: 'G',
      survey: 'gaia' as const,
      filter: 'Gaia_DR3.G',
      mag_column: 'g',
      err_column: 'e',
      system: { kind: 'vega_spectrum' as const, vega_mag: 0.023 },
    };
    const own = { column: 'g', filter: 'Gaia_DR3.G', system: { vega_mag: 0.023, kind: 'vega_spectrum' as const } };
    expect(() => checkMagnitudeColumns('c.csv', [own], [gaia])).not.toThrow();
    expect(() => checkMagnitudeColumns('c.csv', [own, { ...own, column: 'g2' }], [gaia])).toThrow(
      /c\.csv, row 1, column 'g2': expected one column per filter in a table \(g is mapped to Gaia_DR3\.G too\)/,
    );
    expect(() => checkMagnitudeColumns('c.csv', [{ ...own, system: 'Vega' as const }], [gaia])).toThrow(
      /column 'g': expected Gaia_DR3\.G in its survey's system/,
    );
    expect(() =>
      checkMagnitudeColumns('c.csv', [{ ...own, system: 'AB' as const, system_explicit: true as const }], [gaia]),
    ).not.toThrow();
    // a band that is not a survey band of the model (an HST filter) may be in any system
    expect(() =>
      checkMagnitudeColumns('c.csv', [{ column: 'f', filter: 'HST_ACS_WFC.F475W', system: 'Vega' as const }], [gaia]),
    ).not.toThrow();
  });
});

describe('position errors', () => {
  it("the feature is the 95% ellipse's major semi-axis, as the training table's CSCv2_PU; the search radius the method's sigma_eff", async () => {
    const dir = tempDir();
    // the first row of the CSC fixture with an ellipse of semi-axes 1.0" and 0.6"
    const [head, first] = readFileSync(join(FIX, 'ngc3532_csc.csv'), 'utf8').split('\n');
    writeFileSync(
      join(dir, 'e.csv'),
      `${head}\n${first!
        .split(',')
        .map((c, i) => (i === 3 ? '1.0' : i === 4 ? '0.6' : c))
        .join(',')}\n`,
    );
    const [r] = readXraySources(await readTargetTable(join(dir, 'e.csv'), 'e.csv'), csc2Mapping(), []).rows;
    expect(r!.pos_err_95_arcsec).toBe(1.0);
    expect(r!.sigma_eff_arcsec).toBeCloseTo(Math.sqrt((1 + 0.36) / 2), 12);
  });
});
