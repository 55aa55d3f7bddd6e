import { InputError } from '../../lib/errors.js';
import { parseDecDeg, parseRaDeg } from '../../lib/sky/coords.js';
import { SkyIndex } from '../../lib/sky/index.js';
import { sigmaEff } from '../../lib/sky/crossmatch.js';
import { R95_PER_SIGMA } from '../../lib/sky/counterparts.js';
import type {
  FluxColumn,
  MagnitudeColumn,
  PhotometryMapping,
  PositionError,
  XrayMapping,
} from '../../schemas/catalog.js';
import type { TargetTable } from './table.js';
import { measurement, parseNumber, type ColumnKind, type NoDataCounts } from './validate.js';

/**
 * Rows of a mapped catalog table, validated cell by cell: every rejection names file,
 * row, column and value. Magnitudes stay in their catalog's system here; conversion to
 * AB belongs to `classify`, which has the filter curves.
 */

export interface Magnitude {
  /** index into the mapping's `magnitudes` */
  band: number;
  mag: number;
  err: number | null;
}

export interface Astrometry {
  parallax_mas: number | null;
  parallax_err_mas: number | null;
  dist_geo_pc: number | null;
  pm_total_masyr: number | null;
}

export interface XraySourceRow extends Astrometry {
  id: string;
  line: number;
  ra_deg: number | null;
  dec_deg: number | null;
  /** the method's sigma_eff (from 95% errors), arcsec: the counterpart search radius is 3 of it */
  sigma_eff_arcsec: number | null;
  /**
   * the major semi-axis of the 95% error ellipse, arcsec: the training table's position
   * error (MUWCLASS CSCv2_PU is CSC's err_ellipse_r0, its ReadMe says) and so the model's
   * `sigma_eff` feature
   */
  pos_err_95_arcsec: number | null;
  significance: number | null;
  flux: Record<'s' | 'm' | 'h' | 'b', { value: number | null; err: number | null }>;
  var_p_intra: number | null;
  var_p_inter: number | null;
  label: string | null;
  mags: Magnitude[];
  nu: number | null;
  a_v: number | null;
}

export interface PhotometryRow extends Astrometry {
  id: string;
  ra_deg: number;
  dec_deg: number;
  /** 1-sigma positional error, arcsec (0 when the catalog gives none) */
  sigma_arcsec: number;
  mags: Magnitude[];
}

/** The cell reader of one table: checks every mapped column exists, then reads cells by kind. */
class Cells {
  readonly counts: NoDataCounts = {};
  /** where the no-data markers of the row being read are counted: `counts`, or a scratch tally for a row another zone owns */
  private sink: NoDataCounts = this.counts;
  /** the mapped columns (a repeated row is one equal in all of them) */
  readonly columns: readonly (string | undefined)[];
  constructor(
    private readonly t: TargetTable,
    private readonly noData: readonly number[],
    columns: readonly (string | undefined)[],
    what: string,
    /** column -> factor to the mapping's unit (mapping `scales`, from the units the file declares) */
    private readonly scales: Readonly<Record<string, number>> = {},
  ) {
    this.columns = columns;
    const header = new Set(t.header);
    const missing = [...new Set(columns.filter((c): c is string => c !== undefined && !header.has(c)))];
    if (missing.length > 0)
      throw new InputError(
        { file: t.file, row: 1, column: missing.join(', ') },
        `column${missing.length > 1 ? 's' : ''} of the ${what} mapping missing from the table (it has ${t.header.slice(0, 12).join(', ')}${t.header.length > 12 ? ', ...' : ''})`,
      );
  }

  num(i: number, column: string | undefined, kind: ColumnKind): number | null {
    if (column === undefined) return null;
    return measurement(
      { file: this.t.file, row: this.t.lines[i]!, column },
      this.scaled(i, column),
      kind,
      this.noData,
      this.sink,
    );
  }

  /** per column: the line of its first no-data marker counted (a zone's columns are put back in the table's order by it) */
  readonly firstLines = new Map<string, number>();

