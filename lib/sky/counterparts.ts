import { ARCSEC_PER_DEG } from './coords.js';
import { matchQuality } from './crossmatch.js';
import { SkyIndex } from './index.js';
import { median } from '../stats.js';

/**
 * Counterparts of X-ray sources in a photometry catalog.
 *
 * The method's rule (paper section 2.3): candidates within R = max(k sigma_eff, r_min),
 * graded by nu = theta / sigma_eff (secure nu <= 2, ambiguous 2 < nu <= 3), the
 * nearest by nu chosen. sigma_eff comes from the 95% error ellipse, as in the method.
 *
 * Beyond it, a Bayesian association in the spirit of NWAY (Salvato et al. 2018;
 * Budavari & Szalay 2008) for two catalogs: with the catalog's field sources a Poisson
 * process of local density rho and the true counterpart offset by a circular Gaussian
 * of 1-sigma s = sqrt(s_x^2 + s_c^2) (s_x = sigma_eff / 2.4477, the 1-sigma of a 95%
 * radius; s_c the catalog's own error), the hypotheses "candidate i is the counterpart"
 * (prior c, the catalog's completeness) and "none is" (prior 1 - c, plus c times the
 * chance the counterpart lies outside R) give
 *   p_i = c LR_i / ((1 - c) + c P_out + c sum_j LR_j),   LR_i = exp(-r_i^2 / 2 s^2) / (2 pi s^2 rho),
 * and p_any = sum_i p_i.
 */

/** 95% radius of a circular 2D Gaussian in units of its 1-sigma: sqrt(-2 ln 0.05). */
export const R95_PER_SIGMA = Math.sqrt(-2 * Math.log(0.05));

export interface XrayPosition {
  ra_deg: number;
  dec_deg: number;
  /** the method's sigma_eff from the 95% error ellipse, arcsec */
  sigma_eff_arcsec: number;
}

export interface CatalogPositions {
  ra_deg: ArrayLike<number>;
  dec_deg: ArrayLike<number>;
  /** 1-sigma positional error per source, arcsec (0 when unknown) */
  sigma_arcsec: ArrayLike<number>;
}

export interface CounterpartOptions {
  radius_sigmas: number;
  min_radius_arcsec: number;
  prior_completeness: number;
  density_radius_arcsec: number;
}

/** The counterpart search radius R = max(radius_sigmas sigma_eff, min_radius), arcsec (paper section 2.3). */
export function searchRadiusArcsec(
  sigmaEff_arcsec: number,
  opts: Pick<CounterpartOptions, 'radius_sigmas' | 'min_radius_arcsec'>,
): number {
  return Math.max(opts.radius_sigmas * sigmaEff_arcsec, opts.min_radius_arcsec);
}

/** The circle a source's catalog density is counted in: at least twice its search radius. */
function densityRadiusArcsec(R: number, opts: Pick<CounterpartOptions, 'density_radius_arcsec'>): number {
  return Math.max(opts.density_radius_arcsec, 2 * R);
}

/**
 * How far from an X-ray source a classification looks into a catalog, arcsec: its search
 * circle and density circle, at its own position and at the false-match rate's shifted
 * ones (`shifts` search radii away). A catalog cut to a cone padded by this for the largest
 * sigma_eff of the field gives every source the candidates and density it would get from
 * the whole catalog.
 */
export function catalogReachArcsec(
  maxSigmaEff_arcsec: number,
  opts: Pick<CounterpartOptions, 'radius_sigmas' | 'min_radius_arcsec' | 'density_radius_arcsec'>,
  shifts: readonly number[],
): number {
  const R = searchRadiusArcsec(maxSigmaEff_arcsec, opts);
  return Math.max(0, ...shifts) * R + densityRadiusArcsec(R, opts);
}

export interface Candidate {
  index: number;
  sep_arcsec: number;
  nu: number;
  quality: 'secure' | 'ambiguous' | 'outside';
  rank: number;
  p_i: number;
}

export interface SourceMatch {
  candidates: Candidate[];
  p_any: number;
  /** catalog sources per arcsec^2 around the source */
  density_arcsec2: number;
  radius_arcsec: number;
  /** catalog sources within the density radius (0: the catalog does not reach this source) */
  neighbours: number;
  /** the method's choice: the nearest by nu that is secure or ambiguous */
  method: Candidate | null;
  /** the highest posterior */
  bayes: Candidate | null;
}

