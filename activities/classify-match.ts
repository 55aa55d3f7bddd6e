import { InputError } from '../lib/errors.js';
import { medianRaDeg } from '../lib/sky/coords.js';
import { median } from '../lib/stats.js';
import {
  CounterpartMatcher,
  falseMatchRate,
  frameTie,
  jointCounterparts,
  offsetPosition,
  positionOffset,
  R95_PER_SIGMA,
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
  /** choices[c][s]: catalog c, source s (after the joint set across catalogs) */
  choices: Choice[][];
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

/**
 * Every X-ray source against every photometry catalog: all candidates within the search
 * radius kept with their nu, grade and posterior; the counterpart used chosen by the
 * configured rule; per catalog the false-match rate from shifted positions. With
 * `frame_tie`, the median offset of secure matches (all catalogs pooled) is applied to
 * the X-ray positions first, when enough of them agree.
 */
export function matchCounterparts(
  sources: readonly XraySourceRow[],
  catalogs: readonly LoadedCatalog[],
  opts: CounterpartSettings,
  file: string,
): MatchResult {
  const summary: MatchSummaryRow[] = [];
  if (catalogs.length === 0)
    return {
      matches: [],
      summary,
      choices: [],
      pairs: [],
      positions: sources.map((s) => (s.ra_deg === null ? null : { ra_deg: s.ra_deg, dec_deg: s.dec_deg! })),
    };
  let xs = positionsOf(sources, file);
  if (xs.every((x) => x === null))
    throw new InputError(
      { file, column: 'ra, dec' },
      'photometry catalogs were given but the X-ray table maps no positions',
    );
  // a loop, not Math.max(...xs): a spread of 10^5 arguments overflows the stack
  const maxSigma = xs.reduce((m, x) => Math.max(m, x?.sigma_eff_arcsec ?? 0), 0);
  const maxR = Math.max(opts.radius_sigmas * maxSigma, opts.min_radius_arcsec);
  const matchers = catalogs.map(
    (c) =>
      new CounterpartMatcher(
        {
          ra_deg: c.rows.map((r) => r.ra_deg),
          dec_deg: c.rows.map((r) => r.dec_deg),
          sigma_arcsec: c.rows.map((r) => r.sigma_arcsec),
        },
        opts,
        maxR,
      ),
  );
  if (opts.frame_tie) {
    const pairs = catalogs.flatMap((c, ci) =>
      xs.flatMap((x) => {
        const m = x ? matchers[ci]!.match(x).method : null;
        return x && m && m.quality === 'secure' ? [{ xray: x, counterpart: c.rows[m.index]! }] : [];
      }),
    );
    const applied = pairs.length >= opts.frame_tie_min_matches;
    const tie = pairs.length > 0 ? frameTie(pairs) : { east_arcsec: 0, north_arcsec: 0, n: 0 };
    summary.push(
      { catalog: 'all', metric: 'frame_tie_matches', value: tie.n },
      { catalog: 'all', metric: 'frame_tie_east_arcsec', value: tie.east_arcsec },
      { catalog: 'all', metric: 'frame_tie_north_arcsec', value: tie.north_arcsec },
      { catalog: 'all', metric: 'frame_tie_applied', value: applied ? 1 : 0 },
    );
    if (applied)
      xs = xs.map((x) =>
        x ? { ...x, ...offsetPosition(x.ra_deg, x.dec_deg, tie.east_arcsec, tie.north_arcsec) } : null,
      );
  }
  // each catalog on its own by the configured rule; then one counterpart set per source across catalogs
  const found = catalogs.map((_, ci) => xs.map((x) => (x ? matchers[ci]!.match(x) : null)));
  const choices = catalogs.map((c, ci) =>
    found[ci]!.map((m): Choice =>
      m ? choose(m, opts, c.name) : { index: null, reason: `${c.name}: no X-ray position`, quality: 'none', nu: null },
    ),
  );
  const pairs = catalogs.length >= 2 ? jointSets(sources, catalogs, xs, found, choices, opts) : [];
  const matches: CounterpartMatchRow[] = [];
  catalogs.forEach((c, ci) => {
    const matcher = matchers[ci]!;
    let withCandidate = 0;
    let secure = 0;
    let ambiguous = 0;
    let chosenCount = 0;
    let pAnySum = 0;
    let reached = 0;
    xs.forEach((x, si) => {
      const m = found[ci]![si];
      if (!x || !m) return;
      if (m.neighbours > 0) reached++;
      const choice = choices[ci]![si]!;
      if (m.candidates.length > 0) withCandidate++;
      if (m.method?.quality === 'secure') secure++;
      if (m.method?.quality === 'ambiguous') ambiguous++;
      if (choice.index !== null) chosenCount++;
      pAnySum += m.p_any;
      for (const k of m.candidates) {
        const r = c.rows[k.index]!;
        matches.push({
          id: sources[si]!.id,
          catalog: c.name,
          candidate: r.id,
          ra_deg: r.ra_deg,
          dec_deg: r.dec_deg,
          sep_arcsec: k.sep_arcsec,
          nu: k.nu,
          quality: k.quality,
          rank: k.rank,
          p_i: Math.min(1, k.p_i),
          p_any: Math.min(1, m.p_any),
          density_arcsec2: m.density_arcsec2,
          chosen: k.index === choice.index,
        });
      }
    });
    const placed = xs.filter((x): x is XrayPosition => x !== null);
    if (reached === 0) {
      const centre = (rows: readonly { ra_deg: number; dec_deg: number }[]) =>
        rows.length
          ? `${medianRaDeg(rows.map((r) => r.ra_deg)).toFixed(4)} ${median(rows.map((r) => r.dec_deg)).toFixed(4)}`
          : 'none';
      throw new InputError(
        { file: c.file, column: 'ra, dec', value: centre(c.rows) },
        `no source within ${opts.density_radius_arcsec}" of any of the ${placed.length} X-ray sources of ${file} (centred at ${centre(placed)}): the tables do not overlap on the sky`,
      );
    }
    const fm = falseMatchRate(matcher, placed, opts.shift_radii, opts.shift_max_trials);
    const metric = (name: string, value: number | null) => summary.push({ catalog: c.name, metric: name, value });
    metric('catalog_sources', c.rows.length);
    metric('xray_sources', placed.length);
    metric('with_candidate', withCandidate);
    metric('method_secure', secure);
    metric('method_ambiguous', ambiguous);
    metric('counterparts_used', chosenCount);
    metric('mean_p_any', placed.length ? pAnySum / placed.length : null);
    metric('shift_trials', fm.trials);
    metric('false_match_rate', fm.trials ? fm.method_rate : null);
    metric('expected_false_matches', fm.trials ? fm.method_rate * placed.length : null);
    metric('shifted_mean_p_any', fm.trials ? fm.mean_p_any : null);
  });
  if (catalogs.length >= 2)
    summary.push({
      catalog: 'all',
      metric: 'joint_sets_resolved',
      value: new Set(pairs.filter((p) => !p.kept).map((p) => p.id)).size,
    });
  return {
    matches,
    summary,
    choices,
    pairs,
    positions: xs.map((x) => (x ? { ra_deg: x.ra_deg, dec_deg: x.dec_deg } : null)),
  };
}

/**
 * One counterpart set per source across catalogs (lib/sky/counterparts.ts
 * jointCounterparts): where the per-catalog choices of a source disagree with each other
 * (two objects), the choices are replaced by the joint set, with the reason said. Returns
 * every member pair, kept or rejected.
 */
function jointSets(
  sources: readonly XraySourceRow[],
  catalogs: readonly LoadedCatalog[],
  xs: readonly (XrayPosition | null)[],
  found: readonly (readonly (SourceMatch | null)[])[],
  choices: Choice[][],
  opts: CounterpartSettings,
): CounterpartPairRow[] {
  const rows: CounterpartPairRow[] = [];
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
    for (const p of joint.rejected) rows.push(row(p, before, false));
    for (const p of joint.pairs) rows.push(row(p, joint.chosen, true));
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
  return rows;
}