  /** Reads row `i` with `read`, noting the line of each column's first no-data marker it counts. */
  row<T>(i: number, read: () => T): T {
    const before = Object.keys(this.counts).length;
    const out = read();
    const keys = Object.keys(this.counts);
    for (let k = before; k < keys.length; k++) this.firstLines.set(keys[k]!, this.t.lines[i]!);
    return out;
  }

  /** Counts the markers of the rows read from now on in `counts` (a row this zone owns) or nowhere (a margin row). */
  counting(owned: boolean): void {
    this.sink = owned ? this.counts : {};
  }

  /** The cell in the mapping's unit: a number times its column's scale (a no-data marker as it is, so it is still known). */
  private scaled(i: number, column: string): unknown {
    const raw = this.t.records[i]![column];
    const scale = this.scales[column];
    if (scale === undefined) return raw;
    const n = parseNumber(raw);
    return n === null || n === undefined || this.noData.includes(n) ? raw : n * scale;
  }

  text(i: number, column: string): string | null {
    const v = this.t.records[i]![column];
    if (v === null || v === undefined) return null;
    const s = String(v).trim();
    return s === '' ? null : s;
  }

  /** An angle in degrees or sexagesimal text. */
  angle(i: number, column: string, axis: 'ra' | 'dec'): number | null {
    const raw = this.t.records[i]![column];
    const n = parseNumber(raw);
    if (n === null) return null;
    if (n !== undefined)
      return measurement(
        { file: this.t.file, row: this.t.lines[i]!, column },
        this.scaled(i, column),
        axis === 'ra' ? 'ra_deg' : 'dec_deg',
        [],
        this.sink,
      );
    const v = axis === 'ra' ? parseRaDeg(String(raw)) : parseDecDeg(String(raw));
    if (v === null)
      throw new InputError(
        { file: this.t.file, row: this.t.lines[i]!, column, value: raw },
        `expected ${axis === 'ra' ? 'a right ascension' : 'a declination'} in degrees or sexagesimal`,
      );
    return v;
  }

  /**
   * sigma_eff in the method's sense (from 95% errors: sqrt((r0^2 + r1^2)/2), the search
   * radius's unit), the 1-sigma error, and the 95% major semi-axis (the feature), arcsec.
   */
  positionError(
    i: number,
    e: PositionError | undefined,
  ): { sigma_eff: number | null; sigma1: number | null; major95: number | null } {
    const none = { sigma_eff: null, sigma1: null, major95: null };
    if (!e) return none;
    switch (e.kind) {
      case 'ellipse95': {
        const r0 = this.num(i, e.r0, 'pos_err_arcsec');
        const r1 = this.num(i, e.r1, 'pos_err_arcsec');
        if (r0 === null || r1 === null) return none;
        const s = sigmaEff(r0, r1);
        return { sigma_eff: s, sigma1: s / R95_PER_SIGMA, major95: Math.max(r0, r1) };
      }
      case 'r95': {
        const r = this.num(i, e.column, 'pos_err_arcsec');
        return { sigma_eff: r, sigma1: r === null ? null : r / R95_PER_SIGMA, major95: r };
      }
      case 'sigma_radec': {
        const scale = e.unit === 'mas' ? 1e-3 : 1;
        const a = this.num(i, e.ra, 'nonnegative');
        const d = this.num(i, e.dec, 'nonnegative');
        if (a === null || d === null) return none;
        const s1 = sigmaEff(a * scale, d * scale);
        return { sigma_eff: s1 * R95_PER_SIGMA, sigma1: s1, major95: Math.max(a, d) * scale * R95_PER_SIGMA };
      }
      case 'fixed':
        return {
          sigma_eff: e.sigma_arcsec * R95_PER_SIGMA,
          sigma1: e.sigma_arcsec,
          major95: e.sigma_arcsec * R95_PER_SIGMA,
        };
    }
  }

