/**
 * Class-conditional (Mondrian) split-conformal prediction sets (Vovk, Gammerman & Shafer
 * 2005, ch. 4; Sadinle, Lei & Wasserman 2019, "least ambiguous set-valued classifiers").
 *
 * The nonconformity score of a source for class c is 1 - p_c. For each class the scores
 * of the calibration sources whose true class is c are sorted; the class's threshold is
 * the k-th smallest with k = ceil((n_c + 1) * level). A new source's set holds every class
 * whose score is at most its threshold, so that for every true class the set contains it
 * with probability >= level (exchangeability within the class, the Mondrian guarantee).
 *
 * Edge cases, stated because they decide what a user sees:
 * - a class with 1 <= n_c < ceil(1 / (1 - level)) - 1 calibration sources cannot reach the
 *   level: k > n_c, its threshold is +Infinity and it is in every set (honest: nothing
 *   can be ruled out with so few examples);
 * - a class with no calibration source is in no set: the model never saw it (SNR in the
 *   bundled data), so no statement about it is possible;
 * - ties: a score equal to the threshold is inside (<=), which keeps coverage >= level.
 */

/** One class's threshold: +Infinity when too few calibration sources (always in the set). */
export interface ClassThreshold {
  class: string;
  n: number;
  threshold: number;
}

/** The conformal quantile of one class's calibration scores at `level` (see above). */
export function conformalQuantile(scores: readonly number[], level: number): number {
  if (!(level > 0 && level < 1)) throw new Error(`conformal level must be in (0, 1), got ${level}`);
  const n = scores.length;
  if (n === 0) throw new Error('conformal quantile of no scores');
  const k = Math.ceil((n + 1) * level);
  if (k > n) return Infinity;
  const sorted = [...scores].sort((a, b) => a - b);
  return sorted[k - 1]!;
}

/**
 * Thresholds per class from calibration probabilities (row-major, K = classes.length per
 * row) and the true class of each row. Rows whose true class is not among `classes` are
 * ignored; classes with no row get no threshold (never in a set).
 */
export function calibrateMondrian(
  proba: ArrayLike<number>,
  classes: readonly string[],
  truth: readonly string[],
  level: number,
): ClassThreshold[] {
  const K = classes.length;
  if (proba.length !== truth.length * K)
    throw new Error(`conformal: ${proba.length} probabilities for ${truth.length} rows of ${K} classes`);
  const scores = classes.map(() => [] as number[]);
  truth.forEach((t, i) => {
    const k = classes.indexOf(t);
    if (k >= 0) scores[k]!.push(1 - proba[i * K + k]!);
  });
  return classes.flatMap((c, k) =>
    scores[k]!.length === 0
      ? []
      : [{ class: c, n: scores[k]!.length, threshold: conformalQuantile(scores[k]!, level) }],
  );
}

/** The set of one probability vector (over `classes`): classes with a threshold and 1 - p <= threshold, in `classes` order. */
export function predictionSet(
  p: ArrayLike<number>,
  classes: readonly string[],
  thresholds: readonly ClassThreshold[],
): string[] {
  const byClass = new Map(thresholds.map((t) => [t.class, t.threshold]));
  const out: string[] = [];
  classes.forEach((c, k) => {
    const q = byClass.get(c);
    // the small tolerance keeps a tie from being lost to the rounding of 1 - p
    if (q !== undefined && 1 - p[k]! <= q + 1e-12) out.push(c);
  });
  return out;
}

/** Per true class: how often the set held it (coverage) and the mean set size, over rows of that class. */
export function coverageByClass(
  sets: readonly (readonly string[])[],
  truth: readonly string[],
): { class: string; n: number; coverage: number; mean_set_size: number; single: number; single_correct: number }[] {
  const by = new Map<string, { n: number; covered: number; size: number; single: number; singleCorrect: number }>();
  truth.forEach((t, i) => {
    const s = sets[i]!;
    const r = by.get(t) ?? { n: 0, covered: 0, size: 0, single: 0, singleCorrect: 0 };
    r.n++;
    if (s.includes(t)) r.covered++;
    r.size += s.length;
    if (s.length === 1) {
      r.single++;
      if (s[0] === t) r.singleCorrect++;
    }
    by.set(t, r);
  });
  return [...by.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([c, r]) => ({
      class: c,
      n: r.n,
      coverage: r.covered / r.n,
      mean_set_size: r.size / r.n,
      single: r.single,
      single_correct: r.singleCorrect,
    }));
}

/** A set as text, `{LMXB,CV}`; the empty set is `{}`. */
export function setLabel(set: readonly string[]): string {
  return `{${set.join(',')}}`;
}

/**
 * Nested split-conformal sets over cross-validation folds: each fold's sources get sets
 * from thresholds calibrated on the other folds' out-of-fold predictions only, so no
 * source calibrates its own set (the honest estimate of coverage on new sources).
 */
export function nestedConformalSets(
  proba: ArrayLike<number>,
  classes: readonly string[],
  truth: readonly string[],
  folds: readonly number[],
  level: number,
): string[][] {
  const K = classes.length;
  const sets: string[][] = truth.map(() => []);
  for (const f of new Set(folds)) {
    const cal = folds.flatMap((g, i) => (g === f ? [] : [i]));
    const calProba = new Float64Array(cal.length * K);
    cal.forEach((i, r) => {
      for (let k = 0; k < K; k++) calProba[r * K + k] = proba[i * K + k]!;
    });
    const t = calibrateMondrian(
      calProba,
      classes,
      cal.map((i) => truth[i]!),
      level,
    );
    folds.forEach((g, i) => {
      if (g === f)
        sets[i] = predictionSet(Array.prototype.slice.call(proba, i * K, (i + 1) * K) as number[], classes, t);
    });
  }
  return sets;
}
