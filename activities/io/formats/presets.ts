import { InputError } from '../../../lib/errors.js';
import { shortFilterName } from '../../../lib/features.js';
import { GAIA_VEGAMAG, TWO_MASS_ZERO_POINTS_JY } from '../../../lib/sed/systems.js';
import type { MagnitudeColumn, MagSystemName, PhotometryMapping, XrayMapping } from '../../../schemas/catalog.js';
import type { FetchPreset } from '../../../schemas/fetch.js';
import type { InputBand } from '../../../schemas/sed.js';
import type { SourceRow } from '../../../schemas/tables.js';
import { MUWCLASS_COLUMN_OF } from '../muwclass.js';

/**
 * Ready column mappings for the catalogs astronomers download. Each is a plain
 * XrayMapping or PhotometryMapping (schemas/catalog.ts), written out in full in the
 * classify artifact's params, so an audit shows exactly which columns were read.
 *
 * Photometric systems: Gaia's VEGAMAG (Vega's magnitude 0.023 in every band, Riello
 * et al. 2021) and 2MASS's Vega zero points (Cohen et al. 2003) are the ones the SED
 * stage uses for the training sources; Pan-STARRS and the HSC are AB.
 */
const GAIA: MagSystemName = GAIA_VEGAMAG;
const TWO_MASS_ZP_JY = TWO_MASS_ZERO_POINTS_JY;

export const XRAY_PRESETS = ['csc2', 'muwclass', 'xclass'] as const;
export type XrayPreset = (typeof XRAY_PRESETS)[number];
export const PHOTOMETRY_PRESETS = ['gaia_dr3', 'gaia_dr3_vizier', '2mass', '2mass_vizier', 'ps1_dr2', 'hsc'] as const;
export type PhotometryPreset = (typeof PHOTOMETRY_PRESETS)[number];

/** Whether a header has a column, ignoring case (HEASARC and some archives write names in upper case). */
function hasColumn(header: readonly string[], column: string): boolean {
  const c = column.toLowerCase();
  return header.some((h) => h.toLowerCase() === c);
}

/** Chandra Source Catalog 2.0 master-source columns (a CSCview or cone-search download). */
export function csc2Mapping(): XrayMapping {
  const flux = (b: string) => ({
    value: `flux_aper90_${b}`,
    lo: `flux_aper90_lolim_${b}`,
    hi: `flux_aper90_hilim_${b}`,
  });
  return {
    id: 'name',
    ra: 'ra',
    dec: 'dec',
    position_error: { kind: 'ellipse95', r0: 'err_ellipse_r0', r1: 'err_ellipse_r1' },
    significance: 'significance',
    fluxes: { s: flux('s'), m: flux('m'), h: flux('h'), b: flux('b') },
    var_intra_prob: 'var_intra_prob_b',
    var_inter_prob: 'var_inter_prob_b',
  };
}

/**
 * The MUWCLASS training table's layout (catalogs/muwclass_TD_2022.csv), read as a target:
 * its Gaia and 2MASS columns are the counterpart already matched, with the filters and
 * systems of the SED stage's input bands (the same ones its training sources had).
 */
export function muwclassMapping(inputBands: readonly InputBand[]): XrayMapping {
  const magnitudes: MagnitudeColumn[] = inputBands.flatMap((b) => {
    const column = MUWCLASS_COLUMN_OF[b.mag_column as keyof SourceRow];
    const err = MUWCLASS_COLUMN_OF[b.err_column as keyof SourceRow];
    return column === undefined
      ? []
      : [{ column, ...(err === undefined ? {} : { err }), filter: b.filter, system: b.system }];
  });
  const f = (b: string) => ({ value: `F${b}`, err: `e_F${b}` });
  return {
    id: 'CSCv2_name',
    ra: 'CSCv2_RA',
    dec: 'CSCv2_DEC',
    position_error: { kind: 'r95', column: 'CSCv2_PU' },
    significance: 'CSCv2_S/N',
    fluxes: { s: f('s'), m: f('m'), h: f('h'), b: f('b') },
    var_intra_prob: 'P_intra',
    var_inter_prob: 'P_inter',
    label: 'True_Class',
    magnitudes,
    parallax: 'Plx',
    parallax_error: 'e_Plx',
    distance: 'rgeo',
    pm_total: 'PM',
  };
}