  mags(i: number, columns: readonly MagnitudeColumn[]): Magnitude[] {
    const out: Magnitude[] = [];
    columns.forEach((m, band) => {
      const mag = this.num(i, m.column, 'mag');
      if (mag === null) return;
      let err = this.num(i, m.err, 'mag_err');
      if (err === null && m.snr !== undefined) {
        const snr = this.num(i, m.snr, 'nonnegative');
        err = snr !== null && snr > 0 ? 2.5 / Math.LN10 / snr : null;
      }
      out.push({ band, mag, err });
    });
    return out;
  }

  astrometry(
    i: number,
    m: {
      parallax?: string | undefined;
      parallax_error?: string | undefined;
      distance?: string | undefined;
      pm_total?: string | undefined;
      pmra?: string | undefined;
      pmdec?: string | undefined;
    },
  ): Astrometry {
    let pm = this.num(i, m.pm_total, 'pm_masyr');
    if (pm === null && m.pmra !== undefined && m.pmdec !== undefined) {
      const a = this.num(i, m.pmra, 'pm_component_masyr');
      const d = this.num(i, m.pmdec, 'pm_component_masyr');
      pm = a === null || d === null ? null : Math.hypot(a, d);
    }
    return {
      parallax_mas: this.num(i, m.parallax, 'parallax_mas'),
      parallax_err_mas: this.num(i, m.parallax_error, 'parallax_err_mas'),
      dist_geo_pc: this.num(i, m.distance, 'distance_pc'),
      pm_total_masyr: pm,
    };
  }

  flux(i: number, f: FluxColumn): { value: number | null; err: number | null } {
    const value = this.num(i, f.value, 'flux_cgs');
    let err = this.num(i, f.err, 'flux_err_cgs');
    if (err === null && f.lo !== undefined && f.hi !== undefined) {
      const lo = this.num(i, f.lo, 'flux_cgs');
      const hi = this.num(i, f.hi, 'flux_cgs');
      if (lo !== null && hi !== null) {
        if (hi < lo)
          throw new InputError(
            { file: this.t.file, row: this.t.lines[i]!, column: f.hi, value: hi },
            `upper limit below the lower limit ${lo}`,
          );
        err = (hi - lo) / 2;
      }
    }
    return { value, err };
  }
}

function positionColumns(e: PositionError | undefined): string[] {
  if (!e) return [];
  if (e.kind === 'ellipse95') return [e.r0, e.r1];
  if (e.kind === 'r95') return [e.column];
  if (e.kind === 'sigma_radec') return [e.ra, e.dec];
  return [];
}

function astrometryColumns(m: XrayMapping | PhotometryMapping): (string | undefined)[] {
  return [m.parallax, m.parallax_error, m.distance, m.pm_total, m.pmra, m.pmdec];
}

function magColumns(m: readonly MagnitudeColumn[]): (string | undefined)[] {
  return m.flatMap((c) => [c.column, c.err, c.snr]);
}

/**
 * The row's id, or null when the row repeats an earlier one exactly in every mapped
 * column (overlapping cone searches downloaded together): merged, counted by the caller.
 * The same id on a row that differs is refused, naming both rows.
 */
function uniqueId(
  t: TargetTable,
  i: number,
  column: string,
  seen: Map<string, number>,
  columns: readonly (string | undefined)[],
): string | null {
  const v = t.records[i]![column];
  const id = v === null || v === undefined ? '' : String(v).trim();
  const line = t.lines[i]!;
  if (id === '') throw new InputError({ file: t.file, row: line, column, value: '' }, 'expected a source id');
  const before = seen.get(id);
  if (before !== undefined) {
    const same = columns.every(
      (c) => c === undefined || String(t.records[before]![c] ?? '') === String(t.records[i]![c] ?? ''),
    );
    if (same) return null;
    throw duplicateId(t.file, line, column, id, t.lines[before]!);
  }
  seen.set(id, i);
  return id;
}

