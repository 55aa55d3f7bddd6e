import { InputError } from '../../lib/errors.js';
import type { PhotometryMapping, XrayMapping } from '../../schemas/catalog.js';

/**
 * The columns a mapping reads, each with what it holds, so a table's header and declared
 * units can be checked against the mapping in one place: names matched ignoring case
 * (HEASARC writes `NAME`, `RA`), and units turned into the factors (`scales`) that bring
 * a column to the unit the mapping reads, or refused in one line when they contradict it.
 */

/** What a mapped column holds, for its unit. */
export type ColumnRole =
  | 'text'
  | 'angle_ra'
  | 'angle_dec'
  | 'err_arcsec'
  | 'err_mas'
  | 'parallax'
  | 'distance'
  | 'pm'
  | 'mag'
  | 'flux'
  | 'number';

interface MappedColumn {
  column: string;
  role: ColumnRole;
  /** where in the mapping: rename writes the header's spelling back here */
  set: (name: string) => void;
}

type AnyMapping = XrayMapping | PhotometryMapping;

function mappedColumns(m: AnyMapping): MappedColumn[] {
  const out: MappedColumn[] = [];
  const at = <T extends object>(obj: T, key: keyof T & string, role: ColumnRole) => {
    const v = obj[key];
    if (typeof v === 'string')
      out.push({ column: v, role, set: (name) => ((obj as Record<string, unknown>)[key] = name) });
  };
  at(m, 'id', 'text');
  at(m, 'ra', 'angle_ra');
  at(m, 'dec', 'angle_dec');
  const e = m.position_error;
  if (e?.kind === 'ellipse95') (at(e, 'r0', 'err_arcsec'), at(e, 'r1', 'err_arcsec'));
  if (e?.kind === 'r95') at(e, 'column', 'err_arcsec');
  if (e?.kind === 'sigma_radec') {
    const role = e.unit === 'mas' ? 'err_mas' : 'err_arcsec';
    (at(e, 'ra', role), at(e, 'dec', role));
  }
  at(m, 'parallax', 'parallax');
  at(m, 'parallax_error', 'parallax');
  at(m, 'distance', 'distance');
  for (const k of ['pm_total', 'pmra', 'pmdec'] as const) at(m, k, 'pm');
  for (const mag of m.magnitudes ?? []) (at(mag, 'column', 'mag'), at(mag, 'err', 'mag'), at(mag, 'snr', 'number'));
  if ('fluxes' in m) {
    for (const f of Object.values(m.fluxes)) for (const k of ['value', 'err', 'lo', 'hi'] as const) at(f, k, 'flux');
    for (const k of ['significance', 'var_intra_prob', 'var_inter_prob', 'nu'] as const) at(m, k, 'number');
    at(m, 'label', 'text');
    at(m, 'a_v', 'mag');
  }
  return out;
}

/** Every column a mapping reads, once each, in the mapping's order (what a TAP query asks for). */
export function mappingColumnNames(m: AnyMapping): string[] {
  return [...new Set(mappedColumns(m).map((c) => c.column))];
}

/**
 * The mapping with each column spelled as the header spells it: an exact name first,
 * else the one header name equal to it ignoring case. A name matching several header
 * names only in case is refused; one matching none is left for the reader to name as
 * missing. Returns a copy.
 */
export function alignMapping<M extends AnyMapping>(mapping: M, header: readonly string[], file: string): M {
  const m = structuredClone(mapping);
  const exact = new Set(header);
  for (const c of mappedColumns(m)) {
    if (exact.has(c.column)) continue;
    const folded = header.filter((h) => h.toLowerCase() === c.column.toLowerCase());
    if (folded.length === 1) c.set(folded[0]!);
    else if (folded.length > 1)
      throw new InputError(
        { file, row: 1, column: c.column },
        `the header has several columns of this name in other cases (${folded.join(', ')}): give a mapping JSON file`,
      );
  }
  return m;
}

const DEG_PER_RAD = 180 / Math.PI;
/** Angles, to degrees. */
const ANGLE: Record<string, number> = {
  deg: 1,
  degree: 1,
  degrees: 1,
  rad: DEG_PER_RAD,
  radian: DEG_PER_RAD,
  radians: DEG_PER_RAD,
  arcmin: 1 / 60,
  arcsec: 1 / 3600,
  mas: 1 / 3.6e6,
};
/** Small angles, to arcsec. */
const SMALL: Record<string, number> = {
  arcsec: 1,
  arcsecond: 1,
  '"': 1,
  mas: 1e-3,
  milliarcsec: 1e-3,
  arcmin: 60,
  deg: 3600,
  degree: 3600,
  degrees: 3600,
};
const UNITS: Partial<Record<ColumnRole, Record<string, number>>> = {
  angle_ra: { ...ANGLE, h: 15, hour: 15, hourangle: 15, hr: 15 },
  angle_dec: ANGLE,
  err_arcsec: SMALL,
  err_mas: Object.fromEntries(Object.entries(SMALL).map(([u, f]) => [u, f * 1000])),
  parallax: Object.fromEntries(Object.entries(SMALL).map(([u, f]) => [u, f * 1000])),
  distance: { pc: 1, parsec: 1, kpc: 1000, mpc: 1e6 },
  pm: {
    'mas/yr': 1,
    'mas/a': 1,
    'mas/year': 1,
    'masyr-1': 1,
    'masa-1': 1,
    'arcsec/yr': 1000,
    'arcsec/a': 1000,
    'arcsecyr-1': 1000,
  },
  mag: { mag: 1, mags: 1, magnitude: 1, abmag: 1, vegamag: 1, 'mag(ab)': 1, 'mag(vega)': 1 },
};
const WHAT: Record<ColumnRole, string> = {
  text: 'text',
  angle_ra: 'a right ascension (deg, rad, h)',
  angle_dec: 'a declination (deg, rad)',
  err_arcsec: 'a position error (arcsec, mas, deg)',
  err_mas: 'a position error (mas, arcsec)',
  parallax: 'a parallax (mas, arcsec)',
  distance: 'a distance (pc, kpc)',
  pm: 'a proper motion (mas/yr)',
  mag: 'a magnitude (mag)',
  flux: 'an energy flux (erg/s/cm2, mW/m2, W/m2)',
  number: 'a number',
};

