import { InputError } from '../lib/errors.js';
import { medianRaDeg } from '../lib/sky/coords.js';
import { median } from '../lib/stats.js';
import {
  catalogReachArcsec,
  CounterpartMatcher,
  falseMatchStride,
  frameTie,
  jointCounterparts,
  offsetPosition,
  positionOffset,
  R95_PER_SIGMA,
  shiftedTrials,
  type JointCatalog,
  type MemberPair,
  type SourceMatch,
  type XrayPosition,
} from '../lib/sky/counterparts.js';
import type {
  CounterpartPairRow,
  CounterpartSettings,
  CounterpartMatchRow,
  MatchSummaryRow,
} from '../schemas/catalog.js';
import type { PhotometryRow, XraySourceRow } from './io/catalog-rows.js';

/** One photometry catalog as read. */
export interface LoadedCatalog {
  name: string;
  file: string;
  rows: PhotometryRow[];
}

/** Per source and catalog: the counterpart used (index into the catalog's rows) and why. */
export interface Choice {
  index: number | null;
  reason: string;
  quality: string;
  nu: number | null;
}

export interface MatchResult {
  matches: CounterpartMatchRow[];
  summary: MatchSummaryRow[];
  /** the member pairs of every source's counterpart set, kept or rejected */
  pairs: CounterpartPairRow[];
  /** X-ray positions after the frame tie (the input positions when none was applied) */
  positions: ({ ra_deg: number; dec_deg: number } | null)[];
}

function positionsOf(sources: readonly XraySourceRow[], file: string): (XrayPosition | null)[] {
  return sources.map((s) => {
    if (s.ra_deg === null || s.dec_deg === null) return null;
    if (s.sigma_eff_arcsec === null || !(s.sigma_eff_arcsec > 0))
      throw new InputError(
        { file, row: s.line, column: 'position_error', value: s.sigma_eff_arcsec ?? '' },
        'a positive positional error is needed to match counterparts',
      );
    return { ra_deg: s.ra_deg, dec_deg: s.dec_deg, sigma_eff_arcsec: s.sigma_eff_arcsec };
  });
}

function choose(m: SourceMatch, opts: CounterpartSettings, catalog: string): Choice {
  const R = `R=${m.radius_arcsec.toFixed(2)}"`;
  if (m.candidates.length === 0)
    return { index: null, reason: `${catalog}: no candidate within ${R}`, quality: 'none', nu: null };
  if (opts.rule === 'method') {
    const k = m.method;
    if (!k)
      return { index: null, reason: `${catalog}: no candidate with nu <= 3 within ${R}`, quality: 'none', nu: null };
    return {
      index: k.index,
      reason: `${catalog}: nearest within ${R} (nu ${k.nu.toFixed(2)}, ${k.quality}${m.candidates.length > 1 ? `, ${m.candidates.length - 1} other` : ''})`,
      quality: k.quality,
      nu: k.nu,
    };
  }
  const k = m.bayes!;
  if (m.p_any < opts.p_any_min)
    return {
      index: null,
      reason: `${catalog}: p_any ${m.p_any.toFixed(3)} < ${opts.p_any_min}`,
      quality: 'none',
      nu: null,
    };
  return {
    index: k.index,
    reason: `${catalog}: highest posterior p_i ${k.p_i.toFixed(3)} (p_any ${m.p_any.toFixed(3)}, nu ${k.nu.toFixed(2)})`,
    quality: k.quality === 'outside' ? 'bayes' : k.quality,
    nu: k.nu,
  };
}

/** One zone's counterparts (FieldMatch.zone): per catalog and zone source, the choice, indexing the zone's catalog rows. */
export interface ZoneMatch {
  /** choices[c][k]: catalog c, the zone's k-th source (after the joint set across catalogs) */
  choices: Choice[][];
}

/**
 * Every X-ray source against every photometry catalog: all candidates within the search
 * radius kept with their nu, grade and posterior; the counterpart used chosen by the
 * configured rule; per catalog the false-match rate from shifted positions. With
 * `frame_tie`, the median offset of secure matches (all catalogs pooled) is applied to
 * the X-ray positions first, when enough of them agree (a field matched as one zone only).
 *
 * A field is matched zone by zone (lib/sky/zones.ts): `zone` takes the zone's sources and
 * the catalog rows within the counterpart search's reach of it, and keeps what the field's
 * tables need per source; `finish` puts them in the field's order and sums the field's
 * figures in that order, so any cut into zones gives the same bits as one zone. The search
 * index's radius and the false-match rate's stride are the field's, set here.
 */
