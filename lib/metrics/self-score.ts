import type { ClassifyParams } from '../../schemas/catalog.js';
import type { ConfusionRow, MetricRow } from '../../schemas/evaluation.js';
import { calibration, confusionMatrix } from './classification.js';
import { normalisedRows, summariseConfusion } from './summary.js';

/**
 * Balanced accuracy, per-class precision/recall/F1, the confusion matrix and ECE over the
 * rows whose label is known, as `evaluate` scores cross-validation: classes merged by
 * eval_classes, ECE on the maximum of the final probability vector.
 */
export function selfScore(
  rows: readonly { label: string | null; final_class: string; proba: Float64Array; trained_on: boolean }[],
  finalClasses: readonly string[],
  s: NonNullable<ClassifyParams['scoring']>,
): { metrics: MetricRow[]; confusion: ConfusionRow[]; n: number; nTrainedOn: number } | null {
  const as = (c: string) => s.eval_classes[c] ?? c;
  const scored = rows.flatMap((r) => {
    if (r.label === null) return [];
    let best = 0;
    r.proba.forEach((v, k) => (best = v > r.proba[best]! ? k : best));
    const label = as(r.label);
    return [
      {
        label,
        final_class: as(r.final_class),
        maxP: r.proba[best]!,
        argmaxCorrect: finalClasses[best] === label,
        trained_on: r.trained_on,
      },
    ];
  });
  if (scored.length === 0) return null;
  const metrics: MetricRow[] = [];
  const confusion: ConfusionRow[] = [];
  // every labelled target, and those that are none of the models' training sources (an honest score of a training table)
  for (const [subset, pick] of [
    ['all', scored],
    ['not_trained_on', scored.filter((r) => !r.trained_on)],
  ] as const) {
    if (pick.length === 0) continue;
    const c = confusionMatrix(
      pick.map((r) => r.label),
      pick.map((r) => r.final_class),
    );
    const base = { protocol: 'classify', level: 'full', subset, statistic: 'pooled', fold: null } as const;
    const cal = calibration(
      pick.map((r) => r.maxP),
      pick.map((r) => r.argmaxCorrect),
      s.calibration_bins,
    );
    metrics.push(...summariseConfusion(c).map((v) => ({ ...base, ...v })), {
      ...base,
      metric: 'ece',
      class: null,
      value: cal.ece,
      n: pick.length,
    });
    for (const r of normalisedRows(c))
      confusion.push({
        protocol: 'classify',
        level: 'full',
        subset,
        true_class: r.trueClass,
        predicted_class: r.predictedClass,
        count: r.count,
        fraction: r.fraction,
      });
  }
  return { metrics, confusion, n: scored.length, nTrainedOn: scored.filter((r) => r.trained_on).length };
}