/** The X-ray sources of a mapped table; `merged`: rows that repeated an earlier row exactly (overlapping cones), dropped. */
export function readXraySources(
  t: TargetTable,
  m: XrayMapping,
  noData: readonly number[],
  zone?: { owns(dec_deg: number | null): boolean },
): { rows: XraySourceRow[]; noData: NoDataCounts; merged: number; firstLines?: Map<string, number> } {
  const fluxCols = Object.values(m.fluxes).flatMap((f) => [f.value, f.err, f.lo, f.hi]);
  const cells = new Cells(
    t,
    noData,
    [
      m.id,
      m.ra,
      m.dec,
      ...positionColumns(m.position_error),
      m.significance,
      ...fluxCols,
      m.var_intra_prob,
      m.var_inter_prob,
      m.label,
      m.nu,
      m.a_v,
      ...astrometryColumns(m),
      ...magColumns(m.magnitudes ?? []),
    ],
    'X-ray',
    m.scales,
  );
  if ((m.ra === undefined) !== (m.dec === undefined))
    throw new InputError({ file: t.file, column: m.ra ?? m.dec }, 'the mapping gives ra without dec or dec without ra');
  const seen = new Map<string, number>();
  let merged = 0;
  const rows = t.records.flatMap((_, i): XraySourceRow[] => {
    const id = uniqueId(t, i, m.id, seen, cells.columns);
    const ra = id === null || m.ra === undefined ? null : cells.angle(i, m.ra, 'ra');
    const dec = m.dec === undefined ? null : id === null && !zone ? null : cells.angle(i, m.dec, 'dec');
    if (id === null) {
      // an exact repeat, at its first row's position: counted by the zone that owns that
      if (!zone || zone.owns(dec)) merged++;
      return [];
    }
    if ((ra === null) !== (dec === null))
      throw new InputError(
        { file: t.file, row: t.lines[i]!, column: ra === null ? m.ra : m.dec, value: '' },
        'position has only one coordinate',
      );
    // a zone of the field (its own sources only, no margin): the rows of other zones are theirs
    if (zone && !zone.owns(dec)) return [];
    const row: XraySourceRow = cells.row(i, () => ({
      id,
      line: t.lines[i]!,
      ra_deg: ra,
      dec_deg: dec,
      ...((e) => ({ sigma_eff_arcsec: e.sigma_eff, pos_err_95_arcsec: e.major95 }))(
        cells.positionError(i, m.position_error),
      ),
      significance: cells.num(i, m.significance, 'significance'),
      flux: {
        s: cells.flux(i, m.fluxes.s),
        m: cells.flux(i, m.fluxes.m),
        h: cells.flux(i, m.fluxes.h),
        b: cells.flux(i, m.fluxes.b),
      },
      var_p_intra: cells.num(i, m.var_intra_prob, 'probability'),
      var_p_inter: cells.num(i, m.var_inter_prob, 'probability'),
      label: m.label === undefined ? null : cells.text(i, m.label),
      mags: cells.mags(i, m.magnitudes ?? []),
      nu: cells.num(i, m.nu, 'nonnegative'),
      a_v: cells.num(i, m.a_v, 'a_v_mag'),
      ...cells.astrometry(i, m),
    }));
    return [row];
  });
  if (zone) return { rows, noData: cells.counts, merged, firstLines: cells.firstLines };
  // a table with fluxes in no row would be classified on imputed X-ray features alone (a zone's rows: checked whole by the plan)
  if (rows.length > 0 && !rows.some(hasFlux)) throw noFluxAnywhere(t.file, t.lines[0]!, m);
  return { rows, noData: cells.counts, merged };
}

/** The refusal of a source id repeated on `line` with other values than on `first`. */
export function duplicateId(file: string, line: number, column: string, id: string, first: number): InputError {
  return new InputError(
    { file, row: line, column, value: id },
    `duplicate source id with different values (first on row ${first})`,
  );
}

/** Whether a source has a value in any of its flux bands. */
export const hasFlux = (r: XraySourceRow): boolean => Object.values(r.flux).some((f) => f.value !== null);

