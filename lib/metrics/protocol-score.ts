import type { CalibrationRow, ConfusionRow, EvaluateParams, MetricRow } from '../../schemas/evaluation.js';
import { uncertaintyTables, type Scored } from '../uncertainty/tables.js';
import { brierScore, calibration, confusionMatrix } from './classification.js';
import { aggregateFolds, normalisedRows, pooledAllKey, summariseConfusion } from './summary.js';

/**
 * `evaluate`'s scoring of one protocol, free of I/O: over the scored out-of-fold
 * predictions, per level (full pipeline, Stage 1) and subset (all, confident) the pooled,
 * per-fold, mean and standard-deviation metrics and the confusion matrix; the calibration
 * of the top probability (ECE, MCE, Brier, the reliability bins with their Monte-Carlo
 * intervals, the confidence histograms of right and wrong answers); and the uncertainty
 * tables (lib/uncertainty/tables.ts).
 */
export function scoreProtocol(
  protocol: string,
  scored: readonly Scored[],
  finalClasses: readonly string[],
  p: EvaluateParams,
  headline: boolean,
) {
  const metrics: MetricRow[] = [];
  const confusion: ConfusionRow[] = [];
  const calRows: CalibrationRow[] = [];
  const folds = [...new Set(scored.map((s) => s.fold))].sort((a, b) => (a ?? -1) - (b ?? -1));
  for (const level of ['full', 'stage1'] as const) {
    for (const subset of ['all', 'confident'] as const) {
      const pick = (rows: readonly Scored[]) => rows.filter((s) => subset === 'all' || s.confident);
      const cm = (rows: readonly Scored[]) =>
        level === 'full'
          ? confusionMatrix(
              rows.map((s) => s.truth),
              rows.map((s) => s.predicted),
            )
          : confusionMatrix(
              rows.map((s) => s.truthGroup),
              rows.map((s) => s.predictedGroup),
            );
      const pooledRows = pick(scored);
      if (pooledRows.length === 0) continue;
      const pooled = cm(pooledRows);
      const base = { protocol, level, subset };
      for (const m of summariseConfusion(pooled)) metrics.push({ ...base, statistic: 'pooled', fold: null, ...m });
      const perFold = folds
        .map((f) => ({ f, rows: pick(scored.filter((s) => s.fold === f)) }))
        .filter((x) => x.rows.length > 0);
      const foldMetrics = perFold.map(({ f, rows }) => {
        const ms = summariseConfusion(cm(rows));
        for (const m of ms) metrics.push({ ...base, statistic: 'fold', fold: f, ...m });
        return ms;
      });
      for (const a of aggregateFolds(foldMetrics)) {
        metrics.push({
          ...base,
          statistic: 'mean',
          fold: null,
          metric: a.metric,
          class: a.class,
          value: a.mean,
          n: a.n,
        });
        metrics.push({
          ...base,
          statistic: 'std',
          fold: null,
          metric: a.metric,
          class: a.class,
          value: a.std,
          n: a.n,
        });
      }
      for (const r of normalisedRows(pooled))
        confusion.push({
          protocol,
          level,
          subset,
          true_class: r.trueClass,
          predicted_class: r.predictedClass,
          count: r.count,
          fraction: r.fraction,
        });
    }
  }
  // calibration of the full probability vector's maximum
  const cal = calibration(
    scored.map((s) => s.maxP),
    scored.map((s) => s.argmaxCorrect),
    p.calibration_bins,
  );
  const base = pooledAllKey(protocol);
  metrics.push({ ...base, metric: 'ece', value: cal.ece, n: scored.length });
  metrics.push({ ...base, metric: 'mce', value: cal.mce, n: scored.length });
  metrics.push({
    ...base,
    metric: 'brier',
    value: brierScore(
      scored.map((s) => s.proba),
      finalClasses,
      scored.map((s) => s.truth),
    ),
    n: scored.length,
  });
  // the Monte-Carlo interval of the top class's probability, averaged per bin
  const binOf = (v: number) => Math.min(p.calibration_bins - 1, Math.floor(v * p.calibration_bins));
  const intervalSums = cal.bins.map(() => ({ lo: 0, hi: 0, n: 0 }));
  for (const x of scored)
    if (x.maxLo !== null && x.maxHi !== null) {
      const acc = intervalSums[binOf(x.maxP)]!;
      acc.lo += x.maxLo;
      acc.hi += x.maxHi;
      acc.n++;
    }
  cal.bins.forEach((b, i) => {
    const iv = intervalSums[i]!;
    calRows.push({
      protocol,
      kind: 'reliability',
      bin_lo: b.lo,
      bin_hi: b.hi,
      count: b.count,
      mean_confidence: b.confidence,
      accuracy: b.accuracy,
      mean_confidence_lo: iv.n > 0 ? iv.lo / iv.n : null,
      mean_confidence_hi: iv.n > 0 ? iv.hi / iv.n : null,
    });
  });
  const u = uncertaintyTables(protocol, scored, finalClasses, p, headline);
  metrics.push(...u.metrics);
  calRows.push(...u.calibration);
  for (const [kind, correct] of [
    ['confidence_correct', true],
    ['confidence_incorrect', false],
  ] as const) {
    const h = calibration(
      scored.filter((s) => (s.truth === s.predicted) === correct).map((s) => s.maxP),
      [],
      p.calibration_bins,
    );
    for (const b of h.bins)
      calRows.push({
        protocol,
        kind,
        bin_lo: b.lo,
        bin_hi: b.hi,
        count: b.count,
        mean_confidence: b.confidence,
        accuracy: null,
        mean_confidence_lo: null,
        mean_confidence_hi: null,
      });
  }
  const ba = metrics.find(
    (m) =>
      m.protocol === protocol &&
      m.level === 'full' &&
      m.subset === 'all' &&
      m.statistic === 'pooled' &&
      m.metric === 'balanced_accuracy',
  );
  const note = {
    sources: scored.length,
    folds: folds.length,
    final_classes: finalClasses,
    balanced_accuracy: ba?.value ?? null,
    ece: cal.ece,
  };
  return {
    metrics,
    confusion,
    calibration: calRows,
    conformal: u.conformal,
    thresholds: u.thresholds,
    ood: u.ood,
    classMix: u.classMix,
    sources: u.sources,
    note,
  };
}