/**
 * XClass's own compact layout (id, flux_s/m/h/b in erg/s/cm^2, HST AB magnitudes named by
 * filter, optional gaia_g/bp/rp in Gaia VEGAMAG, pm_total, parallax, sigma_eff (the 95%
 * error radius, or the major semi-axis of the 95% ellipse, arcsec: the training table's
 * CSCv2_PU), nu, significance, var_p_intra/var_p_inter (CSC variability probabilities),
 * a_v, label, ra, dec): only the columns present are mapped.
 */
export function xclassMapping(header: readonly string[], modelFilters: readonly string[], file: string): XrayMapping {
  const has = (c: string) => header.includes(c);
  const opt = (key: string, c: string) => (has(c) ? { [key]: c } : {});
  const hst = modelFilters.flatMap((f) => {
    const column = hstMagnitudeColumn(header, f, file);
    return column === null ? [] : [{ column, filter: f, system: 'AB' as const }];
  });
  const magnitudes: MagnitudeColumn[] = [
    ...hst,
    ...(['G', 'BP', 'RP'] as const)
      .filter((b) => has(`gaia_${b.toLowerCase()}`))
      .map((b) => ({ column: `gaia_${b.toLowerCase()}`, filter: `Gaia_DR3.${b}`, system: GAIA })),
  ];
  return {
    id: 'id',
    ...(has('ra') && has('dec') ? { ra: 'ra', dec: 'dec' } : {}),
    ...(has('sigma_eff') ? { position_error: { kind: 'r95' as const, column: 'sigma_eff' } } : {}),
    ...opt('significance', 'significance'),
    fluxes: { s: { value: 'flux_s' }, m: { value: 'flux_m' }, h: { value: 'flux_h' }, b: { value: 'flux_b' } },
    ...opt('var_intra_prob', 'var_p_intra'),
    ...opt('var_inter_prob', 'var_p_inter'),
    ...opt('label', 'label'),
    ...opt('nu', 'nu'),
    ...opt('a_v', 'a_v'),
    ...opt('parallax', 'parallax'),
    ...opt('parallax_error', 'parallax_error'),
    ...opt('distance', 'distance'),
    ...opt('pm_total', 'pm_total'),
    magnitudes,
  };
}

/** Column names of errors and quality flags beside a magnitude (`F475W_err`, `e_F475W`, `F475W_MAD`...): not magnitudes. */
const NOT_A_MAGNITUDE = /(^e_|^err_|[_-]?(err|error|e|sig|sigma|unc|mad|snr|flag|flags|nobs|n)$)/i;

/**
 * The column of an HST filter's AB magnitude in the XClass layout: its short name
 * (`F475W`), else the same in any case or with a `mag` suffix (`f475w`, `F475W_mag`), as
 * scripts and archives write it. Two such columns, or a column naming the filter in some
 * other way (`F475W_vega`), are refused with the column named: reading the wrong one, or
 * a magnitude in another system as AB, would change answers silently.
 */
export function hstMagnitudeColumn(header: readonly string[], filter: string, file: string): string | null {
  const short = shortFilterName(filter);
  if (header.includes(short)) return short;
  const esc = short.toLowerCase();
  const named = header.filter(
    (c) => c.toLowerCase().includes(esc) && !NOT_A_MAGNITUDE.test(c.toLowerCase().replace(esc, '')),
  );
  const plain = named.filter((c) => new RegExp(`^${esc}[_-]?(mag|abmag|mag_ab)?$`).test(c.toLowerCase()));
  if (plain.length === 1 && named.length === 1) return plain[0]!;
  if (named.length === 0) return null;
  throw new InputError(
    { file, row: 1, column: named.join(', '), value: short },
    `expected one AB magnitude column per filter named ${short} (or ${esc}, ${short}_mag): give a mapping JSON file saying which column holds ${filter} in which system`,
  );
}

