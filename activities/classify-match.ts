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
  FieldFacts,
  ZoneCatalogCounts,
  ZoneMatchPRow,
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

/** The field's facts from its sources, read whole. */
export function fieldFacts(sources: readonly XraySourceRow[]): FieldFacts {
  let max = 0;
  let positioned = 0;
  for (const s of sources)
    if (s.ra_deg !== null && s.dec_deg !== null) {
      positioned++;
      max = Math.max(max, s.sigma_eff_arcsec ?? 0);
    }
  return { max_sigma_eff_arcsec: max, positioned };
}

/** How far from a zone's sources its catalog rows must reach (arcsec): every candidate, density circle and shifted trial of the field's largest error. */
export function fieldReachArcsec(facts: FieldFacts, opts: CounterpartSettings): number {
  return catalogReachArcsec(facts.max_sigma_eff_arcsec, opts, opts.shift_radii);
}

/** A source's p_any in a catalog (`trial` -1) and at each shifted position of the false-match rate (0, 1, ...). */
export type MatchP = ZoneMatchPRow;

/** One zone's counterparts: per catalog and zone source the choice (indexing the zone's catalog rows), and its rows of the field's tables. */
export interface ZoneMatch {
  /** choices[c][k]: catalog c, the zone's k-th source (after the joint set across catalogs) */
  choices: Choice[][];
  /** the zone's X-ray positions after the frame tie (the input positions when none was applied) */
  positions: ({ ra_deg: number; dec_deg: number } | null)[];
  matches: CounterpartMatchRow[];
  pairs: CounterpartPairRow[];
  p: readonly MatchP[];
  counts: ZoneCatalogCounts[];
  /** the frame tie's rows of the match summary (a field matched as one zone) */
  frameTie: MatchSummaryRow[];
}

/**
 * One zone's X-ray sources (in the field's order) against the rows of every photometry
 * catalog within the counterpart search's reach of it: all candidates within the search
 * radius kept with their nu, grade and posterior; the counterpart used chosen by the
 * configured rule; the false-match rate's shifted trials for the sources on every
 * stride-th line of the table. With `frame_tie` (a field matched as one zone: `whole`),
 * the median offset of secure matches (all catalogs pooled) is applied to the X-ray
 * positions first, when enough of them agree. The search index's radius and the stride
 * are the field's (`facts`), so any cut into zones gives every source the same match;
 * `matchSummary` sums the zones in the field's order.
 */
