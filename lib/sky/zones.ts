/**
 * A field cut into declination zones, so that a classification holds one zone of its
 * photometry catalogs in memory at a time. Zones, not HEALPix tiles: a zone's catalog
 * rows are the rows whose declination lies in the zone widened by the counterpart search's
 * reach, and since an angular separation is never smaller than the difference of the
 * declinations, that one `BETWEEN` on a column (which DuckDB pushes into its CSV and Parquet
 * scans) is exact everywhere, across RA 0/360 and at the poles, with no pixel library and no
 * neighbour list. The zones cover the whole sphere, so every catalog row belongs to exactly
 * one of them, and hold about as many X-ray sources each.
 */
export interface DecZone {
  /** the zone's number, from the south */
  index: number;
  /** its declinations: lo <= dec < hi, and dec <= hi for the northernmost zone (degrees) */
  lo: number;
  hi: number;
  last: boolean;
}

/**
 * Zones of at most `perZone` X-ray sources (equal counts, cut at the sources' own
 * declinations): the first from -90, the last to +90. One zone when the field has no more
 * than `perZone` sources.
 */
export function declinationZones(decs: ArrayLike<number>, perZone: number): DecZone[] {
  if (!(perZone >= 1)) throw new Error(`declinationZones: perZone must be at least 1, not ${perZone}`);
  const sorted = Float64Array.from(decs).sort();
  const count = Math.max(1, Math.ceil(sorted.length / perZone));
  const cuts = [-90];
  for (let k = 1; k < count; k++) {
    const cut = sorted[Math.round((k * sorted.length) / count)]!;
    // sources at one declination stay in one zone: a cut equal to the previous one is skipped
    if (cut > cuts[cuts.length - 1]!) cuts.push(cut);
  }
  cuts.push(90);
  return cuts.slice(0, -1).map((lo, index) => ({
    index,
    lo,
    hi: cuts[index + 1]!,
    last: index === cuts.length - 2,
  }));
}

/** Whether a declination lies in the zone (its own rows, not its margin). */
export function inZone(zone: DecZone, dec: number): boolean {
  return dec >= zone.lo && (dec < zone.hi || (zone.last && dec <= zone.hi));
}

/** Whether a declination lies in the zone widened by `margin_deg` on both sides: the rows a zone reads. */
export function nearZone(zone: DecZone, dec: number, margin_deg: number): boolean {
  return dec >= zone.lo - margin_deg && dec <= zone.hi + margin_deg;
}

/**
 * How many X-ray sources a zone holds: at most `zoneSources`, and few enough that each zone
 * reads about `zoneCatalogBytes` of the photometry catalogs (`catalogBytes` in all; a zone
 * reads about its share of them, its margin aside), so a small field against a large
 * catalog is cut too.
 */
export function sourcesPerZone(
  sources: number,
  catalogBytes: number,
  zoneSources: number,
  zoneCatalogBytes: number,
): number {
  const count = Math.max(1, Math.ceil(sources / zoneSources), Math.ceil(catalogBytes / zoneCatalogBytes));
  return Math.max(1, Math.ceil(sources / count));
}