/** Gaia DR3's column names in one download convention. */
interface GaiaNames {
  id: string;
  ra: string;
  dec: string;
  /** 1-sigma position errors, mas */
  ra_error: string;
  dec_error: string;
  /** the magnitude column of band G, BP or RP, and its error: a magnitude error column or the flux S/N */
  mag: (band: 'G' | 'BP' | 'RP') => string;
  error: (band: 'G' | 'BP' | 'RP') => { err: string } | { snr: string };
  parallax: string;
  parallax_error: string;
  pmra: string;
  pmdec: string;
  /** the geometric distance of Bailer-Jones et al. 2021, where the convention has one */
  distance?: string;
}

/** The archive's gaia_source names (also IRSA's and the Gaia archive's TAP). */
const GAIA_ARCHIVE: GaiaNames = {
  id: 'source_id',
  ra: 'ra',
  dec: 'dec',
  ra_error: 'ra_error',
  dec_error: 'dec_error',
  mag: (b) => `phot_${b.toLowerCase()}_mean_mag`,
  error: (b) => ({ snr: `phot_${b.toLowerCase()}_mean_flux_over_error` }),
  parallax: 'parallax',
  parallax_error: 'parallax_error',
  pmra: 'pmra',
  pmdec: 'pmdec',
  // gaiaedr3_distance, where the download joined it
  distance: 'r_med_geo',
};

/** VizieR's I/355/gaiadr3 names (the ReadMe's): RA_ICRS/DE_ICRS are epoch 2016. */
const GAIA_VIZIER: GaiaNames = {
  id: 'Source',
  ra: 'RA_ICRS',
  dec: 'DE_ICRS',
  ra_error: 'e_RA_ICRS',
  dec_error: 'e_DE_ICRS',
  mag: (b) => `${b}mag`,
  error: (b) => ({ err: `e_${b}mag` }),
  parallax: 'Plx',
  parallax_error: 'e_Plx',
  pmra: 'pmRA',
  pmdec: 'pmDE',
};

/**
 * Gaia DR3 in one naming convention: position errors, magnitude errors (or the flux S/N),
 * parallax, its error, a geometric distance and proper motion, each where the download has
 * it; a band without an error column gets the documented 10% flux error.
 */
function gaiaMapping(names: GaiaNames, header: readonly string[]): PhotometryMapping {
  const has = (c: string | undefined): c is string => c !== undefined && hasColumn(header, c);
  const band = (b: 'G' | 'BP' | 'RP'): MagnitudeColumn => {
    const error = names.error(b);
    const column = 'err' in error ? error.err : error.snr;
    return { column: names.mag(b), ...(has(column) ? error : {}), filter: `Gaia_DR3.${b}`, system: GAIA };
  };
  return {
    id: names.id,
    ra: names.ra,
    dec: names.dec,
    ...(has(names.ra_error) && has(names.dec_error)
      ? {
          position_error: {
            kind: 'sigma_radec' as const,
            ra: names.ra_error,
            dec: names.dec_error,
            unit: 'mas' as const,
          },
        }
      : {}),
    magnitudes: [band('G'), band('BP'), band('RP')],
    ...(has(names.parallax) ? { parallax: names.parallax } : {}),
    ...(has(names.parallax_error) ? { parallax_error: names.parallax_error } : {}),
    ...(has(names.distance) ? { distance: names.distance } : {}),
    ...(has(names.pmra) && has(names.pmdec) ? { pmra: names.pmra, pmdec: names.pmdec } : {}),
  };
}

/** Gaia DR3 gaia_source columns (archive names). */
export function gaiaDr3Mapping(header: readonly string[]): PhotometryMapping {
  return gaiaMapping(GAIA_ARCHIVE, header);
}

