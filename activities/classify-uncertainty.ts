import type { ArtifactStore } from '../artifacts/store.js';
import { decideOnMeans, groupVector, type TwoStageModel, type TwoStagePrediction } from '../lib/forest/two-stage.js';
import { predictionSet, setLabel, type ClassThreshold } from '../lib/uncertainty/conformal.js';
import { applyClassBiases, classMixWithInterval } from '../lib/uncertainty/class-mix.js';
import { uncertainVerdict } from '../lib/uncertainty/rule.js';
import { conformalThresholdsTable, metricsTable } from '../schemas/evaluation.js';
import type { ClassifyClassMixRow } from '../schemas/catalog.js';
import type { ClassifyUncertainty } from '../schemas/uncertainty.js';
import type { ArtifactRef } from '../schemas/step.js';
import type { PredictionExtras } from './io/model.js';

/** What a model's cross-validation says about its predictions on new sources (an `evaluate` artifact). */
export interface Calibration {
  ref: ArtifactRef<'evaluate'>;
  protocol: string;
  level: number;
  thresholds: ClassThreshold[];
  oodThreshold: number | null;
  /** per final class: the label-shift bias correction and the training share (class mix) */
  biases: Map<string, number>;
  trainingShares: Map<string, number>;
}

/** Reads the calibration of the headline protocol (`deployment`, as targets are translated) at one conformal level. */
export async function readCalibration(
  store: ArtifactStore,
  ref: ArtifactRef<'evaluate'>,
  level: number,
): Promise<Calibration> {
  const meta = await store.readMeta('evaluate', ref.id);
  const protocol =
    typeof meta.notes?.['headline_protocol'] === 'string' ? meta.notes['headline_protocol'] : 'deployment';
  const all = (await store.readTable(conformalThresholdsTable, ref, 'conformal_thresholds')).filter(
    (r) => r.protocol === protocol,
  );
  const levels = [...new Set(all.map((r) => r.level))];
  if (!levels.includes(level))
    throw new Error(
      `classify: the calibration evaluate/${ref.id.slice(0, 12)} has conformal levels ${levels.join(', ') || 'none'} for ${protocol}, not ${level} (config uncertainty.conformal.level)`,
    );
  const metrics = (await store.readTable(metricsTable, ref)).filter(
    (r) => r.protocol === protocol && r.statistic === 'pooled',
  );
  const byClass = (metric: string) =>
    new Map(
      metrics
        .filter((r) => r.metric === metric && r.class !== null && r.value !== null)
        .map((r) => [r.class!, r.value!]),
    );
  return {
    ref,
    protocol,
    level,
    thresholds: all
      .filter((r) => r.level === level)
      .map((r) => ({ class: r.class, n: r.n, threshold: r.threshold ?? Infinity })),
    oodThreshold: metrics.find((r) => r.metric === 'ood_threshold' && r.class === null)?.value ?? null,
    biases: byClass('class_bias'),
    trainingShares: byClass('training_share'),
  };
}

/**
 * Each prediction's conformal set, OOD flag and the uncertain rule's verdict; with
 * `class_mix.estimate` the field's class proportions by EM on bias-corrected posteriors
 * (and, with `reweight`, every posterior re-weighted by them and decided again; sets
 * stay those of the unweighted posteriors, which the calibration covers).
 */
export function classifyVerdicts(
  model: TwoStageModel,
  preds: readonly TwoStagePrediction[],
  extras: readonly PredictionExtras[],
  oodScores: Float64Array,
  calibration: Calibration | null,
  u: ClassifyUncertainty,
): {
  preds: TwoStagePrediction[];
  extras: PredictionExtras[];
  classMix: ClassifyClassMixRow[];
  notes: Record<string, unknown>;
} {
  const K = model.finalClasses.length;
  const n = preds.length;
  const notes: Record<string, unknown> = {};
  let out = [...preds];
  const classMix: ClassifyClassMixRow[] = [];
  if (u.class_mix.estimate && n > 0) {
    if (!calibration || calibration.biases.size === 0)
      throw new Error(
        'classify: uncertainty.class_mix.estimate needs the calibration of the model (its cross-validation evaluate artifact)',
      );
    const b = model.finalClasses.map((c) => calibration.biases.get(c) ?? -Infinity);
    const prior = model.finalClasses.map((c) => calibration.trainingShares.get(c) ?? 0);
    const corrected = applyClassBiases(Float64Array.from(preds.flatMap((p) => Array.from(p.proba))), K, b);
    const { estimate, lo, hi } = classMixWithInterval(corrected, prior, {
      replicates: u.class_mix.bootstrap,
      seed: u.class_mix.seed,
    });
    model.finalClasses.forEach((c, k) => {
      if (prior[k] === 0) return;
      classMix.push({
        class: c,
        n,
        census_share: preds.filter((p) => p.finalClass === c).length / n,
        training_share: prior[k]!,
        em_share: clamp01(estimate.priors[k]!),
        em_lo: clamp01(lo[k]!),
        em_hi: clamp01(hi[k]!),
      });
    });
    notes['class_mix'] = {
      converged: estimate.converged,
      iterations: estimate.iterations,
      reweighted: u.class_mix.reweight,
    };
    if (u.class_mix.reweight)
      out = preds.map((_, i) => {
        const v = estimate.adjusted.slice(i * K, (i + 1) * K);
        return decideOnMeans(model, groupVector(model, v), v);
      });
  }
  const withVerdicts = extras.map((x, i): PredictionExtras => {
    const set = calibration ? predictionSet(preds[i]!.proba, model.finalClasses, calibration.thresholds) : null;
    const flag = calibration?.oodThreshold != null ? oodScores[i]! > calibration.oodThreshold : null;
    const verdict = uncertainVerdict(u.rule, {
      predicted: out[i]!.finalClass,
      set,
      ood: flag,
      ood_score: oodScores[i]!,
      ood_threshold: calibration?.oodThreshold ?? null,
      significance: x.significance,
      confidence: out[i]!.confidence,
    });
    return { ...x, ood_score: oodScores[i]!, class_set: set ? setLabel(set) : null, ood: flag, uncertain: verdict };
  });
  const census: Record<string, number> = {};
  for (const x of withVerdicts) if (x.class_set !== null) census[x.class_set] = (census[x.class_set] ?? 0) + 1;
  notes['set_census'] = Object.fromEntries(Object.entries(census).sort((a, b) => b[1] - a[1]));
  notes['ood_flagged'] = withVerdicts.filter((x) => x.ood === true).length;
  return { preds: out, extras: withVerdicts, classMix, notes };
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
