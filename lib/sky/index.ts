import { ARCSEC_PER_DEG, unitVector } from './coords.js';

export interface Neighbour {
  index: number;
  sep_arcsec: number;
}

/**
 * Fixed-radius neighbour search by declination zones (the "zones" algorithm of Gray et
 * al. 2007): the sky cut into Dec strips one index radius high, the points of each strip
 * sorted by RA, so the candidates for a position are an RA window (binary search) in the
 * two or three strips it touches; each is then tested by its chord on the unit sphere,
 * which is exact across RA 0/360 and at the poles (near a pole a strip is scanned
 * whole). A query costs O(log n) plus the points in a box of side 2 radius, whatever the
 * field's extent; a Dec-only sweep (`forEachPair`, for deduplication) stays linear in
 * the points of one strip.
 */
export class SkyIndex {
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly z: Float64Array;
  private readonly order: Int32Array;
  private readonly decSorted: Float64Array;
  private readonly dec: Float64Array;
  /** per non-empty Dec zone: its points' RA in increasing order and their indices */
  private readonly zones = new Map<number, { ra: Float64Array; index: Int32Array }>();
  private readonly zoneDeg: number;

  constructor(
    ra_deg: ArrayLike<number>,
    dec_deg: ArrayLike<number>,
    readonly radius_arcsec: number,
  ) {
    const n = ra_deg.length;
    this.x = new Float64Array(n);
    this.y = new Float64Array(n);
    this.z = new Float64Array(n);
    this.dec = Float64Array.from(dec_deg);
    for (let i = 0; i < n; i++) {
      const [x, y, z] = unitVector(ra_deg[i]!, dec_deg[i]!);
      this.x[i] = x;
      this.y[i] = y;
      this.z[i] = z;
    }
    const dec = this.dec;
    this.order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => dec[a]! - dec[b]! || a - b);
    this.decSorted = Float64Array.from(this.order, (i) => dec[i]!);
    // zones one index radius high (at least 1", so a tiny radius cannot make millions of them)
    this.zoneDeg = Math.max(radius_arcsec, 1) / ARCSEC_PER_DEG;
    const members = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const z = this.zoneOf(dec_deg[i]!);
      const list = members.get(z);
      if (list) list.push(i);
      else members.set(z, [i]);
    }
    const ra = Float64Array.from(ra_deg, (r) => ((r % 360) + 360) % 360);
    for (const [z, list] of members) {
      list.sort((a, b) => ra[a]! - ra[b]! || a - b);
      this.zones.set(z, { ra: Float64Array.from(list, (i) => ra[i]!), index: Int32Array.from(list) });
    }
  }

  private zoneOf(dec_deg: number): number {
    return Math.floor((dec_deg + 90) / this.zoneDeg);
  }

  get size(): number {
    return this.order.length;
  }

  /** Indices within `radius_arcsec` (at most the index radius) of a position, with their separations. */
  query(ra_deg: number, dec_deg: number, radius_arcsec = this.radius_arcsec): Neighbour[] {
    if (radius_arcsec > this.radius_arcsec)
      throw new Error(`sky index built for ${this.radius_arcsec}" cannot search ${radius_arcsec}"`);
    const [x, y, z] = unitVector(ra_deg, dec_deg);
    return this.scan(x, y, z, dec_deg, radius_arcsec, -1, null).within;
  }

  /**
   * How many indexed points lie within `outer_arcsec` (at most the index radius) of a
   * position, and which of them, with their separations, within `inner_arcsec`: what a
   * local density and a search circle need, with no list of the outer circle's points
   * (a density circle of 60" holds hundreds of catalog rows, a search circle a few): the
   * count is the length of query's list for the outer radius, and the inner list its
   * points whose separation is at most `inner_arcsec`.
   */
  countAround(
    ra_deg: number,
    dec_deg: number,
    outer_arcsec: number,
    inner_arcsec: number,
  ): { count: number; within: Neighbour[] } {
    if (outer_arcsec > this.radius_arcsec)
      throw new Error(`sky index built for ${this.radius_arcsec}" cannot search ${outer_arcsec}"`);
    const [x, y, z] = unitVector(ra_deg, dec_deg);
    return this.scan(x, y, z, dec_deg, outer_arcsec, -1, Math.min(inner_arcsec, outer_arcsec));
  }

  /** Neighbours of indexed point i (excluding itself) within the index radius. */
  neighbours(i: number): Neighbour[] {
    return this.scan(this.x[i]!, this.y[i]!, this.z[i]!, this.dec[i]!, this.radius_arcsec, i, null).within;
  }

  /**
   * Calls `visit(i, j, sep)` once for every pair i < j (by position in Dec order) closer
   * than the index radius: the sweep a deduplication needs, without building lists.
   */
  forEachPair(visit: (i: number, j: number, sep_arcsec: number) => void): void {
    const rDeg = this.radius_arcsec / ARCSEC_PER_DEG;
    const max = chord(this.radius_arcsec);
    const max2 = max * max;
    const n = this.order.length;
    for (let a = 0; a < n; a++) {
      const i = this.order[a]!;
      const top = this.decSorted[a]! + rDeg;
      for (let b = a + 1; b < n && this.decSorted[b]! <= top; b++) {
        const j = this.order[b]!;
        const dx = this.x[j]! - this.x[i]!;
        const dy = this.y[j]! - this.y[i]!;
        const dz = this.z[j]! - this.z[i]!;
        const d2 = dx * dx + dy * dy + dz * dz;
        if (d2 <= max2) visit(i, j, chordToArcsec(Math.sqrt(d2)));
      }
    }
  }

  /**
   * The points within `radius_arcsec`: their count, and with their separations those
   * within `inner_arcsec` (null: all of them), in index order. A point's separation is
   * computed only where its chord can be inside the inner circle (a relative margin of
   * 1e-9 on the squared chord); whether it is inside is then decided on the separation.
   */
  private scan(
    x: number,
    y: number,
    z: number,
    dec_deg: number,
    radius_arcsec: number,
    self: number,
    inner_arcsec: number | null,
  ): { count: number; within: Neighbour[] } {
    const rDeg = radius_arcsec / ARCSEC_PER_DEG;
    const max = chord(radius_arcsec);
    const max2 = max * max;
    const inner = inner_arcsec === null ? max : chord(inner_arcsec);
    const inner2 = inner * inner * (1 + 1e-9);
    const innerSep = inner_arcsec ?? Number.POSITIVE_INFINITY;
    let count = 0;
    const ra0 = ((Math.atan2(y, x) * 180) / Math.PI + 360) % 360;
    // the RA half-width of the window: r / cos of the Dec farthest from the equator in reach
    // (with a margin; the chord test decides), or the whole strip near a pole
    const far = Math.abs(dec_deg) + rDeg;
    const half = far >= 89 ? 180 : (1.01 * rDeg) / Math.cos((far * Math.PI) / 180);
    const ranges: [number, number][] =
      half >= 180
        ? [[0, 360]]
        : ra0 - half < 0
          ? [
              [ra0 - half + 360, 360],
              [0, ra0 + half],
            ]
          : ra0 + half >= 360
            ? [
                [ra0 - half, 360],
                [0, ra0 + half - 360],
              ]
            : [[ra0 - half, ra0 + half]];
    const out: Neighbour[] = [];
    for (
      let zone = this.zoneOf(Math.max(-90, dec_deg - rDeg));
      zone <= this.zoneOf(Math.min(90, dec_deg + rDeg));
      zone++
    ) {
      const strip = this.zones.get(zone);
      if (!strip) continue;
      for (const [from, to] of ranges) {
        let lo = 0;
        let hi = strip.ra.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (strip.ra[mid]! < from) lo = mid + 1;
          else hi = mid;
        }
        for (let b = lo; b < strip.ra.length && strip.ra[b]! <= to; b++) {
          const j = strip.index[b]!;
          if (j === self) continue;
          const dx = this.x[j]! - x;
          const dy = this.y[j]! - y;
          const dz = this.z[j]! - z;
          const d2 = dx * dx + dy * dy + dz * dz;
          if (!(d2 <= max2)) continue;
          count++;
          if (!(d2 <= inner2)) continue;
          const sep_arcsec = chordToArcsec(Math.sqrt(d2));
          if (sep_arcsec <= innerSep) out.push({ index: j, sep_arcsec });
        }
      }
    }
    return { count, within: out.sort((a, b) => a.index - b.index) };
  }
}

/** Chord length on the unit sphere for an angle in arcseconds. */
function chord(arcsec: number): number {
  return 2 * Math.sin(((arcsec / ARCSEC_PER_DEG) * Math.PI) / 180 / 2);
}

function chordToArcsec(c: number): number {
  return (2 * Math.asin(Math.min(1, c / 2)) * 180 * ARCSEC_PER_DEG) / Math.PI;
}