/** Gaia DR3 from VizieR (I/355/gaiadr3). */
export function gaiaDr3VizierMapping(header: readonly string[]): PhotometryMapping {
  return gaiaMapping(GAIA_VIZIER, header);
}

/** 2MASS Point Source Catalog, IRSA column names (err_maj/err_min are 1-sigma, arcsec). */
export function twoMassMapping(): PhotometryMapping {
  const band = (b: 'j' | 'h' | 'k', f: keyof typeof TWO_MASS_ZP_JY): MagnitudeColumn => ({
    column: `${b}_m`,
    err: `${b}_msigcom`,
    filter: `2MASS.${f}`,
    system: { kind: 'vega_zp', zero_point_jy: TWO_MASS_ZP_JY[f] },
  });
  return {
    id: 'designation',
    ra: 'ra',
    dec: 'dec',
    position_error: { kind: 'sigma_radec', ra: 'err_maj', dec: 'err_min', unit: 'arcsec' },
    magnitudes: [band('j', 'J'), band('h', 'H'), band('k', 'Ks')],
  };
}

/**
 * The 2MASS Point Source Catalog from VizieR (II/246/out, the ReadMe's names): _2MASS,
 * RAJ2000/DEJ2000 (deg), errMaj/errMin (1-sigma, arcsec), Jmag, Hmag, Kmag and their e_
 * errors (a band without one gets the documented 10% flux error).
 */
export function twoMassVizierMapping(header: readonly string[]): PhotometryMapping {
  const band = (v: 'J' | 'H' | 'K', f: keyof typeof TWO_MASS_ZP_JY): MagnitudeColumn => ({
    column: `${v}mag`,
    ...(hasColumn(header, `e_${v}mag`) ? { err: `e_${v}mag` } : {}),
    filter: `2MASS.${f}`,
    system: { kind: 'vega_zp', zero_point_jy: TWO_MASS_ZP_JY[f] },
  });
  return {
    id: '_2MASS',
    ra: 'RAJ2000',
    dec: 'DEJ2000',
    ...(hasColumn(header, 'errMaj') && hasColumn(header, 'errMin')
      ? { position_error: { kind: 'sigma_radec' as const, ra: 'errMaj', dec: 'errMin', unit: 'arcsec' as const } }
      : {}),
    magnitudes: [band('J', 'J'), band('H', 'H'), band('K', 'Ks')],
  };
}

/** Pan-STARRS1 DR2 MeanObject (MAST column names), mean PSF magnitudes in AB. */
export function ps1Dr2Mapping(): PhotometryMapping {
  return {
    id: 'objID',
    ra: 'raMean',
    dec: 'decMean',
    position_error: { kind: 'sigma_radec', ra: 'raMeanErr', dec: 'decMeanErr', unit: 'arcsec' },
    magnitudes: (['g', 'r', 'i', 'z', 'y'] as const).map((b) => ({
      column: `${b}MeanPSFMag`,
      err: `${b}MeanPSFMagErr`,
      filter: `PS1.${b}`,
      system: 'AB' as const,
    })),
  };
}

/** HST instruments of the HSC summary columns (A_F814W, W3_F160W, ...) and their curve prefixes. */
const HSC_INSTRUMENTS: Record<string, readonly string[]> = { A: ['HST_ACS_WFC'], W3: ['HST_WFC3_UVIS', 'HST_WFC3_IR'] };

/**
 * Hubble Source Catalog v3 summary form: MatchID, MatchRA, MatchDec and one AB magnitude
 * column per instrument and filter (`A_F814W`); the median absolute deviation of the
 * visits (`A_F814W_MAD`) stands in for the error where present. Columns whose filter
 * has no curve in the data folder are left out.
 */
