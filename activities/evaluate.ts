import { brierScore, calibration, confusionMatrix } from '../lib/metrics/classification.js';
import { aggregateFolds, normalisedRows, summariseConfusion } from '../lib/metrics/summary.js';
import { EVALUATE_ROLE_PATTERN, evaluateRoleProtocol, PROTOCOLS, type EvaluateRole } from '../schemas/protocols.js';
import {
  calibrationTable,
  classMixTable,
  conformalTable,
  conformalThresholdsTable,
  confusionTable,
  EvaluateParams,
  metricsTable,
  oodTable,
  sourceUncertaintyTable,
  type CalibrationRow,
  type ClassMixRow,
  type ConformalRow,
  type ConformalThresholdRow,
  type ConfusionRow,
  type MetricRow,
  type OodRow,
  type SourceUncertaintyRow,
} from '../schemas/evaluation.js';
import { uncertaintyTables, type Scored } from './evaluate-uncertainty.js';
import { NoContext } from '../schemas/params.js';
import type { ArtifactRef } from '../schemas/step.js';
import { defineStage, rolePattern } from './stage.js';
import { predictionsTable, probabilitiesTable, type ProbabilityRow } from '../schemas/model.js';
import { referencePredictionsTable } from '../schemas/tables.js';

/**
 * `evaluate`: pools the out-of-fold predictions of every CV fold and scores them
 * (paper section 5): accuracy, balanced accuracy, macro F1, MCC, per-class precision,
 * recall (completeness) and F1, for all sources and the confident subset, for the full
 * pipeline and Stage 1, pooled and as mean and standard deviation over folds;
 * row-normalised confusion matrices; the reliability diagram with ECE and MCE on the
 * maximum probability, the Brier score, and confidence histograms.
 */
