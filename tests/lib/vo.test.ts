import { describe, expect, test } from 'vitest';
import { adqlIdentifier, coneAdql, parseAngleArcsec } from '../../lib/vo/adql.js';
import { catalogReachArcsec, searchRadiusArcsec } from '../../lib/sky/counterparts.js';
import { parseTapAnswer } from '../../activities/io/formats/votable.js';
import { mappingColumnNames } from '../../activities/io/mapping-columns.js';
import { serviceMapping } from '../../activities/io/formats/presets.js';

describe('ADQL cones', () => {
  test('the template, radius in degrees, columns once each', () => {
    expect(
      coneAdql('gaiadr3.gaia_source', ['source_id', 'ra', 'dec', 'ra'], 'ra', 'dec', {
        ra_deg: 10.5,
        dec_deg: -58.25,
        radius_arcsec: 90,
      }),
    ).toBe(
      "SELECT source_id, ra, dec FROM gaiadr3.gaia_source WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 10.5, -58.25, 0.025)) = 1",
    );
    // a reserved word as a column is delimited
    expect(adqlIdentifier('distance')).toBe('"distance"');
    expect(adqlIdentifier('raMean')).toBe('raMean');
  });

  test('names that are not plain identifiers are refused before they reach a query', () => {
    expect(() => coneAdql('t; DROP TABLE x', ['a'], 'ra', 'dec', { ra_deg: 1, dec_deg: 1, radius_arcsec: 1 })).toThrow(
      /not a plain ADQL table name/,
    );
    expect(() => coneAdql('t', ['a, (SELECT 1)'], 'ra', 'dec', { ra_deg: 1, dec_deg: 1, radius_arcsec: 1 })).toThrow(
      /not a plain ADQL column name/,
    );
    expect(() => coneAdql('t', ['a'], 'ra', 'dec', { ra_deg: Number.NaN, dec_deg: 1, radius_arcsec: 1 })).toThrow(
      /not a finite number/,
    );
  });

  test('angles as typed: units, a bare number in arcmin, garbage refused', () => {
    expect(parseAngleArcsec('30arcsec')).toBe(30);
    expect(parseAngleArcsec('30"')).toBe(30);
    expect(parseAngleArcsec("2'")).toBe(120);
    expect(parseAngleArcsec('2.5')).toBe(150);
    expect(parseAngleArcsec('0.1deg')).toBeCloseTo(360, 12);
    expect(parseAngleArcsec('5 parsecs')).toBeNull();
    expect(parseAngleArcsec('-1arcmin')).toBeNull();
  });

  test('each preset asks for the columns it reads from the service table (Gaia without the joined distance)', () => {
    expect(mappingColumnNames(serviceMapping('2mass', []))).toEqual([
      'designation',
      'ra',
      'dec',
      'err_maj',
      'err_min',
      'j_m',
      'j_msigcom',
      'h_m',
      'h_msigcom',
      'k_m',
      'k_msigcom',
    ]);
    const gaia = mappingColumnNames(serviceMapping('gaia_dr3', []));
    expect(gaia).toContain('phot_bp_mean_flux_over_error');
    expect(gaia).toContain('pmdec');
    expect(gaia).not.toContain('r_med_geo');
    expect(mappingColumnNames(serviceMapping('hsc', ['HST_ACS_WFC.F814W', 'HST_WFC3_UVIS.F475W', 'PS1.g']))).toEqual([
      'MatchID',
      'MatchRA',
      'MatchDec',
      'A_F814W',
      'A_F814W_MAD',
      'W3_F475W',
      'W3_F475W_MAD',
    ]);
  });
});

describe('how far a field reaches into a catalog', () => {
  test('hand-checked: R = 3 sigma_eff, shifted 10 R, density circle max(60", 2R)', () => {
    const opts = { radius_sigmas: 3, min_radius_arcsec: 0.5, density_radius_arcsec: 60 };
    expect(searchRadiusArcsec(0.1, opts)).toBe(0.5);
    // sigma_eff 9.85": R = 29.55", 10 R = 295.5", density circle 60"
    expect(catalogReachArcsec(9.85, opts, [5, 10])).toBeCloseTo(355.5, 10);
    // sigma_eff 12": R = 36", 2R = 72" beats 60"
    expect(catalogReachArcsec(12, opts, [5, 10])).toBeCloseTo(432, 10);
    expect(catalogReachArcsec(1, opts, [])).toBe(60);
  });
});

describe('TAP answers (DALI QUERY_STATUS)', () => {
  const doc = (infos: string, table = true) =>
    `<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results">${infos}` +
    (table
      ? '<TABLE><FIELD name="id" datatype="char" arraysize="*"/><FIELD name="ra" datatype="double" unit="deg" ucd="pos.eq.ra"/><DATA><TABLEDATA><TR><TD>a</TD><TD>1.5</TD></TR></TABLEDATA></DATA></TABLE>'
      : '') +
    '</RESOURCE></VOTABLE>';

  test('OK, with the table and its declared columns', () => {
    const a = parseTapAnswer(doc('<INFO name="QUERY_STATUS" value="OK"/>'), 'answer');
    expect([a.status, a.table?.records]).toEqual(['OK', [{ id: 'a', ra: '1.5' }]]);
    expect(a.fields).toEqual([
      { name: 'id', datatype: 'char', unit: null, ucd: null },
      { name: 'ra', datatype: 'double', unit: 'deg', ucd: 'pos.eq.ra' },
    ]);
  });

  test('OVERFLOW written after the table trumps the OK before it; ERROR carries the message and no table', () => {
    const over = `<INFO name="QUERY_STATUS" value="OK"/>${''}`;
    const text = doc(over).replace('</TABLE>', '</TABLE><INFO name="QUERY_STATUS" value="OVERFLOW"/>');
    expect(parseTapAnswer(text, 'answer').status).toBe('OVERFLOW');
    const err = parseTapAnswer(
      doc('<INFO name="QUERY_STATUS" value="ERROR">Field query: column nope unknown</INFO>', false),
      'answer',
    );
    expect([err.status, err.message, err.table]).toEqual(['ERROR', 'Field query: column nope unknown', null]);
  });
});
