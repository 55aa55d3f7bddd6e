import { InputError } from '../lib/errors.js';
import { medianRaDeg } from '../lib/sky/coords.js';
import { median } from '../lib/stats.js';
import { CounterpartMatcher, falseMatchRate, frameTie, offsetPosition, type SourceMatch, type XrayPosition } from '../lib/sky/counterparts.js';
import type { CounterpartSettings, MatchRow, MatchSummaryRow } from '../schemas/catalog.js';
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
  matches: MatchRow[];
  summary: MatchSummaryRow[];
  /** choices[c][s]: catalog c, source s */
  choices: Choice[][];
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
  if (m.candidates.length === 0) return { index: null, reason: `${catalog}: no candidate within ${R}`, quality: 'none', nu: null };
  if (opts.rule === 'method') {
    const k = m.method;
    if (!k) return { index: null, reason: `${catalog}: no candidate with nu <= 3 within ${R}`, quality: 'none', nu: null };
    return {
      index: k.index,
      reason: `${catalog}: nearest within ${R} (nu ${k.nu.toFixed(2)}, ${k.quality}${m.candidates.length > 1 ? `, ${m.candidates.length - 1} other` : ''})`,
      quality: k.quality,
      nu: k.nu,
    };
  }
  const k = m.bayes!;
  if (m.p_any < opts.p_any_min) return { index: null, reason: `${catalog}: p_any ${m.p_any.toFixed(3)} < ${opts.p_any_min}`, quality: 'none', nu: null };
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
export function matchCounterparts(sources: readonly XraySourceRow[], catalogs: readonly LoadedCatalog[], opts: CounterpartSettings, file: string): MatchResult {
  const summary: MatchSummaryRow[] = [];
  if (catalogs.length === 0)
    return { matches: [], summary, choices: [], positions: sources.map((s) => (s.ra_deg === null ? null : { ra_deg: s.ra_deg, dec_deg: s.dec_deg! })) };
  let xs = positionsOf(sources, file);
  if (xs.every((x) => x === null)) throw new InputError({ file, column: 'ra, dec' }, 'photometry catalogs were given but the X-ray table maps no positions');
  // a loop, not Math.max(...xs): a spread of 10^5 arguments overflows the stack
  const maxSigma = xs.reduce((m, x) => Math.max(m, x?.sigma_eff_arcsec ?? 0), 0);
  const maxR = Math.max(opts.radius_sigmas * maxSigma, opts.min_radius_arcsec);
  const matchers = catalogs.map(
    (c) =>
      new CounterpartMatcher(
        { ra_deg: c.rows.map((r) => r.ra_deg), dec_deg: c.rows.map((r) => r.dec_deg), sigma_arcsec: c.rows.map((r) => r.sigma_arcsec) },
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
    if (applied) xs = xs.map((x) => (x ? { ...x, ...offsetPosition(x.ra_deg, x.dec_deg, tie.east_arcsec, tie.north_arcsec) } : null));
  }
  const matches: MatchRow[] = [];
  const choices = catalogs.map((c, ci) => {
    const matcher = matchers[ci]!;
    let withCandidate = 0;
    let secure = 0;
    let ambiguous = 0;
    let chosenCount = 0;
    let pAnySum = 0;
    let reached = 0;
    const chosen = xs.map((x, si) => {
      if (!x) return { index: null, reason: `${c.name}: no X-ray position`, quality: 'none', nu: null } satisfies Choice;
      const m = matcher.match(x);
      if (m.neighbours > 0) reached++;
      const choice = choose(m, opts, c.name);
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
      return choice;
    });
    const placed = xs.filter((x): x is XrayPosition => x !== null);
    if (reached === 0) {
      const centre = (rows: readonly { ra_deg: number; dec_deg: number }[]) =>
        rows.length ? `${medianRaDeg(rows.map((r) => r.ra_deg)).toFixed(4)} ${median(rows.map((r) => r.dec_deg)).toFixed(4)}` : 'none';
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
    return chosen;
  });
  return { matches, summary, choices, positions: xs.map((x) => (x ? { ra_deg: x.ra_deg, dec_deg: x.dec_deg } : null)) };
}
