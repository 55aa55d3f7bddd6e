import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTableLayout, readTargetTable, tableFormat } from '../../activities/io/formats/registry.js';
import { readPhotometry, readXraySources } from '../../activities/io/catalog-rows.js';
import {
  csc2Mapping,
  detectPhotometryPreset,
  detectXrayPreset,
  gaiaDr3Mapping,
  gaiaDr3VizierMapping,
  twoMassVizierMapping,
} from '../../activities/io/formats/presets.js';
import { alignMapping, fluxScale, withDeclaredUnits } from '../../activities/io/mapping-columns.js';
import type { PhotometryMapping } from '../../schemas/catalog.js';
import { ROOT } from '../helpers.js';

/**
 * Catalogs as astronomers download them. Fixtures: tests/fixtures/classify/make_download_fixtures.py,
 * written by astropy 5.2.1 (Debian's python3-astropy) from the committed CSC rows (real, NGC 3532) and
 * the SIMULATED Gaia catalog of make_fixtures.py.
 */
const FIX = join(ROOT, 'tests', 'fixtures', 'classify');

async function cscRows(file: string) {
  const t = await readTargetTable(join(FIX, file), file);
  return readXraySources(t, csc2Mapping(), []).rows.map(({ line: _line, ...r }) => r);
}

/** A catalog's rows as the classify plan maps them: preset from the header, names aligned, declared units honoured. */
async function planned(file: string, mapping: (header: string[]) => PhotometryMapping) {
  const { header, units } = await readTableLayout(join(FIX, file), file);
  const m = withDeclaredUnits(alignMapping(mapping(header), header, file), units, file);
  return { mapping: m, ...readPhotometry(await readTargetTable(join(FIX, file), file), m, []) };
}

