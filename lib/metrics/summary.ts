import {
  accuracy,
  balancedAccuracyOf,
  macroF1,
  mcc,
  meanStd,
  perClassMetrics,
  type Confusion,
} from './classification.js';

/** One metric of a confusion matrix: overall (`class` null) or of one class, with the count it rests on. */
export interface MetricValue {
  metric: string;
  class: string | null;
  value: number | null;
  n: number;
}

/** The key of a metric of the full model over every source, pooled over the folds: a protocol's headline rows. */
export function pooledAllKey(protocol: string) {
  return {
    protocol,
    level: 'full' as const,
    subset: 'all' as const,
    statistic: 'pooled' as const,
    fold: null,
    class: null,
  };
}

/** The metrics the method reports for one confusion matrix: accuracy, balanced accuracy, macro F1, MCC, then per class precision, recall and F1. */
export function summariseConfusion(c: Confusion): MetricValue[] {
  let n = 0;
  for (const v of c.counts) n += v;
  const out: MetricValue[] = [
    { metric: 'accuracy', class: null, value: accuracy(c), n },
    { metric: 'balanced_accuracy', class: null, value: balancedAccuracyOf(c), n },
    { metric: 'macro_f1', class: null, value: macroF1(c), n },
    { metric: 'mcc', class: null, value: mcc(c), n },
  ];
  for (const m of perClassMetrics(c)) {
    out.push({ metric: 'precision', class: m.class, value: m.precision, n: m.support });
    out.push({ metric: 'recall', class: m.class, value: m.recall, n: m.support });
    out.push({ metric: 'f1', class: m.class, value: m.f1, n: m.support });
  }
  return out;
}

/**
 * Mean and (population) standard deviation over folds of each metric, in the order the
 * metrics first appear; a fold where a metric is undefined (null) does not count, and
 * `n` is the number of folds that do.
 */
export function aggregateFolds(
  perFold: readonly (readonly MetricValue[])[],
): { metric: string; class: string | null; mean: number; std: number; n: number }[] {
  const byKey = new Map<string, { metric: string; class: string | null; values: number[] }>();
  for (const metrics of perFold) {
    for (const m of metrics) {
      if (m.value === null) continue;
      const key = `${m.metric}|${m.class ?? ''}`;
      const entry = byKey.get(key);
      if (entry) entry.values.push(m.value);
      else byKey.set(key, { metric: m.metric, class: m.class, values: [m.value] });
    }
  }
  return [...byKey.values()].map((e) => ({
    metric: e.metric,
    class: e.class,
    ...meanStd(e.values),
    n: e.values.length,
  }));
}

/** Each cell of a confusion matrix with its share of the true class's row (null for an empty row). */
export function normalisedRows(
  c: Confusion,
): { trueClass: string; predictedClass: string; count: number; fraction: number | null }[] {
  const K = c.classes.length;
  const out: { trueClass: string; predictedClass: string; count: number; fraction: number | null }[] = [];
  c.classes.forEach((t, a) => {
    let rowSum = 0;
    for (let b = 0; b < K; b++) rowSum += c.counts[a * K + b]!;
    c.classes.forEach((p, b) =>
      out.push({
        trueClass: t,
        predictedClass: p,
        count: c.counts[a * K + b]!,
        fraction: rowSum > 0 ? c.counts[a * K + b]! / rowSum : null,
      }),
    );
  });
  return out;
}