export function hscMapping(header: readonly string[], knownFilters: readonly string[]): PhotometryMapping {
  const magnitudes: MagnitudeColumn[] = [];
  for (const column of header) {
    const m = /^(A|W3)_(F\d+[A-Z]+)$/.exec(column);
    if (!m) continue;
    const filter = HSC_INSTRUMENTS[m[1]!]!.map((inst) => `${inst}.${m[2]}`).find((f) => knownFilters.includes(f));
    if (filter === undefined) continue;
    magnitudes.push({
      column,
      ...(header.includes(`${column}_MAD`) ? { err: `${column}_MAD` } : {}),
      filter,
      system: 'AB',
    });
  }
  return {
    id: 'MatchID',
    ra: 'MatchRA',
    dec: 'MatchDec',
    position_error: { kind: 'fixed', sigma_arcsec: 0.05 },
    magnitudes,
  };
}

/**
 * The mapping of a preset for the table a TAP service serves (`xclass fetch`): every column
 * the preset reads that the service's own table has (Gaia's joined distance is another
 * table, so not asked for; the HSC's magnitude columns of every filter with a curve in the
 * data folder).
 */
export function serviceMapping(preset: FetchPreset, knownFilters: readonly string[]): XrayMapping | PhotometryMapping {
  switch (preset) {
    case 'csc2':
      return csc2Mapping();
    case 'gaia_dr3': {
      const n = GAIA_ARCHIVE;
      const bands = (['G', 'BP', 'RP'] as const).flatMap((b) => [n.mag(b), ...Object.values(n.error(b))]);
      return gaiaMapping(n, [
        n.id,
        n.ra,
        n.dec,
        n.ra_error,
        n.dec_error,
        ...bands,
        n.parallax,
        n.parallax_error,
        n.pmra,
        n.pmdec,
      ]);
    }
    case '2mass':
      return twoMassMapping();
    case 'ps1_dr2':
      return ps1Dr2Mapping();
    case 'hsc': {
      const header = Object.entries(HSC_INSTRUMENTS).flatMap(([prefix, instruments]) =>
        knownFilters
          .filter((f) => instruments.some((inst) => f.startsWith(`${inst}.`)))
          .flatMap((f) => [`${prefix}_${f.slice(f.indexOf('.') + 1)}`, `${prefix}_${f.slice(f.indexOf('.') + 1)}_MAD`]),
      );
      return hscMapping([...new Set(header)], knownFilters);
    }
  }
}

/** The X-ray preset a table's header fits (names compared ignoring case), or an error naming the choices. */
export function detectXrayPreset(header: readonly string[], file: string): XrayPreset {
  const has = (c: string) => hasColumn(header, c);
  if (has('CSCv2_name')) return 'muwclass';
  if (has('err_ellipse_r0') && has('flux_aper90_b')) return 'csc2';
  // XClass's own layout last: a table with an `id` column and no other known layout is read
  // as one, so a missing flux column is named rather than the layout left unknown
  if (has('id')) return 'xclass';
  throw new InputError(
    { file, row: 1 },
    `cannot tell the table's layout from its columns: give --xray-mapping ${XRAY_PRESETS.join('|')} or a mapping JSON file (README: classify)`,
  );
}

/** The photometry preset a catalog's header fits (names compared ignoring case), or an error naming the choices. */
export function detectPhotometryPreset(header: readonly string[], file: string): PhotometryPreset {
  const has = (c: string) => hasColumn(header, c);
  if (has('source_id') && has('phot_g_mean_mag')) return 'gaia_dr3';
  if (has('RA_ICRS') && has('Gmag')) return 'gaia_dr3_vizier';
  if (has('j_m') && has('designation')) return '2mass';
  if (has('_2MASS') || (has('RAJ2000') && has('Jmag') && has('Kmag'))) return '2mass_vizier';
  if (has('objID') && has('gMeanPSFMag')) return 'ps1_dr2';
  if (has('MatchID')) return 'hsc';
  throw new InputError(
    { file, row: 1 },
    `cannot tell the catalog's layout from its columns: name a preset (${PHOTOMETRY_PRESETS.join('|')}) or a mapping JSON file`,
  );
}
