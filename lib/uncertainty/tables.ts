import { calibration, confusionMatrix } from '../metrics/classification.js';
import { pooledAllKey, summariseConfusion } from '../metrics/summary.js';
import { calibrateMondrian, coverageByClass, nestedConformalSets, setLabel } from './conformal.js';
import { oodThreshold } from './neighbours.js';
import { applyClassBiases, classMixWithInterval, emClassMix, fitClassBiases } from './class-mix.js';
import { uncertainVerdict } from './rule.js';
import { quantile } from '../stats.js';
import { Rng } from '../rng.js';
import type {
  CalibrationRow,
  ClassMixRow,
  ConformalRow,
  ConformalThresholdRow,
  EvaluateParams,
  MetricRow,
  OodRow,
  SourceUncertaintyRow,
} from '../../schemas/evaluation.js';

/**
 * Class mixes the EM estimate is measured on (out-of-fold sources resampled to each):
 * every class alike, and a field rich in X-ray binaries as behind a nearby galaxy. The
 * shares are renormalised over the classes present.
 */
const MIX_SCENARIOS: Record<string, Record<string, number> | 'uniform'> = {
  uniform: 'uniform',
  xrb_rich: { AGN: 0.3, STAR: 0.2, LMXB: 0.2, HMXB: 0.15, CV: 0.15 },
};
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** Sources per resampled population. */
const MIX_SAMPLE = 1000;

/**
 * The two-stage decision read back from a final vector: the Stage-1 group with the
 * largest summed probability (groups in sorted order, the first of a tie, as the model
 * decides), then the class of that group with the largest probability.
 */
function decisionOfVector(vec: readonly number[], classes: readonly string[], groupOf: (c: string) => string): string {
  const groups = [...new Set(classes.map(groupOf))].sort();
  const sums = groups.map((g) => classes.reduce((s, c, k) => (groupOf(c) === g ? s + vec[k]! : s), 0));
  let g = 0;
  for (let j = 1; j < groups.length; j++) if (sums[j]! > sums[g]!) g = j;
  let best = -1;
  classes.forEach((c, k) => {
    if (groupOf(c) === groups[g] && (best < 0 || vec[k]! > vec[best]!)) best = k;
  });
  return classes[best]!;
}

export interface Scored {
  id: string;
  fold: number | null;
  truth: string;
  predicted: string;
  truthGroup: string;
  predictedGroup: string;
  confident: boolean;
  maxP: number;
  argmaxCorrect: boolean;
  /** the final vector: the Monte-Carlo mean when the prediction had draws */
  proba: number[];
  /** Monte-Carlo only: the single-value final vector, and the 16% and 84% points of the top class's probability */
  single: number[] | null;
  maxLo: number | null;
  maxHi: number | null;
  confidence: number;
  oodScore: number | null;
  significance: number | null;
}

/**
 * What `evaluate` says of a protocol's honesty on new sources: the Monte-Carlo mean
 * against the single-value prediction, nested conformal coverage and set sizes, the OOD
 * flag calibrated on held-out folds and accuracy against its score, the uncertain
 * rule's verdict per source, and the EM class-mix estimate on resampled populations.
 */
