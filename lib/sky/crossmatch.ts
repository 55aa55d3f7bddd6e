import { SkyIndex } from './index.js';

/**
 * Cross-match to an X-ray source table (paper section 2.3). Each X-ray source has an
 * effective positional uncertainty sigma_eff = sqrt((r0^2 + r1^2)/2) from its error
 * ellipse, or its positional-uncertainty column; a label position matches an X-ray
 * source within R = max(3 sigma_eff, 0.5") of detection significance >= 3. The
 * normalised separation nu = theta / sigma_eff grades it: secure nu <= 2, ambiguous
 * 2 < nu <= 3 (beyond 3 it is outside R and excluded). The best match is the one
 * with the smallest nu.
 */
export function sigmaEff(r0_arcsec: number, r1_arcsec: number): number {
  return Math.sqrt((r0_arcsec * r0_arcsec + r1_arcsec * r1_arcsec) / 2);
}

/** Flux error from confidence limits: (hi - lo)/2. */
export function fluxErrorFromLimits(lo: number, hi: number): number {
  return (hi - lo) / 2;
}

export type MatchQuality = 'secure' | 'ambiguous';

export function matchQuality(nu: number): MatchQuality | null {
  if (nu <= 2) return 'secure';
  if (nu <= 3) return 'ambiguous';
  return null;
}

export interface XraySource {
  ra_deg: number;
  dec_deg: number;
  sigma_eff_arcsec: number;
  significance: number;
}

export interface Match {
  xray: number;
  sep_arcsec: number;
  nu: number;
  quality: MatchQuality;
  /** other X-ray sources also within their search radius */
  alternatives: number;
}

export interface CrossMatchOptions {
  min_significance: number;
  min_radius_arcsec: number;
  radius_sigmas: number;
}

export const METHOD_CROSSMATCH: CrossMatchOptions = { min_significance: 3, min_radius_arcsec: 0.5, radius_sigmas: 3 };

export function crossMatch(
  positions: readonly { ra_deg: number; dec_deg: number }[],
  xray: readonly XraySource[],
  opts: CrossMatchOptions = METHOD_CROSSMATCH,
): (Match | null)[] {
  const usable = xray.flatMap((s, i) => (s.significance >= opts.min_significance && s.sigma_eff_arcsec > 0 ? [i] : []));
  const maxRadius = usable.reduce(
    (m, i) => Math.max(m, opts.radius_sigmas * xray[i]!.sigma_eff_arcsec),
    opts.min_radius_arcsec,
  );
  const index = new SkyIndex(
    usable.map((i) => xray[i]!.ra_deg),
    usable.map((i) => xray[i]!.dec_deg),
    Math.max(maxRadius, 3),
  );
  return positions.map((p) => {
    const hits = index
      .query(p.ra_deg, p.dec_deg, Math.max(maxRadius, 3))
      .map((h) => {
        const s = xray[usable[h.index]!]!;
        const radius = Math.max(opts.radius_sigmas * s.sigma_eff_arcsec, opts.min_radius_arcsec);
        return { xray: usable[h.index]!, sep_arcsec: h.sep_arcsec, nu: h.sep_arcsec / s.sigma_eff_arcsec, radius };
      })
      .filter((h) => h.sep_arcsec <= h.radius)
      .sort((a, b) => a.nu - b.nu || a.xray - b.xray);
    const best = hits[0];
    if (!best) return null;
    const quality = matchQuality(best.nu);
    // a hit inside a 0.5" floor radius can still have nu > 3: excluded, as the method says
    if (quality === null) return null;
    return { xray: best.xray, sep_arcsec: best.sep_arcsec, nu: best.nu, quality, alternatives: hits.length - 1 };
  });
}

/** Nearest catalogue counterpart within a radius (photometry join, paper section 2.4), with its separation. */
export function nearestWithin(
  positions: readonly { ra_deg: number; dec_deg: number }[],
  catalog: SkyIndex,
  radius_arcsec: number,
): ({ index: number; sep_arcsec: number } | null)[] {
  return positions.map((p) => {
    let best: { index: number; sep_arcsec: number } | null = null;
    for (const h of catalog.query(p.ra_deg, p.dec_deg, radius_arcsec))
      if (!best || h.sep_arcsec < best.sep_arcsec || (h.sep_arcsec === best.sep_arcsec && h.index < best.index))
        best = h;
    return best;
  });
}