export function matchZone(
  sources: readonly XraySourceRow[],
  catalogs: readonly LoadedCatalog[],
  owned: readonly number[],
  opts: CounterpartSettings,
  facts: FieldFacts,
  file: string,
  whole: boolean,
): ZoneMatch {
  const frameTieRows: MatchSummaryRow[] = [];
  const counts: ZoneCatalogCounts[] = [];
  const noMatch = (xs: readonly ({ ra_deg: number; dec_deg: number } | null)[]): ZoneMatch => ({
    choices: [],
    positions: xs.map((x) => (x ? { ra_deg: x.ra_deg, dec_deg: x.dec_deg } : null)),
    matches: [],
    pairs: [],
    p: [],
    counts,
    frameTie: frameTieRows,
  });
  if (catalogs.length === 0)
    return noMatch(sources.map((s) => (s.ra_deg === null ? null : { ra_deg: s.ra_deg, dec_deg: s.dec_deg! })));
  let xs = positionsOf(sources, file);
  if (whole && xs.every((x) => x === null))
    throw new InputError(
      { file, column: 'ra, dec' },
      'photometry catalogs were given but the X-ray table maps no positions',
    );
  const maxR = Math.max(opts.radius_sigmas * facts.max_sigma_eff_arcsec, opts.min_radius_arcsec);
  const stride = falseMatchStride(facts.positioned, opts.shift_radii, opts.shift_max_trials);
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
    if (!whole)
      throw new Error('classify: the frame tie is one median over the whole field; it is matched as one zone');
    const pairs = catalogs.flatMap((c, ci) =>
      xs.flatMap((x) => {
        const m = x ? matchers[ci]!.match(x).method : null;
        return x && m && m.quality === 'secure' ? [{ xray: x, counterpart: c.rows[m.index]! }] : [];
      }),
    );
    const applied = pairs.length >= opts.frame_tie_min_matches;
    const tie = pairs.length > 0 ? frameTie(pairs) : { east_arcsec: 0, north_arcsec: 0, n: 0 };
    frameTieRows.push(
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
  const pairs: CounterpartPairRow[] = [];
  if (catalogs.length >= 2) jointSets(sources, catalogs, xs, found, choices, opts, (_k, row) => pairs.push(row));
  const matches: CounterpartMatchRow[] = [];
  const p: MatchP[] = [];
  catalogs.forEach((c, ci) => {
    const n: ZoneCatalogCounts = {
      reached: 0,
      with_candidate: 0,
      method_secure: 0,
      method_ambiguous: 0,
      counterparts_used: 0,
      shift_hits: 0,
      catalog_rows: owned[ci]!,
      centre: '',
    };
    counts.push(n);
    xs.forEach((x, k) => {
      const m = found[ci]![k];
      if (!x || !m) return;
      const s = sources[k]!;
      if (m.neighbours > 0) n.reached++;
      const choice = choices[ci]![k]!;
      if (m.candidates.length > 0) n.with_candidate++;
      if (m.method?.quality === 'secure') n.method_secure++;
      if (m.method?.quality === 'ambiguous') n.method_ambiguous++;
      if (choice.index !== null) n.counterparts_used++;
      p.push({ line: s.line, catalog: c.name, trial: -1, p_any: m.p_any });
      for (const cand of m.candidates) {
        const r = c.rows[cand.index]!;
        matches.push({
          id: s.id,
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
        });
      }
      // the false-match rate's trials: the sources on every stride-th line of the table
      if (s.line % stride === 0) {
        let trial = 0;
        shiftedTrials(matchers[ci]!, x, opts.shift_radii, (hit, pAny) => {
          if (hit) n.shift_hits++;
          p.push({ line: s.line, catalog: c.name, trial: trial++, p_any: pAny });
        });
      }
    });
    // the catalog's centre, for the message when no source of the field reaches it
    if (n.reached === 0)
      n.centre = c.rows.length
        ? `${medianRaDeg(c.rows.map((r) => r.ra_deg)).toFixed(4)} ${median(c.rows.map((r) => r.dec_deg)).toFixed(4)}`
        : 'none';
  });
  return { ...noMatch(xs), choices, matches, pairs, p };
}

/**
 * The field's match summary from its zones (`matchZone`): per catalog its size, the
 * sources with a candidate, the method's grades, the counterparts used, the mean p_any and
 * the false-match rate, every sum taken in the field's order of sources (by line) so that
 * any cut into zones gives the same bits. Refuses a catalog that no source reaches.
 */
export function matchSummary(
  zones: readonly Pick<ZoneMatch, 'p' | 'counts' | 'frameTie'>[],
  catalogs: readonly { name: string; file: string }[],
  opts: CounterpartSettings,
  facts: FieldFacts,
  placedCentre: string,
  file: string,
  /** the sources whose joint counterpart set set a member aside */
  jointSetsResolved: number,
): MatchSummaryRow[] {
  const summary: MatchSummaryRow[] = zones.flatMap((z) => z.frameTie);
  if (catalogs.length === 0) return summary;
  catalogs.forEach((c, ci) => {
    const sum = (key: Exclude<keyof ZoneCatalogCounts, 'centre'>) =>
      zones.reduce((a, z) => a + (z.counts[ci]?.[key] ?? 0), 0);
    if (sum('reached') === 0)
      throw new InputError(
        { file: c.file, column: 'ra, dec', value: zones[0]?.counts[ci]?.centre ?? 'none' },
        `no source within ${opts.density_radius_arcsec}" of any of the ${facts.positioned} X-ray sources of ${file} (centred at ${placedCentre}): the tables do not overlap on the sky`,
      );
    const rows = zones
      .flatMap((z) => z.p.filter((r) => r.catalog === c.name))
      .sort((a, b) => a.line - b.line || a.trial - b.trial);
    let pAnySum = 0;
    let shifted = 0;
    let trials = 0;
    for (const r of rows)
      if (r.trial < 0) pAnySum += r.p_any;
      else {
        shifted += r.p_any;
        trials++;
      }
    const placed = facts.positioned;
    const rate = trials ? sum('shift_hits') / trials : 0;
    const metric = (name: string, value: number | null) => summary.push({ catalog: c.name, metric: name, value });
    metric('catalog_sources', sum('catalog_rows'));
    metric('xray_sources', placed);
    metric('with_candidate', sum('with_candidate'));
    metric('method_secure', sum('method_secure'));
    metric('method_ambiguous', sum('method_ambiguous'));
    metric('counterparts_used', sum('counterparts_used'));
    metric('mean_p_any', placed ? pAnySum / placed : null);
    metric('shift_trials', trials);
    metric('false_match_rate', trials ? rate : null);
    metric('expected_false_matches', trials ? rate * placed : null);
    metric('shifted_mean_p_any', trials ? shifted / trials : null);
  });
  if (catalogs.length >= 2) summary.push({ catalog: 'all', metric: 'joint_sets_resolved', value: jointSetsResolved });
  return summary;
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