export class FieldMatch {
  private xs: (XrayPosition | null)[];
  /** the index radius every zone's matchers use: the field's largest search radius */
  readonly maxR: number;
  /** per source: its place among the sources with a position (-1 without one) */
  private readonly placedIndex: Int32Array;
  private readonly stride: number;
  private readonly perSource: number;
  private readonly summaryHead: MatchSummaryRow[] = [];
  /** per catalog, per source: its candidate rows; its p_any; its joint-set pairs */
  private readonly rows: CounterpartMatchRow[][][];
  private readonly pAny: Float64Array[];
  private readonly pairs: CounterpartPairRow[][] = [];
  /** per catalog: per trial source (every stride-th placed one), its trials' p_any in order */
  private readonly trialPAny: Float64Array[];
  private readonly counts: {
    reached: number;
    withCandidate: number;
    secure: number;
    ambiguous: number;
    chosen: number;
    hits: number;
    catalogRows: number;
    ra: number[];
    dec: number[];
  }[];
  private zones = 0;

  constructor(
    private readonly sources: readonly XraySourceRow[],
    private readonly catalogs: readonly { name: string; file: string }[],
    private readonly opts: CounterpartSettings,
    private readonly file: string,
  ) {
    this.xs = catalogs.length === 0 ? [] : positionsOf(sources, file);
    if (catalogs.length > 0 && this.xs.every((x) => x === null))
      throw new InputError(
        { file, column: 'ra, dec' },
        'photometry catalogs were given but the X-ray table maps no positions',
      );
    // a loop, not Math.max(...xs): a spread of 10^5 arguments overflows the stack
    const maxSigma = this.xs.reduce((m, x) => Math.max(m, x?.sigma_eff_arcsec ?? 0), 0);
    this.maxR = Math.max(opts.radius_sigmas * maxSigma, opts.min_radius_arcsec);
    this.placedIndex = new Int32Array(sources.length).fill(-1);
    let placed = 0;
    this.xs.forEach((x, si) => {
      if (x) this.placedIndex[si] = placed++;
    });
    this.stride = falseMatchStride(placed, opts.shift_radii, opts.shift_max_trials);
    this.perSource = opts.shift_radii.length * 4;
    const nTrialSources = Math.ceil(placed / this.stride);
    this.rows = catalogs.map(() => new Array<CounterpartMatchRow[]>(sources.length));
    this.pAny = catalogs.map(() => new Float64Array(sources.length));
    this.trialPAny = catalogs.map(() => new Float64Array(nTrialSources * this.perSource));
    this.counts = catalogs.map(() => ({
      reached: 0,
      withCandidate: 0,
      secure: 0,
      ambiguous: 0,
      chosen: 0,
      hits: 0,
      catalogRows: 0,
      ra: [],
      dec: [],
    }));
  }

  /** How far from a zone's sources its catalog rows must reach (arcsec): every candidate, density and shifted trial of the field's largest error. */
  reachArcsec(): number {
    const maxSigma = this.xs.reduce((m, x) => Math.max(m, x?.sigma_eff_arcsec ?? 0), 0);
    return catalogReachArcsec(maxSigma, this.opts, this.opts.shift_radii);
  }