/** The refusal of a table whose every row is empty in every flux column (`line`: its first row's). */
export function noFluxAnywhere(file: string, line: number, m: XrayMapping): InputError {
  return new InputError(
    {
      file,
      row: line,
      column: Object.values(m.fluxes)
        .map((f) => f.value)
        .join(', '),
      value: '',
    },
    'expected an X-ray flux in at least one row (every row is empty in every flux column)',
  );
}

/** The declinations a zone of the field reads (`near`: its band and margin) and those it owns (lib/sky/zones.ts). */
export interface CatalogZone {
  near(dec_deg: number): boolean;
  owns(dec_deg: number): boolean;
}

/** Two rows of a catalog without ids closer than this are one source downloaded twice. */
const SAME_SOURCE_ARCSEC = 0.1;

/** The rows of a mapped photometry catalog; `merged`: rows that repeated an earlier row exactly (overlapping cones), dropped. */
export function readPhotometry(
  t: TargetTable,
  m: PhotometryMapping,
  noData: readonly number[],
  zone?: CatalogZone,
): {
  rows: PhotometryRow[];
  noData: NoDataCounts;
  merged: number;
  /** with a zone: the rows kept that it owns, and the line of each no-data column's first marker among them */
  owned?: number;
  firstLines?: Map<string, number>;
} {
  const cells = new Cells(
    t,
    noData,
    [m.id, m.ra, m.dec, ...positionColumns(m.position_error), ...astrometryColumns(m), ...magColumns(m.magnitudes)],
    'photometry',
    m.scales,
  );
  const seen = new Map<string, number>();
  const rows: PhotometryRow[] = [];
  // per row kept: whether this zone owns it (its no-data markers and merges are counted here, not by a neighbour)
  const owned: boolean[] = [];
  let merged = 0;
  t.records.forEach((_, i) => {
    const id = m.id === undefined ? `row${t.lines[i]}` : uniqueId(t, i, m.id, seen, cells.columns);
    if (id === null) {
      // an exact repeat, at its first row's position: counted by the zone that owns that
      if (!zone || zone.owns(cells.angle(i, m.dec, 'dec')!)) merged++;
      return;
    }
    const ra = cells.angle(i, m.ra, 'ra');
    const dec = cells.angle(i, m.dec, 'dec');
    if (ra === null || dec === null)
      throw new InputError(
        { file: t.file, row: t.lines[i]!, column: ra === null ? m.ra : m.dec, value: '' },
        'expected a position',
      );
    if (zone && !zone.near(dec)) return;
    const own = !zone || zone.owns(dec);
    cells.counting(own);
    owned.push(own);
    rows.push(
      cells.row(i, () => ({
        id,
        ra_deg: ra,
        dec_deg: dec,
        sigma_arcsec: cells.positionError(i, m.position_error).sigma1 ?? 0,
        mags: cells.mags(i, m.magnitudes),
        ...cells.astrometry(i, m),
      })),
    );
  });
  cells.counting(true);
  const zoned = (kept: readonly boolean[]) =>
    zone ? { owned: owned.reduce((n, own, a) => n + (own && kept[a] ? 1 : 0), 0), firstLines: cells.firstLines } : {};
  if (m.id !== undefined) return { rows, noData: cells.counts, merged, ...zoned(owned.map(() => true)) };
  // without ids, a row within SAME_SOURCE_ARCSEC of an earlier kept one is that source again (overlapping cones)
  const index = new SkyIndex(
    rows.map((r) => r.ra_deg),
    rows.map((r) => r.dec_deg),
    SAME_SOURCE_ARCSEC,
  );
  const dropped = new Uint8Array(rows.length);
  for (let a = 0; a < rows.length; a++)
    if (!dropped[a]) for (const n of index.neighbours(a)) if (n.index > a) dropped[n.index] = 1;
  return {
    rows: rows.filter((_, a) => !dropped[a]),
    noData: cells.counts,
    merged: dropped.reduce((x, y, a) => x + (owned[a] ? y : 0), 0),
    ...zoned(Array.from(dropped, (d) => d === 0)),
  };
}