export class CounterpartMatcher {
  private readonly index: SkyIndex;

  constructor(
    private readonly catalog: CatalogPositions,
    private readonly opts: CounterpartOptions,
    maxRadius_arcsec: number,
  ) {
    this.index = new SkyIndex(catalog.ra_deg, catalog.dec_deg, Math.max(maxRadius_arcsec, opts.density_radius_arcsec));
  }

  searchRadius(x: XrayPosition): number {
    return searchRadiusArcsec(x.sigma_eff_arcsec, this.opts);
  }

  match(x: XrayPosition): SourceMatch {
    const R = this.searchRadius(x);
    const Rd = densityRadiusArcsec(R, this.opts);
    const around = this.index.countAround(x.ra_deg, x.dec_deg, Math.min(Rd, this.index.radius_arcsec), R);
    const inside = around.within.sort((a, b) => a.sep_arcsec - b.sep_arcsec || a.index - b.index);
    // field density from the annulus between R and Rd, at least one source in it (so an empty field cannot make every candidate certain)
    const annulus = Math.PI * (Math.min(Rd, this.index.radius_arcsec) ** 2 - R * R);
    const density = Math.max(around.count - inside.length, 1) / annulus;
    const c = this.opts.prior_completeness;
    const sx = x.sigma_eff_arcsec / R95_PER_SIGMA;
    const lrs = inside.map((h) => {
      const sc = this.catalog.sigma_arcsec[h.index]!;
      const s2 = sx * sx + sc * sc;
      return Math.exp((-h.sep_arcsec * h.sep_arcsec) / (2 * s2)) / (2 * Math.PI * s2 * density);
    });
    const s2 = sx * sx;
    const pOut = Math.exp((-R * R) / (2 * s2));
    const denom = 1 - c + c * pOut + c * lrs.reduce((a, b) => a + b, 0);
    const candidates: Candidate[] = inside.map((h, k) => {
      const nu = h.sep_arcsec / x.sigma_eff_arcsec;
      return {
        index: h.index,
        sep_arcsec: h.sep_arcsec,
        nu,
        quality: matchQuality(nu) ?? 'outside',
        rank: k + 1,
        p_i: (c * lrs[k]!) / denom,
      };
    });
    const method = candidates.find((k) => k.quality !== 'outside') ?? null;
    let bayes: Candidate | null = null;
    for (const k of candidates) if (!bayes || k.p_i > bayes.p_i) bayes = k;
    return {
      candidates,
      p_any: candidates.reduce((a, k) => a + k.p_i, 0),
      density_arcsec2: density,
      radius_arcsec: R,
      neighbours: around.count,
      method,
      bayes,
    };
  }
}

/** A position moved by (east, north) arcsec on the sky (small offsets, tangent plane). */
export function offsetPosition(
  ra_deg: number,
  dec_deg: number,
  east_arcsec: number,
  north_arcsec: number,
): { ra_deg: number; dec_deg: number } {
  const cos = Math.cos((dec_deg * Math.PI) / 180);
  const ra = ra_deg + east_arcsec / ARCSEC_PER_DEG / Math.max(cos, 1e-9);
  return {
    ra_deg: ((ra % 360) + 360) % 360,
    dec_deg: Math.max(-90, Math.min(90, dec_deg + north_arcsec / ARCSEC_PER_DEG)),
  };
}

/** (east, north) arcsec of b relative to a. */
export function positionOffset(
  a: { ra_deg: number; dec_deg: number },
  b: { ra_deg: number; dec_deg: number },
): [number, number] {
  const dra = ((((b.ra_deg - a.ra_deg) % 360) + 540) % 360) - 180;
  return [dra * Math.cos((a.dec_deg * Math.PI) / 180) * ARCSEC_PER_DEG, (b.dec_deg - a.dec_deg) * ARCSEC_PER_DEG];
}

export interface FalseMatchRate {
  /** shifted positions tried (sources x shifts x 4 directions) */
  trials: number;
  /** share of shifted positions where the method's rule finds a counterpart */
  method_rate: number;
  /** mean p_any at the shifted positions: the Bayesian chance of a spurious association */
  mean_p_any: number;
}