  /**
   * One zone: `idx` its sources (indices into the field's, in the field's order), `catalogs`
   * the rows near it, `owned` per catalog how many of those rows the zone owns (the field's
   * catalog size is their sum). `frameTie`: the field is this one zone.
   */
  zone(idx: readonly number[], catalogs: readonly LoadedCatalog[], owned: readonly number[]): ZoneMatch {
    const opts = this.opts;
    this.zones++;
    if (catalogs.length === 0) return { choices: [] };
    const matchers = catalogs.map(
      (c) =>
        new CounterpartMatcher(
          {
            ra_deg: c.rows.map((r) => r.ra_deg),
            dec_deg: c.rows.map((r) => r.dec_deg),
            sigma_arcsec: c.rows.map((r) => r.sigma_arcsec),
          },
          opts,
          this.maxR,
        ),
    );
    if (opts.frame_tie) {
      if (this.zones > 1 || idx.length !== this.sources.length)
        throw new Error('classify: the frame tie is one median over the whole field; it is matched as one zone');
      const pairs = catalogs.flatMap((c, ci) =>
        this.xs.flatMap((x) => {
          const m = x ? matchers[ci]!.match(x).method : null;
          return x && m && m.quality === 'secure' ? [{ xray: x, counterpart: c.rows[m.index]! }] : [];
        }),
      );
      const applied = pairs.length >= opts.frame_tie_min_matches;
      const tie = pairs.length > 0 ? frameTie(pairs) : { east_arcsec: 0, north_arcsec: 0, n: 0 };
      this.summaryHead.push(
        { catalog: 'all', metric: 'frame_tie_matches', value: tie.n },
        { catalog: 'all', metric: 'frame_tie_east_arcsec', value: tie.east_arcsec },
        { catalog: 'all', metric: 'frame_tie_north_arcsec', value: tie.north_arcsec },
        { catalog: 'all', metric: 'frame_tie_applied', value: applied ? 1 : 0 },
      );
      if (applied)
        this.xs = this.xs.map((x) =>
          x ? { ...x, ...offsetPosition(x.ra_deg, x.dec_deg, tie.east_arcsec, tie.north_arcsec) } : null,
        );
    }
    const xs = idx.map((si) => this.xs[si] ?? null);
    const sources = idx.map((si) => this.sources[si]!);
    // each catalog on its own by the configured rule; then one counterpart set per source across catalogs
    const found = catalogs.map((_, ci) => xs.map((x) => (x ? matchers[ci]!.match(x) : null)));
    const choices = catalogs.map((c, ci) =>
      found[ci]!.map((m): Choice =>
        m
          ? choose(m, opts, c.name)
          : { index: null, reason: `${c.name}: no X-ray position`, quality: 'none', nu: null },
      ),
    );
    if (catalogs.length >= 2)
      jointSets(sources, catalogs, xs, found, choices, opts, (k, row) => (this.pairs[idx[k]!] ??= []).push(row));
    catalogs.forEach((c, ci) => {
      const n = this.counts[ci]!;
      n.catalogRows += owned[ci]!;
      xs.forEach((x, k) => {
        const m = found[ci]![k];
        if (!x || !m) return;
        const si = idx[k]!;
        if (m.neighbours > 0) n.reached++;
        const choice = choices[ci]![k]!;
        if (m.candidates.length > 0) n.withCandidate++;
        if (m.method?.quality === 'secure') n.secure++;
        if (m.method?.quality === 'ambiguous') n.ambiguous++;
        if (choice.index !== null) n.chosen++;
        this.pAny[ci]![si] = m.p_any;
        if (m.candidates.length > 0)
          this.rows[ci]![si] = m.candidates.map((cand) => {
            const r = c.rows[cand.index]!;
            return {
              id: sources[k]!.id,
              catalog: c.name,
              candidate: r.id,
              ra_deg: r.ra_deg,
              dec_deg: r.dec_deg,
              sep_arcsec: cand.sep_arcsec,
              nu: cand.nu,
              quality: cand.quality,
              rank: cand.rank,
              p_i: Math.min(1, cand.p_i),
              p_any: Math.min(1, m.p_any),
              density_arcsec2: m.density_arcsec2,
              chosen: cand.index === choice.index,
            };
          });
        // the false-match rate's trials for every stride-th placed source of the field
        const placed = this.placedIndex[si]!;
        if (placed % this.stride === 0) {
          const out = this.trialPAny[ci]!;
          let at = (placed / this.stride) * this.perSource;
          shiftedTrials(matchers[ci]!, x, opts.shift_radii, (hit, p) => {
            if (hit) n.hits++;
            out[at++] = p;
          });
        }
      });
      // the catalog's own centre, for the message when no source reaches it
      if (n.reached === 0)
        for (const r of c.rows) {
          n.ra.push(r.ra_deg);
          n.dec.push(r.dec_deg);
        }
    });
    return { choices };
  }

  /** The field's tables, in the field's order, once every zone is matched. */
  finish(): MatchResult {
    const opts = this.opts;
    const { sources, catalogs, file } = this;
    const summary = [...this.summaryHead];
    const positions = this.xs.length
      ? this.xs.map((x) => (x ? { ra_deg: x.ra_deg, dec_deg: x.dec_deg } : null))
      : sources.map((s) => (s.ra_deg === null ? null : { ra_deg: s.ra_deg, dec_deg: s.dec_deg! }));
    if (catalogs.length === 0) return { matches: [], summary, pairs: [], positions };
    const matches: CounterpartMatchRow[] = [];
    for (const rows of this.rows) for (const r of rows) if (r) for (const m of r) matches.push(m);
    const placed = this.xs.filter((x): x is XrayPosition => x !== null);
    catalogs.forEach((c, ci) => {
      const n = this.counts[ci]!;
      if (n.reached === 0) {
        const centre = (ra: readonly number[], dec: readonly number[]) =>
          ra.length ? `${medianRaDeg(ra).toFixed(4)} ${median(dec).toFixed(4)}` : 'none';
        throw new InputError(
          { file: c.file, column: 'ra, dec', value: centre(n.ra, n.dec) },
          `no source within ${opts.density_radius_arcsec}" of any of the ${placed.length} X-ray sources of ${file} (centred at ${centre(
            placed.map((r) => r.ra_deg),
            placed.map((r) => r.dec_deg),
          )}): the tables do not overlap on the sky`,
        );
      }
      // summed in the field's order of sources, as one zone would
      let pAnySum = 0;
      this.xs.forEach((x, si) => {
        if (x) pAnySum += this.pAny[ci]![si]!;
      });
      let shifted = 0;
      for (const p of this.trialPAny[ci]!) shifted += p;
      const trials = this.trialPAny[ci]!.length;
      const rate = trials ? n.hits / trials : 0;
      const metric = (name: string, value: number | null) => summary.push({ catalog: c.name, metric: name, value });
      metric('catalog_sources', n.catalogRows);
      metric('xray_sources', placed.length);
      metric('with_candidate', n.withCandidate);
      metric('method_secure', n.secure);
      metric('method_ambiguous', n.ambiguous);
      metric('counterparts_used', n.chosen);
      metric('mean_p_any', placed.length ? pAnySum / placed.length : null);
      metric('shift_trials', trials);
      metric('false_match_rate', trials ? rate : null);
      metric('expected_false_matches', trials ? rate * placed.length : null);
      metric('shifted_mean_p_any', trials ? shifted / trials : null);
    });
    const pairs = this.pairs.flatMap((p) => p ?? []);
    if (catalogs.length >= 2)
      summary.push({
        catalog: 'all',
        metric: 'joint_sets_resolved',
        value: new Set(pairs.filter((p) => !p.kept).map((p) => p.id)).size,
      });
    return { matches, summary, pairs, positions };
  }
}

