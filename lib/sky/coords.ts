import { median } from '../stats.js';

/** Angles: degrees in, degrees or arcseconds out. */
export const ARCSEC_PER_DEG = 3600;
const DEG = Math.PI / 180;

/** Angular separation by the haversine formula (accurate at arcsecond scales), in arcseconds. */
export function separationArcsec(ra1_deg: number, dec1_deg: number, ra2_deg: number, dec2_deg: number): number {
  const dra = (ra2_deg - ra1_deg) * DEG;
  const ddec = (dec2_deg - dec1_deg) * DEG;
  const a = Math.sin(ddec / 2) ** 2 + Math.cos(dec1_deg * DEG) * Math.cos(dec2_deg * DEG) * Math.sin(dra / 2) ** 2;
  return ((2 * Math.asin(Math.min(1, Math.sqrt(a)))) / DEG) * ARCSEC_PER_DEG;
}

/** Unit vector of a sky position. */
export function unitVector(ra_deg: number, dec_deg: number): [number, number, number] {
  const ra = ra_deg * DEG;
  const dec = dec_deg * DEG;
  return [Math.cos(dec) * Math.cos(ra), Math.cos(dec) * Math.sin(ra), Math.sin(dec)];
}

/**
 * Parses sexagesimal right ascension, e.g. `16 03 54.00`, `01h00m43.14s`, `05:20:28.04`;
 * returns degrees or null when the text is not one.
 */
export function parseRaDeg(text: string): number | null {
  const m = /^\s*(\d{1,2})[\sh:]+(\d{1,2})[\sm:]+(\d{1,2}(?:\.\d*)?)\s*s?\s*$/.exec(text);
  if (!m) return null;
  const [h, mi, s] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (h >= 24 || mi >= 60 || s >= 60) return null;
  return 15 * (h + mi / 60 + s / 3600);
}

/**
 * Parses sexagesimal declination, e.g. `-77 53 06.0`, `-72°11′33.8″`, `+61:45:03.19`;
 * returns degrees or null. The sign applies to the whole angle (so -00 30 00 is -0.5).
 */
export function parseDecDeg(text: string): number | null {
  const m = /^\s*([+\-−]?)\s*(\d{1,2})[\s°d:]+(\d{1,2})[\s′'m:]+(\d{1,2}(?:\.\d*)?)\s*(?:″|"|s)?\s*$/.exec(text);
  if (!m) return null;
  const [d, mi, s] = [Number(m[2]), Number(m[3]), Number(m[4])];
  if (d > 90 || mi >= 60 || s >= 60) return null;
  const v = d + mi / 60 + s / 3600;
  if (v > 90) return null;
  return m[1] === '-' || m[1] === '−' ? -v : v;
}

/**
 * Median of right ascensions, correct across RA 0/360: angles are unwrapped around the
 * circular mean before taking the median, then put back in [0, 360).
 */
export function medianRaDeg(ras: readonly number[]): number {
  let sx = 0;
  let sy = 0;
  for (const r of ras) {
    sx += Math.cos(r * DEG);
    sy += Math.sin(r * DEG);
  }
  const centre = Math.atan2(sy, sx) / DEG;
  const med = median(ras.map((r) => centre + ((((r - centre) % 360) + 540) % 360) - 180));
  return ((med % 360) + 360) % 360;
}
