/**
 * ADQL (IVOA recommendation 2.1) for a cone: the columns a preset reads, from one table,
 * within a circle. Table and column names are checked as plain identifiers before they
 * are written into the query, so a service definition or a mapping cannot smuggle SQL.
 */

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TABLE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$/;

/**
 * ADQL's reserved words that a catalog uses as a column name (Gaia's and CSC's `dec` is not
 * one; none of the presets' columns is, but a mapping's could be): written as delimited
 * identifiers, the case kept.
 */
const RESERVED = new Set([
  'area',
  'box',
  'centroid',
  'circle',
  'contains',
  'coordsys',
  'distance',
  'intersects',
  'point',
  'polygon',
  'region',
  'size',
  'user',
  'value',
  'first',
  'top',
  'order',
  'group',
  'select',
  'from',
  'where',
]);

export function adqlIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new RangeError(`not a plain ADQL column name: ${JSON.stringify(name)}`);
  return RESERVED.has(name.toLowerCase()) ? `"${name}"` : name;
}

/** A number as ADQL writes it: finite, never exponent-free garbage such as NaN. */
function adqlNumber(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
  return String(x);
}

export interface Cone {
  ra_deg: number;
  dec_deg: number;
  radius_arcsec: number;
}

/**
 * `SELECT cols FROM table WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', ra0, dec0, r))`,
 * the radius in degrees as ADQL wants it. Columns are listed once each, in the order given.
 */
export function coneAdql(table: string, columns: readonly string[], ra: string, dec: string, cone: Cone): string {
  if (!TABLE.test(table)) throw new RangeError(`not a plain ADQL table name: ${JSON.stringify(table)}`);
  if (columns.length === 0) throw new RangeError('a cone query needs at least one column');
  const cols = [...new Set(columns)].map(adqlIdentifier);
  const r = adqlNumber(cone.radius_arcsec / 3600);
  const where = `CONTAINS(POINT('ICRS', ${adqlIdentifier(ra)}, ${adqlIdentifier(dec)}), CIRCLE('ICRS', ${adqlNumber(cone.ra_deg)}, ${adqlNumber(cone.dec_deg)}, ${r})) = 1`;
  return `SELECT ${cols.join(', ')} FROM ${table} WHERE ${where}`;
}

/**
 * An angle as the command line gives it: a number with a unit (`30arcsec`, `30"`, `2arcmin`,
 * `2'`, `0.1deg`, `0.1d`), or a bare number in arcmin. Returns arcsec, or null when unreadable.
 */
export function parseAngleArcsec(text: string): number | null {
  const m = /^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(arcsec|as|"|arcmin|am|'|deg|d|°)?\s*$/.exec(text);
  if (!m) return null;
  const x = Number(m[1]);
  if (!Number.isFinite(x)) return null;
  const unit = m[2] ?? 'arcmin';
  const scale =
    unit === 'arcsec' || unit === 'as' || unit === '"'
      ? 1
      : unit === 'arcmin' || unit === 'am' || unit === "'"
        ? 60
        : 3600;
  return x * scale;
}