/**
 * One counterpart set per source across catalogs (lib/sky/counterparts.ts
 * jointCounterparts): where the per-catalog choices of a source disagree with each other
 * (two objects), the choices are replaced by the joint set, with the reason said. Returns
 * every member pair, kept or rejected, through `pair`.
 */
function jointSets(
  sources: readonly XraySourceRow[],
  catalogs: readonly LoadedCatalog[],
  xs: readonly (XrayPosition | null)[],
  found: readonly (readonly (SourceMatch | null)[])[],
  choices: Choice[][],
  opts: CounterpartSettings,
  pair: (source: number, row: CounterpartPairRow) => void,
): void {
  xs.forEach((x, si) => {
    if (!x || choices.filter((c) => c[si]!.index !== null).length < 2) return;
    const inputs: JointCatalog[] = catalogs.map((c, ci) => {
      const m = found[ci]![si]!;
      const chosenIndex = choices[ci]![si]!.index;
      return {
        candidates: m.candidates.map((k) => {
          const r = c.rows[k.index]!;
          const [east, north] = positionOffset(x, r);
          return {
            east_arcsec: east,
            north_arcsec: north,
            sigma_arcsec: r.sigma_arcsec,
            eligible: opts.rule === 'bayes' || k.quality !== 'outside',
          };
        }),
        chosen: chosenIndex === null ? null : m.candidates.findIndex((k) => k.index === chosenIndex),
        density_arcsec2: m.density_arcsec2,
      };
    });
    const joint = jointCounterparts(
      { sigma_1_arcsec: x.sigma_eff_arcsec / R95_PER_SIGMA },
      inputs,
      opts.prior_completeness,
      opts.member_sigma_floor_arcsec,
    );
    const idOf = (ci: number, k: number) => catalogs[ci]!.rows[found[ci]![si]!.candidates[k]!.index]!.id;
    const row = (p: MemberPair, set: readonly (number | null)[], kept: boolean): CounterpartPairRow => ({
      id: sources[si]!.id,
      catalog_a: catalogs[p.a]!.name,
      candidate_a: idOf(p.a, set[p.a]!),
      catalog_b: catalogs[p.b]!.name,
      candidate_b: idOf(p.b, set[p.b]!),
      sep_arcsec: p.sep_arcsec,
      sigma_arcsec: p.sigma_arcsec,
      agree: p.agree,
      kept,
    });
    const before = inputs.map((c) => c.chosen);
    for (const p of joint.rejected) pair(si, row(p, before, false));
    for (const p of joint.pairs) pair(si, row(p, joint.chosen, true));
    if (joint.rejected.length === 0) return;
    const why = joint.rejected
      .map(
        (p) =>
          `${catalogs[p.a]!.name} and ${catalogs[p.b]!.name} choices ${p.sep_arcsec.toFixed(2)}" apart (${(p.sep_arcsec / p.sigma_arcsec).toFixed(1)} sigma): two objects`,
      )
      .join('; ');
    catalogs.forEach((c, ci) => {
      const k = joint.chosen[ci]!;
      const m = found[ci]![si]!;
      if (k === before[ci]) return;
      const cand = k === null ? null : m.candidates[k]!;
      choices[ci]![si] = cand
        ? {
            index: cand.index,
            reason: `${c.name}: joint set, nu ${cand.nu.toFixed(2)} (${why})`,
            quality: cand.quality === 'outside' ? 'bayes' : cand.quality,
            nu: cand.nu,
          }
        : { index: null, reason: `${c.name}: left out of the joint set (${why})`, quality: 'none', nu: null };
    });
  });
}