/**
 * The false-match rate measured by moving the sources by `shifts` search radii north,
 * east, south and west, where their true counterparts cannot be, and matching again
 * (e.g. Ruiz et al. 2018). The shift is in units of each source's own R. At most
 * `maxTrials` shifted positions: beyond that, sources at an even stride (the rate's
 * standard error is then about sqrt(rate / maxTrials), 0.3 points at 40,000).
 */
export function falseMatchRate(
  matcher: CounterpartMatcher,
  sources: readonly XrayPosition[],
  shifts: readonly number[],
  maxTrials = Infinity,
): FalseMatchRate {
  let trials = 0;
  let hits = 0;
  let pAny = 0;
  const stride = falseMatchStride(sources.length, shifts, maxTrials);
  for (let s = 0; s < sources.length; s += stride)
    shiftedTrials(matcher, sources[s]!, shifts, (hit, p) => {
      trials++;
      if (hit) hits++;
      pAny += p;
    });
  return { trials, method_rate: trials ? hits / trials : 0, mean_p_any: trials ? pAny / trials : 0 };
}

/** Every how many sources (in the field's order) the false-match rate shifts one, so that it makes at most `maxTrials` trials. */
export function falseMatchStride(nSources: number, shifts: readonly number[], maxTrials = Infinity): number {
  const perSource = shifts.length * 4;
  return perSource === 0 ? 1 : Math.max(1, Math.ceil((nSources * perSource) / maxTrials));
}

/** One source's trials of the false-match rate: its position moved `shift` search radii east, north, west and south, in that order per shift. */
export function shiftedTrials(
  matcher: CounterpartMatcher,
  x: XrayPosition,
  shifts: readonly number[],
  trial: (hit: boolean, p_any: number) => void,
): void {
  const R = matcher.searchRadius(x);
  for (const s of shifts) {
    for (const [e, n] of [
      [0, 1],
      [1, 0],
      [0, -1],
      [-1, 0],
    ] as const) {
      const p = offsetPosition(x.ra_deg, x.dec_deg, e * s * R, n * s * R);
      const m = matcher.match({ ...x, ...p });
      trial(m.method !== null && m.method !== undefined, m.p_any);
    }
  }
}

/** The frame tie: the median (east, north) offset of catalog counterparts from their X-ray sources. */
export function frameTie(
  pairs: readonly { xray: { ra_deg: number; dec_deg: number }; counterpart: { ra_deg: number; dec_deg: number } }[],
): {
  east_arcsec: number;
  north_arcsec: number;
  n: number;
} {
  const offs = pairs.map((p) => positionOffset(p.xray, p.counterpart));
  return { east_arcsec: median(offs.map((o) => o[0])), north_arcsec: median(offs.map((o) => o[1])), n: offs.length };
}

/** One catalog's candidates for one X-ray source, as the joint association reads them. */
export interface JointCatalog {
  /** candidates: offset from the X-ray position (east, north, arcsec), 1-sigma error, and whether the rule may pick it */
  candidates: readonly { east_arcsec: number; north_arcsec: number; sigma_arcsec: number; eligible: boolean }[];
  /** the candidate the per-catalog rule chose (index into candidates), or null */
  chosen: number | null;
  /** the catalog's field density around the source, per arcsec^2 */
  density_arcsec2: number;
}

/** A pair of members of a counterpart set: their separation, the 1-sigma of that separation, and whether they agree. */
export interface MemberPair {
  a: number;
  b: number;
  sep_arcsec: number;
  sigma_arcsec: number;
  agree: boolean;
}

/** Members of one counterpart set agree when every pair is within this many sigma of each other. */
const MEMBER_AGREEMENT_SIGMAS = 3;

