import { confusionMatrix } from '../lib/metrics/classification.js';
import { summariseConfusion } from '../lib/metrics/summary.js';
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
} from '../schemas/evaluation.js';
import type { Scored } from '../lib/uncertainty/tables.js';
import { scoreProtocol } from '../lib/metrics/protocol-score.js';
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
    /** each protocol's tables, in protocol order */
    const scoredTables: ReturnType<typeof scoreProtocol>[] = [];
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
      const t = scoreProtocol(protocol, scored, finalClasses, p, protocol === notes['headline_protocol']);
      scoredTables.push(t);
      notes[protocol] = t.note;
      if (competitorIds.length === 0) {
        competitorIds = ids;
        competitorTruth = scored.map((s) => s.truth);
      }
    }
    const metrics = scoredTables.flatMap((t) => t.metrics);
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
        confusion: { table: confusionTable, rows: scoredTables.flatMap((t) => t.confusion) },
        calibration: { table: calibrationTable, rows: scoredTables.flatMap((t) => t.calibration) },
        conformal: { table: conformalTable, rows: scoredTables.flatMap((t) => t.conformal) },
        conformal_thresholds: { table: conformalThresholdsTable, rows: scoredTables.flatMap((t) => t.thresholds) },
        ood: { table: oodTable, rows: scoredTables.flatMap((t) => t.ood) },
        class_mix: { table: classMixTable, rows: scoredTables.flatMap((t) => t.classMix) },
        source_uncertainty: { table: sourceUncertaintyTable, rows: scoredTables.flatMap((t) => t.sources) },
      },
      notes: { ...notes, competitor_sources: competitorSources },
    };
  },
});