describe('tables as downloaded', () => {
  it('ECSV, IPAC, gzip of FITS, CSV and VOTable, and CSV with # comments give the CSV rows', async () => {
    const reference = await cscRows('ngc3532_csc.csv');
    const files = [
      'ngc3532_csc.ecsv',
      'ngc3532_csc.ipac',
      'ngc3532_csc.fits.gz',
      'ngc3532_csc.csv.gz',
      'ngc3532_csc.tabledata.vot.gz',
      'ngc3532_csc_comments.csv',
    ];
    expect(await Promise.all(files.map((f) => tableFormat(join(FIX, f), f)))).toEqual([
      'ecsv',
      'ipac',
      'gzip',
      'gzip',
      'gzip',
      'csv',
    ]);
    for (const f of files) expect(await cscRows(f), f).toEqual(reference);
    // the comment lines are counted: the first data row of the commented CSV is on line 4
    expect((await readTargetTable(join(FIX, 'ngc3532_csc_comments.csv'), 'c.csv')).lines.slice(0, 2)).toEqual([4, 5]);
  });

  it('reads the units ECSV, FITS, VOTable and IPAC headers declare', async () => {
    expect((await readTableLayout(join(FIX, 'ngc3532_gaia_sim_vizier.ecsv'), 'v.ecsv')).units).toMatchObject({
      RA_ICRS: 'deg',
      e_RA_ICRS: 'mas',
      pmRA: 'mas / yr',
      Gmag: 'mag',
    });
    expect((await readTableLayout(join(FIX, 'ngc3532_csc_heasarc.fits'), 'h.fits')).units).toMatchObject({
      RA: 'deg',
      ERR_ELLIPSE_R0: 'arcsec',
      FLUX_APER90_B: 'cm-2 erg s-1',
    });
    expect((await readTableLayout(join(FIX, 'ngc3532_gaia_sim_rad.vot'), 'r.vot')).units).toMatchObject({
      ra: 'rad',
      dec: 'rad',
      ra_error: 'mas',
    });
  });

  it("HEASARC's upper-case names and degrees: the CSC preset found, names matched ignoring case, the same sources", async () => {
    const file = 'ngc3532_csc_heasarc.fits';
    const { header, units } = await readTableLayout(join(FIX, file), file);
    expect(detectXrayPreset(header, file)).toBe('csc2');
    const m = withDeclaredUnits(alignMapping(csc2Mapping(), header, file), units, file);
    expect([m.id, m.ra, m.fluxes.b.value, m.scales]).toEqual(['NAME', 'RA', 'FLUX_APER90_B', undefined]);
    const rows = readXraySources(await readTargetTable(join(FIX, file), file), m, []).rows;
    const reference = await cscRows('ngc3532_csc.csv');
    expect(rows.map((r) => r.id)).toEqual(reference.map((r) => r.id));
    rows.forEach((r, i) => {
      // astropy's degrees from the sexagesimal text, against XClass's own parse of it
      expect(r.ra_deg!).toBeCloseTo(reference[i]!.ra_deg!, 10);
      expect(r.dec_deg!).toBeCloseTo(reference[i]!.dec_deg!, 10);
      expect([r.flux, r.sigma_eff_arcsec, r.var_p_intra]).toEqual([
        reference[i]!.flux,
        reference[i]!.sigma_eff_arcsec,
        reference[i]!.var_p_intra,
      ]);
    });
  });

  it("VizieR's Gaia DR3 names and units give the archive download's sources", async () => {
    const archive = await planned('ngc3532_gaia_sim.csv', gaiaDr3Mapping);
    for (const file of ['ngc3532_gaia_sim_vizier.ecsv', 'ngc3532_gaia_sim_vizier.vot']) {
      const { header } = await readTableLayout(join(FIX, file), file);
      expect(detectPhotometryPreset(header, file)).toBe('gaia_dr3_vizier');
      const viz = await planned(file, gaiaDr3VizierMapping);
      expect(viz.rows).toHaveLength(archive.rows.length);
      viz.rows.forEach((r, i) => {
        const a = archive.rows[i]!;
        expect([r.id, r.ra_deg, r.dec_deg, r.sigma_arcsec, r.parallax_mas, r.pm_total_masyr]).toEqual([
          a.id,
          a.ra_deg,
          a.dec_deg,
          a.sigma_arcsec,
          a.parallax_mas,
          a.pm_total_masyr,
        ]);
        // VizieR's e_Gmag is the S/N's 1.0857/200 = 0.00543, rounded to 0.0054
        expect(r.mags.map((m) => [m.band, m.mag, m.err])).toEqual(a.mags.map((m) => [m.band, m.mag, 0.0054]));
        expect(a.mags[0]!.err).toBeCloseTo(2.5 / Math.LN10 / 200, 12);
      });
    }
  });

  it('positions in radians are turned into degrees; a Gaia download without error columns is read with the default errors', async () => {
    const archive = await planned('ngc3532_gaia_sim.csv', gaiaDr3Mapping);
    const rad = await planned('ngc3532_gaia_sim_rad.vot', gaiaDr3Mapping);
    expect(rad.mapping.scales).toEqual({ ra: 180 / Math.PI, dec: 180 / Math.PI });
    rad.rows.forEach((r, i) => {
      expect(r.ra_deg).toBeCloseTo(archive.rows[i]!.ra_deg, 11);
      expect(r.dec_deg).toBeCloseTo(archive.rows[i]!.dec_deg, 11);
    });
    const noerr = await planned('ngc3532_gaia_sim_noerr.csv', gaiaDr3Mapping);
    expect(noerr.mapping.position_error).toBeUndefined();
    expect(noerr.mapping.magnitudes.map((m) => m.snr)).toEqual([undefined, undefined, undefined]);
    // no error: 0 for the position (the X-ray error dominates), none for the magnitudes (classify takes 10% in flux)
    expect(noerr.rows.map((r) => r.sigma_arcsec)).toEqual(archive.rows.map(() => 0));
    expect(noerr.rows.every((r) => r.mags.every((m) => m.err === null))).toBe(true);
  });

  it('rows repeated by overlapping cones are merged and counted; a repeated id with other values is refused', async () => {
    const archive = await planned('ngc3532_gaia_sim.csv', gaiaDr3Mapping);
    const dups = await planned('ngc3532_gaia_sim_dups.csv', gaiaDr3Mapping);
    expect([dups.rows.length, dups.merged]).toEqual([archive.rows.length, 40]);
    expect(dups.rows).toEqual(archive.rows);
    // a catalog without ids: rows named by line, and merged when two lie within 0.1"
    const { id: _id, ...noId } = gaiaDr3Mapping([
      'ra_error',
      'dec_error',
      'phot_g_mean_flux_over_error',
      'phot_bp_mean_flux_over_error',
      'phot_rp_mean_flux_over_error',
    ]);
    const anonymous = readPhotometry(await readTargetTable(join(FIX, 'ngc3532_gaia_sim_dups.csv'), 'd.csv'), noId, []);
    expect([anonymous.rows.length, anonymous.merged]).toEqual([archive.rows.length, 40]);
    expect(anonymous.rows.slice(0, 2).map((r) => r.id)).toEqual(['row2', 'row3']);
    expect(anonymous.rows.map((r) => r.ra_deg)).toEqual(archive.rows.map((r) => r.ra_deg));
  });

  it('units: flux units read as products of powers, and a unit that contradicts the mapping in one line', () => {
    expect(
      ['erg/s/cm2', 'erg cm-2 s-1', 'cm-2 erg s-1', 'erg s^-1 cm^-2', 'erg/(s.cm2)', 'mW m-2', 'W/m2'].map(fluxScale),
    ).toEqual([1, 1, 1, 1, 1, 1, 1000]);
    expect(['erg/s', 'ct/s', 'Jy', 'ph/cm2/s'].map(fluxScale)).toEqual([undefined, undefined, undefined, undefined]);
    const m = gaiaDr3Mapping(['source_id', 'ra', 'dec', 'phot_g_mean_mag', 'phot_bp_mean_mag', 'phot_rp_mean_mag']);
    expect(() => withDeclaredUnits(m, { phot_g_mean_mag: 'Jy' }, 'g.vot')).toThrow(
      /^g\.vot, row 1, column 'phot_g_mean_mag': declared unit contradicts the mapping, which reads a magnitude \(mag\) there, got "Jy"$/,
    );
    expect(() => withDeclaredUnits(csc2Mapping(), { flux_aper90_b: 'ct/s' }, 'x.fits')).toThrow(
      /column 'flux_aper90_b': declared unit contradicts the mapping, which reads an energy flux/,
    );
    expect(
      withDeclaredUnits(csc2Mapping(), { ra: 'h', err_ellipse_r0: 'mas', flux_aper90_b: 'W/m2' }, 'x.fits').scales,
    ).toEqual({
      ra: 15,
      err_ellipse_r0: 1e-3,
      flux_aper90_b: 1000,
    });
    // sexagesimal text declares no numeric unit
    expect(withDeclaredUnits(csc2Mapping(), { ra: '"h:m:s"', dec: '"d:m:s"' }, 'x.vot').scales).toBeUndefined();
    // a name matching two header columns only in case
    expect(() => alignMapping(csc2Mapping(), ['name', 'RA', 'Ra', 'dec'], 't.fits')).toThrow(
      /^t\.fits, row 1, column 'ra': the header has several columns of this name in other cases \(RA, Ra\)/,
    );
  });

  it("VizieR's 2MASS PSC names: the preset from the header", () => {
    const header = [
      '_2MASS',
      'RAJ2000',
      'DEJ2000',
      'errMaj',
      'errMin',
      'Jmag',
      'e_Jmag',
      'Hmag',
      'e_Hmag',
      'Kmag',
      'e_Kmag',
    ];
    expect(detectPhotometryPreset(header, 'tm.vot')).toBe('2mass_vizier');
    const m = twoMassVizierMapping(header);
    expect(m.magnitudes.map((b) => [b.column, b.err, b.filter])).toEqual([
      ['Jmag', 'e_Jmag', '2MASS.J'],
      ['Hmag', 'e_Hmag', '2MASS.H'],
      ['Kmag', 'e_Kmag', '2MASS.Ks'],
    ]);
  });
});