/**
 * One counterpart set per X-ray source across catalogs, in the spirit of NWAY's
 * multi-catalog association (Salvato et al. 2018; Budavari & Szalay 2008): the sources
 * of a set must be one object, so every pair of its members must agree within their
 * errors (each catalog's 1-sigma with `floor_arcsec` added in quadrature: frame
 * systematics and the motion of a star between the catalogs' epochs).
 *
 * When the per-catalog choices agree they are kept. Otherwise every set of eligible
 * candidates (at most one per catalog, members pairwise in agreement) is weighed as
 * W = G(X and members) prod_members c / rho_i prod_others (1 - c), with
 * G(S) = prod_S (w_i / 2 pi) (2 pi / sum_S w) exp(-sum_{i<j} w_i w_j psi_ij^2 / (2 sum_S w)),
 * w = 1/sigma^2 (the flat-sky form of Budavari & Szalay's Bayes factor for k positions of
 * one object against k unrelated ones; G of the X-ray source alone is 1, and of two
 * positions it is the Gaussian density of their separation, the single-catalog
 * likelihood ratio above), and the set of largest W is taken. Photometry of two objects
 * is then never merged. Returns the set, its member pairs, and the per-catalog choices'
 * pairs that disagreed (empty when the choices were kept).
 */
export function jointCounterparts(
  x: { sigma_1_arcsec: number },
  catalogs: readonly JointCatalog[],
  completeness: number,
  floor_arcsec: number,
): { chosen: (number | null)[]; pairs: MemberPair[]; rejected: MemberPair[] } {
  const sig = (c: number, k: number) => Math.hypot(catalogs[c]!.candidates[k]!.sigma_arcsec, floor_arcsec);
  const pairOf = (a: number, ka: number, b: number, kb: number): MemberPair => {
    const p = catalogs[a]!.candidates[ka]!;
    const q = catalogs[b]!.candidates[kb]!;
    const sep = Math.hypot(p.east_arcsec - q.east_arcsec, p.north_arcsec - q.north_arcsec);
    const sigma = Math.hypot(sig(a, ka), sig(b, kb));
    return { a, b, sep_arcsec: sep, sigma_arcsec: sigma, agree: sep <= MEMBER_AGREEMENT_SIGMAS * sigma };
  };
  const pairsOf = (set: readonly (number | null)[]) => {
    const out: MemberPair[] = [];
    for (let a = 0; a < set.length; a++)
      for (let b = a + 1; b < set.length; b++)
        if (set[a] !== null && set[b] !== null) out.push(pairOf(a, set[a]!, b, set[b]!));
    return out;
  };
  const first = catalogs.map((c) => c.chosen);
  const firstPairs = pairsOf(first);
  if (firstPairs.every((p) => p.agree)) return { chosen: first, pairs: firstPairs, rejected: [] };
  const weight = (set: readonly (number | null)[]) => {
    // positions relative to the X-ray source (which sits at the origin)
    const pts = [{ e: 0, n: 0, w: 1 / (x.sigma_1_arcsec * x.sigma_1_arcsec) }];
    let prior = 1;
    set.forEach((k, c) => {
      if (k === null) {
        prior *= 1 - completeness;
        return;
      }
      const cand = catalogs[c]!.candidates[k]!;
      const s = sig(c, k);
      pts.push({ e: cand.east_arcsec, n: cand.north_arcsec, w: 1 / (s * s) });
      prior *= completeness / catalogs[c]!.density_arcsec2;
    });
    const sumW = pts.reduce((a, p) => a + p.w, 0);
    let chi = 0;
    for (let i = 0; i < pts.length; i++)
      for (let j = i + 1; j < pts.length; j++)
        chi += pts[i]!.w * pts[j]!.w * ((pts[i]!.e - pts[j]!.e) ** 2 + (pts[i]!.n - pts[j]!.n) ** 2);
    const g = pts.reduce((a, p) => a * (p.w / (2 * Math.PI)), 1) * ((2 * Math.PI) / sumW) * Math.exp(-chi / (2 * sumW));
    return g * prior;
  };
  let best: (number | null)[] = catalogs.map(() => null);
  let bestW = -1;
  const set: (number | null)[] = catalogs.map(() => null);
  const visit = (c: number): void => {
    if (c === catalogs.length) {
      if (set.every((k) => k === null) || !pairsOf(set).every((p) => p.agree)) return;
      const w = weight(set);
      if (w > bestW) [bestW, best] = [w, [...set]];
      return;
    }
    set[c] = null;
    visit(c + 1);
    catalogs[c]!.candidates.forEach((cand, k) => {
      if (!cand.eligible) return;
      set[c] = k;
      visit(c + 1);
    });
    set[c] = null;
  };
  visit(0);
  return { chosen: best, pairs: pairsOf(best), rejected: firstPairs.filter((p) => !p.agree) };
}