export const evaluateStage = defineStage({
  name: 'evaluate',
  version: 4,
  params: EvaluateParams,
  // per protocol one input per held-out part (CV fold or test split), and optionally the competitor's predictions
  inputs: {
    roles: { reference: { from: ['reference'], optional: true } },
    pattern: { ...rolePattern<EvaluateRole>(EVALUATE_ROLE_PATTERN), from: 'predict' },
  },
  context: NoContext,
  tables: {
    data: metricsTable,
    confusion: confusionTable,
    calibration: calibrationTable,
    conformal: conformalTable,
    conformal_thresholds: conformalThresholdsTable,
    ood: oodTable,
    class_mix: classMixTable,
    source_uncertainty: sourceUncertaintyTable,
  },
  async run(ctx, p) {
    const predictions = new Map<string, ArtifactRef>();
    for (const [role, ref] of Object.entries(ctx.inputs)) if (role !== 'reference' && ref) predictions.set(role, ref);
    const metrics: MetricRow[] = [];
    const confusion: ConfusionRow[] = [];
    const calRows: CalibrationRow[] = [];
    const conformal: ConformalRow[] = [];
    const thresholds: ConformalThresholdRow[] = [];
    const oodRows: OodRow[] = [];
    const classMix: ClassMixRow[] = [];
    const perSource: SourceUncertaintyRow[] = [];
    const byProtocol = new Map<string, string[]>();
    for (const role of [...predictions.keys()].sort()) {
      const protocol = evaluateRoleProtocol(role)!;
      byProtocol.set(protocol, [...(byProtocol.get(protocol) ?? []), role]);
    }
    const protocols = PROTOCOLS.filter((x) => byProtocol.has(x));
    const notes: Record<string, unknown> = {
      protocols,
      headline_protocol: protocols.includes('deployment') ? 'deployment' : (protocols[0] ?? null),
    };
    let competitorIds: string[] = [];
    let competitorTruth: string[] = [];
    for (const protocol of protocols) {
      const scored: Scored[] = [];
      const ids: string[] = [];
      let finalClasses: string[] = [];
      for (const role of byProtocol.get(protocol)!) {
        const ref = predictions.get(role)!;
        const preds = await ctx.store.readTable(predictionsTable, ref);
        const proba = await ctx.store.readTable(probabilitiesTable, ref, 'probabilities');
        const finalOf = new Map<string, Map<string, ProbabilityRow>>();
        const singleOf = new Map<string, Map<string, number>>();
        for (const r of proba) {
          if (r.stage === 'final') finalOf.set(r.id, (finalOf.get(r.id) ?? new Map()).set(r.class, r));
          else if (r.stage === 'single') singleOf.set(r.id, (singleOf.get(r.id) ?? new Map()).set(r.class, r.p));
        }
        const cls = [...(finalOf.values().next().value?.keys() ?? [])];
        if (finalClasses.length === 0) finalClasses = cls;
        for (const pr of preds) {
          if (pr.label === null) throw new Error(`evaluate: prediction ${pr.id} has no true label`);
          const rowsOf = finalOf.get(pr.id);
          const vec = finalClasses.map((c) => rowsOf?.get(c)?.p ?? 0);
          let best = 0;
          vec.forEach((v, k) => (best = v > vec[best]! ? k : best));
          const truth = p.eval_classes[pr.label] ?? pr.label;
          const single = singleOf.get(pr.id);
          const top = rowsOf?.get(finalClasses[best]!);
          ids.push(pr.id);
          scored.push({
            id: pr.id,
            single: single ? finalClasses.map((c) => single.get(c) ?? 0) : null,
            maxLo: top?.p_lo ?? null,
            maxHi: top?.p_hi ?? null,
            confidence: pr.confidence,
            oodScore: pr.ood_score,
            significance: pr.significance,
            fold: pr.fold,
            truth,
            predicted: pr.final_class,
            truthGroup: p.stage1_groups[pr.label] ?? pr.label,
            predictedGroup: p.stage1_groups[pr.final_class] ?? pr.final_class,
            confident: pr.confidence >= p.confident_min,
            maxP: vec[best]!,
            argmaxCorrect: finalClasses[best] === truth,
            proba: vec,
          });
        }
      }
      const folds = [...new Set(scored.map((s) => s.fold))].sort((a, b) => (a ?? -1) - (b ?? -1));
      for (const level of ['full', 'stage1'] as const) {
        for (const subset of ['all', 'confident'] as const) {
          const pick = (rows: Scored[]) => rows.filter((s) => subset === 'all' || s.confident);
          const cm = (rows: Scored[]) =>
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
      const base = {
        protocol,
        level: 'full' as const,
        subset: 'all' as const,
        statistic: 'pooled' as const,
        fold: null,
        class: null,
      };
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
      const u = uncertaintyTables(protocol, scored, finalClasses, p, protocol === notes['headline_protocol']);
      metrics.push(...u.metrics);
      calRows.push(...u.calibration);
      conformal.push(...u.conformal);
      thresholds.push(...u.thresholds);
      oodRows.push(...u.ood);
      classMix.push(...u.classMix);
      perSource.push(...u.sources);
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
      notes[protocol] = {
        sources: scored.length,
        folds: folds.length,
        final_classes: finalClasses,
        balanced_accuracy: ba?.value ?? null,
        ece: cal.ece,
      };
      if (competitorIds.length === 0) {
        competitorIds = ids;
        competitorTruth = scored.map((s) => s.truth);
      }
    }
    // the competitor's own predictions on the same sources, scored with the same class grouping
    const ref = ctx.inputs.reference;
    let competitorSources = 0;
    if (ref) {
      const refRows = await ctx.store.readTable(referencePredictionsTable, ref);
      const theirs = new Map(refRows.map((r) => [r.id, r.predicted_class]));
      const pipeline = refRows[0]?.pipeline ?? 'reference';
      const truth: string[] = [];
      const pred: string[] = [];
      competitorIds.forEach((id, i) => {
        const c = theirs.get(id);
        if (c === undefined) return;
        truth.push(competitorTruth[i]!);
        pred.push(p.eval_classes[c] ?? c);
      });
      competitorSources = truth.length;
      if (truth.length > 0)
        for (const m of summariseConfusion(confusionMatrix(truth, pred)))
          metrics.push({
            protocol: `competitor:${pipeline}`,
            level: 'full',
            subset: 'all',
            statistic: 'pooled',
            fold: null,
            ...m,
          });
    }
    return {
      table: metricsTable,
      rows: metrics,
      extraTables: {
        confusion: { table: confusionTable, rows: confusion },
        calibration: { table: calibrationTable, rows: calRows },
        conformal: { table: conformalTable, rows: conformal },
        conformal_thresholds: { table: conformalThresholdsTable, rows: thresholds },
        ood: { table: oodTable, rows: oodRows },
        class_mix: { table: classMixTable, rows: classMix },
        source_uncertainty: { table: sourceUncertaintyTable, rows: perSource },
      },
      notes: { ...notes, competitor_sources: competitorSources },
    };
  },
});