export function uncertaintyTables(
  protocol: string,
  scored: readonly Scored[],
  finalClasses: readonly string[],
  p: EvaluateParams,
  headline: boolean,
) {
  const u = p.uncertainty;
  const metrics: MetricRow[] = [];
  const calibrationRows: CalibrationRow[] = [];
  const conformal: ConformalRow[] = [];
  const thresholds: ConformalThresholdRow[] = [];
  const ood: OodRow[] = [];
  const classMix: ClassMixRow[] = [];
  const sources: SourceUncertaintyRow[] = [];
  const base = pooledAllKey(protocol);
  const n = scored.length;
  if (n === 0) return { metrics, calibration: calibrationRows, conformal, thresholds, ood, classMix, sources };
  const K = finalClasses.length;
  const truth = scored.map((s) => s.truth);
  const correct = scored.map((s) => s.truth === s.predicted);
  const asEval = (c: string) => p.eval_classes[c] ?? c;
  const groupOf = (c: string) => p.stage1_groups[c] ?? c;

  // 1. the single-value prediction beside the Monte-Carlo mean
  if (scored.every((s) => s.single !== null)) {
    const predicted = scored.map((s) => asEval(decisionOfVector(s.single!, finalClasses, groupOf)));
    for (const m of summariseConfusion(confusionMatrix(truth, predicted)))
      if (m.class === null && ['accuracy', 'balanced_accuracy', 'macro_f1'].includes(m.metric))
        metrics.push({ ...base, metric: `${m.metric}_single_value`, value: m.value, n: m.n });
    const maxOf = (v: readonly number[]) => v.reduce((a, b, k) => (b > v[a]! ? k : a), 0);
    const cal = calibration(
      scored.map((s) => s.single![maxOf(s.single!)]!),
      scored.map((s) => finalClasses[maxOf(s.single!)] === s.truth),
      p.calibration_bins,
    );
    metrics.push({ ...base, metric: 'ece_single_value', value: cal.ece, n });
    for (const b of cal.bins)
      calibrationRows.push({
        protocol,
        kind: 'reliability_single',
        bin_lo: b.lo,
        bin_hi: b.hi,
        count: b.count,
        mean_confidence: b.confidence,
        accuracy: b.accuracy,
        mean_confidence_lo: null,
        mean_confidence_hi: null,
      });
  }

  // 2. conformal sets, nested over the folds (a single held-out part has nothing to calibrate on)
  const folds = scored.map((s) => s.fold ?? -1);
  const kfold = new Set(folds).size >= 2;
  const proba = Float64Array.from(scored.flatMap((s) => s.proba));
  let ruleSets: string[][] | null = null;
  if (kfold) {
    for (const level of u.conformal.levels) {
      const sets = nestedConformalSets(proba, finalClasses, truth, folds, level);
      if (level === u.conformal.level) ruleSets = sets;
      const per = coverageByClass(sets, truth);
      const single = sets.filter((s) => s.length === 1);
      const singleCorrect = sets.filter((s, i) => s.length === 1 && s[0] === truth[i]).length;
      conformal.push({
        protocol,
        level,
        class: null,
        n,
        coverage: sets.filter((s, i) => s.includes(truth[i]!)).length / n,
        mean_set_size: sets.reduce((a, s) => a + s.length, 0) / n,
        single_share: single.length / n,
        single_accuracy: single.length > 0 ? singleCorrect / single.length : null,
      });
      for (const r of per)
        conformal.push({
          protocol,
          level,
          class: r.class,
          n: r.n,
          coverage: r.coverage,
          mean_set_size: r.mean_set_size,
          single_share: r.single / r.n,
          single_accuracy: r.single > 0 ? r.single_correct / r.single : null,
        });
      for (const t of calibrateMondrian(proba, finalClasses, truth, level))
        thresholds.push({
          protocol,
          level,
          class: t.class,
          n: t.n,
          threshold: Number.isFinite(t.threshold) ? t.threshold : null,
        });
    }
  }

  // 3. the OOD flag: each fold's threshold from the other folds' scores; accuracy against the score
  const scores = scored.map((s) => s.oodScore);
  let flags: (boolean | null)[] = scored.map(() => null);
  let pooledThreshold: number | null = null;
  const known = scores.filter((v): v is number => v !== null);
  if (known.length === n && kfold) {
    pooledThreshold = oodThreshold(known, u.ood_flag_rate);
    const byFold = new Map<number, number>();
    for (const f of new Set(folds))
      byFold.set(
        f,
        oodThreshold(
          known.filter((_, i) => folds[i] !== f),
          u.ood_flag_rate,
        ),
      );
    flags = known.map((v, i) => v > byFold.get(folds[i]!)!);
    const flagged = flags.filter(Boolean).length;
    const acc = (pick: (i: number) => boolean) => {
      const idx = correct.flatMap((c, i) => (pick(i) ? [c] : []));
      return { value: idx.length > 0 ? idx.filter(Boolean).length / idx.length : null, n: idx.length };
    };
    metrics.push({ ...base, metric: 'ood_threshold', value: pooledThreshold, n });
    metrics.push({ ...base, metric: 'ood_flag_rate', value: flagged / n, n });
    metrics.push({ ...base, metric: 'accuracy_ood_flagged', ...acc((i) => flags[i] === true) });
    metrics.push({ ...base, metric: 'accuracy_ood_unflagged', ...acc((i) => flags[i] === false) });
    // deciles of the score: how accuracy falls as it rises
    const edges = Array.from({ length: 11 }, (_, q) => quantile(known, q / 10));
    // each source in the first bin whose upper edge is above its score (the last bin is closed)
    const binOf = known.map((v) => {
      let b = 0;
      while (b < 9 && v >= edges[b + 1]!) b++;
      return b;
    });
    for (let b = 0; b < 10; b++) {
      const lo = edges[b]!;
      const hi = edges[b + 1]!;
      const inBin = binOf.flatMap((x, i) => (x === b ? [i] : []));
      ood.push({
        protocol,
        bin_lo: lo,
        bin_hi: hi,
        n: inBin.length,
        accuracy: inBin.length > 0 ? inBin.filter((i) => correct[i]).length / inBin.length : null,
        flagged: inBin.filter((i) => flags[i]).length,
      });
    }
  }

  // 4. the uncertain rule, per source
  let nUncertain = 0;
  let correctCertain = 0;
  scored.forEach((s, i) => {
    const set = ruleSets ? ruleSets[i]! : null;
    const verdict = uncertainVerdict(u.rule, {
      predicted: s.predicted,
      set,
      ood: flags[i]!,
      ood_score: s.oodScore,
      ood_threshold: pooledThreshold,
      significance: s.significance,
      confidence: s.confidence,
    });
    if (verdict.uncertain) nUncertain++;
    else if (correct[i]) correctCertain++;
    sources.push({
      protocol,
      id: s.id,
      fold: s.fold,
      truth: s.truth,
      predicted: s.predicted,
      confidence: Math.min(1, Math.max(0, s.confidence)),
      class_set: set ? setLabel(set) : null,
      set_size: set ? set.length : null,
      ood_score: s.oodScore,
      ood: flags[i]!,
      significance: s.significance,
      uncertain: verdict.uncertain,
      uncertain_reason: verdict.reason,
    });
  });
  metrics.push({ ...base, metric: 'uncertain_share', value: nUncertain / n, n });
  metrics.push({
    ...base,
    metric: 'accuracy_certain',
    value: n - nUncertain > 0 ? correctCertain / (n - nUncertain) : null,
    n: n - nUncertain,
  });

  // 5. the EM class mix on out-of-fold sources resampled to other mixes, on posteriors
  // bias-corrected per class (each fold's biases fitted on the other folds): for the headline
  // protocol of the baseline, whose corrections classify applies (the bootstrap is most of evaluate's time)
  const mixSettings = u.class_mix;
  if (!headline || mixSettings === null)
    return { metrics, calibration: calibrationRows, conformal, thresholds, ood, classMix, sources };
  const present = finalClasses.filter((c) => truth.includes(c));
  const trainPriors = finalClasses.map((c) => truth.filter((t) => t === c).length / n);
  const truthIndex = truth.map((t) => finalClasses.indexOf(t));
  const corrected = new Float64Array(n * K);
  if (truthIndex.every((k) => k >= 0)) {
    for (const f of new Set(folds)) {
      const cal = kfold ? folds.flatMap((g, i) => (g === f ? [] : [i])) : folds.map((_, i) => i);
      const b = fitClassBiases(
        Float64Array.from(cal.flatMap((i) => scored[i]!.proba)),
        K,
        cal.map((i) => truthIndex[i]!),
      );
      const mine = folds.flatMap((g, i) => (g === f ? [i] : []));
      const q = applyClassBiases(Float64Array.from(mine.flatMap((i) => scored[i]!.proba)), K, b);
      mine.forEach((i, r) => corrected.set(q.subarray(r * K, (r + 1) * K), i * K));
    }
    // what classify applies to a field: biases from every out-of-fold prediction, and the training mix
    const pooledBiases = fitClassBiases(proba, K, truthIndex);
    finalClasses.forEach((c, k) => {
      if (trainPriors[k] === 0) return;
      metrics.push({ ...base, class: c, metric: 'class_bias', value: pooledBiases[k]!, n });
      metrics.push({ ...base, class: c, metric: 'training_share', value: trainPriors[k]!, n });
    });
  }
  const rng = new Rng(mixSettings.seed);
  for (const [scenario, spec] of Object.entries(MIX_SCENARIOS)) {
    if (!truthIndex.every((k) => k >= 0)) break;
    const shares = present.map((c) => (spec === 'uniform' ? 1 : (spec[c] ?? 0)));
    const total = shares.reduce((a, b) => a + b, 0);
    const pick: number[] = [];
    present.forEach((c, j) => {
      const members = truth.flatMap((t, i) => (t === c ? [i] : []));
      const want = Math.round((shares[j]! / total) * MIX_SAMPLE);
      for (let r = 0; r < want; r++) pick.push(members[rng.nextInt(members.length)]!);
    });
    const sample = new Float64Array(pick.length * K);
    const raw = new Float64Array(pick.length * K);
    pick.forEach((i, r) => {
      sample.set(corrected.subarray(i * K, (i + 1) * K), r * K);
      raw.set(scored[i]!.proba, r * K);
    });
    const { estimate, lo, hi } = classMixWithInterval(sample, trainPriors, {
      replicates: mixSettings.bootstrap,
      seed: mixSettings.seed + 1,
    });
    const uncorrected = emClassMix(raw, trainPriors);
    finalClasses.forEach((c, k) => {
      if (trainPriors[k] === 0) return;
      classMix.push({
        protocol,
        scenario,
        class: c,
        n: pick.length,
        true_share: pick.filter((i) => truth[i] === c).length / pick.length,
        raw_share: pick.filter((i) => scored[i]!.predicted === c).length / pick.length,
        em_share: clamp01(estimate.priors[k]!),
        em_lo: clamp01(lo[k]!),
        em_hi: clamp01(hi[k]!),
        em_uncorrected_share: clamp01(uncorrected.priors[k]!),
      });
    });
  }
  return { metrics, calibration: calibrationRows, conformal, thresholds, ood, classMix, sources };
}