/** A declared unit as compared: lower case, no spaces; sexagesimal units ("h:m:s") and empty ones mean none. */
function normalUnit(u: string): string | null {
  const s = u
    .trim()
    .replace(/^"(.*)"$/, '$1')
    .toLowerCase()
    .replace(/\s+/g, '');
  if (s === '' || s.includes(':') || s === '-' || s === 'none') return null;
  return s;
}

/**
 * An energy flux unit in erg/s/cm^2, or undefined: the unit is read as a product of
 * erg, J, W, mW, s, cm and m with integer powers (`erg/s/cm2`, `erg cm-2 s-1`,
 * `cm-2.erg.s-1`, `erg/(s.cm2)`, `mW/m2`), written by hand because no maintained Node
 * library parses astronomical (VOUnit, FITS, CDS) unit strings.
 */
export function fluxScale(unit: string): number | undefined {
  const base: Record<string, [number, number, number, number]> = {
    // [SI factor, energy power, time power, length power]
    erg: [1e-7, 1, 0, 0],
    j: [1, 1, 0, 0],
    w: [1, 1, -1, 0],
    mw: [1e-3, 1, -1, 0],
    s: [1, 0, 1, 0],
    cm: [1e-2, 0, 0, 1],
    m: [1, 0, 0, 1],
  };
  let factor = 1;
  const dims = [0, 0, 0];
  // spaces separate factors (`erg cm-2 s-1`); `**` and `^` mark powers
  const s = unit
    .trim()
    .replace(/^"(.*)"$/, '$1')
    .toLowerCase()
    .replace(/\s+/g, '.')
    .replace(/\*\*/g, '')
    .replace(/\^/g, '');
  // each token: a unit name and an optional power, inside or outside a denominator
  const re = /(\/?)\s*(\(?)\s*([a-z]+)(-?\d+)?\s*(\)?)/g;
  let inDenominator = false;
  let consumed = '';
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    consumed += m[0];
    const [, slash, open, name, power, close] = m;
    const b = base[name!];
    if (!b) return undefined;
    const sign = slash || inDenominator ? -1 : 1;
    if (slash && open) inDenominator = true;
    const p = sign * (power === undefined ? 1 : Number(power));
    factor *= b[0] ** p;
    dims[0]! += b[1] * p;
    dims[1]! += b[2] * p;
    dims[2]! += b[3] * p;
    if (close) inDenominator = false;
  }
  if (consumed.replace(/[\s.]/g, '') !== s.replace(/[\s.]/g, '')) return undefined;
  // erg s^-1 cm^-2 = 1e-3 W m^-2
  if (dims[0] !== 1 || dims[1] !== -1 || dims[2] !== -2) return undefined;
  return factor / 1e-3;
}

/**
 * The mapping with `scales` for the columns whose file declares a unit other than the
 * one the mapping reads; a declared unit that cannot mean what the mapping reads there
 * (a flux where a magnitude is mapped, a count rate where an energy flux is) is refused
 * in one line naming file, column and unit. Returns a copy; columns without a declared
 * unit are read as the mapping says.
 */
export function withDeclaredUnits<M extends AnyMapping>(
  mapping: M,
  units: Readonly<Record<string, string>>,
  file: string,
): M {
  const m = structuredClone(mapping);
  const scales: Record<string, number> = { ...(m.scales ?? {}) };
  for (const c of mappedColumns(m)) {
    const declared = units[c.column];
    if (declared === undefined || c.role === 'text' || c.role === 'number') continue;
    const u = normalUnit(declared);
    if (u === null) continue;
    const factor = c.role === 'flux' ? fluxScale(declared) : UNITS[c.role]?.[u.replace(/[.]/g, '')];
    if (factor === undefined)
      throw new InputError(
        { file, row: 1, column: c.column, value: declared },
        `declared unit contradicts the mapping, which reads ${WHAT[c.role]} there`,
      );
    if (factor !== 1) scales[c.column] = factor;
  }
  if (Object.keys(scales).length > 0) m.scales = scales;
  return m;
}
