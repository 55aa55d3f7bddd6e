import { z } from 'zod';
import { defineTable, optionalNumber, type Row } from './table.js';

import { PROTOCOLS } from './protocols.js';
import { EvaluateUncertainty, emShareColumns } from './uncertainty.js';

/** Cross-validation settings (config `evaluation`, copied into the pipeline input). */
export const EvaluationSettings = z.strictObject({
  /** `kfold`: stratified K-fold cross-validation; `split`: the method's stratified train/validation/test split */
  mode: z.enum(['kfold', 'split']),
  /** at most 20: every fold is a training branch (5 is the method's) */
  folds: z.number().int().min(2).max(20),
  seed: z.number().int().min(0),
  /** train, validation, test fractions of `split` mode */
  split: z.array(z.number().gt(0).lt(1)).length(3),
  /** the protocols scored (schemas/protocols.ts); absent in runs planned before they existed: all three */
  protocols: z
    .array(z.enum(PROTOCOLS))
    .min(1)
    .refine((a) => new Set(a).size === a.length, 'a protocol is listed twice')
    .optional(),
  /** training label -> the class it is scored as (the method scores LM-STAR and HM-STAR as STAR) */
  eval_classes: z.record(z.string().min(1), z.string().min(1)),
  /** bins of the reliability diagram (ECE, MCE) */
  calibration_bins: z.number().int().min(2).max(100),
});
export type EvaluationSettings = z.infer<typeof EvaluationSettings>;

export const EvaluateParams = z.strictObject({
  /** training label -> the class it is scored as (LM-STAR and HM-STAR are STAR for the method) */
  eval_classes: z.record(z.string().min(1), z.string().min(1)),
  /** training label -> Stage-1 group, for Stage-1 metrics */
  stage1_groups: z.record(z.string().min(1), z.string().min(1)),
  /** the confident subset: confidence of the deciding stage at least this */
  confident_min: z.number().min(0).max(1),
  calibration_bins: z.number().int().min(2),
  /** conformal levels, the OOD flag rate, the uncertain rule, the class-mix bootstrap */
  uncertainty: EvaluateUncertainty,
});
export type EvaluateParams = z.infer<typeof EvaluateParams>;

/** One number: a metric, for a level (full pipeline or Stage 1), a subset, and pooled, per fold, or mean/std over folds. */
export const metricsTable = defineTable('metrics', {
  protocol: z.string(),
  level: z.enum(['full', 'stage1']),
  /** `not_trained_on` (classify's self-score): the targets that are none of the model's training sources */
  subset: z.enum(['all', 'confident', 'not_trained_on']),
  statistic: z.enum(['pooled', 'fold', 'mean', 'std']),
  fold: z.number().int().nullable(),
  metric: z.string().min(1),
  class: z.string().nullable(),
  value: optionalNumber(),
  n: z.number().int().nonnegative(),
});
export type MetricRow = Row<typeof metricsTable>;

/** Row-normalised confusion matrices of the pooled out-of-fold predictions. */
export const confusionTable = defineTable('confusion', {
  protocol: z.string().min(1),
  level: z.enum(['full', 'stage1']),
  /** `not_trained_on` (classify's self-score): the targets that are none of the model's training sources */
  subset: z.enum(['all', 'confident', 'not_trained_on']),
  true_class: z.string().min(1),
  predicted_class: z.string().min(1),
  count: z.number().int().nonnegative(),
  fraction: optionalNumber(),
});
export type ConfusionRow = Row<typeof confusionTable>;

/**
 * Reliability diagram and confidence histograms (correct / incorrect); with Monte-Carlo
 * draws the bins' mean 16% and 84% points of the top class's probability, and the
 * single-value diagram beside it (`reliability_single`).
 */
export const calibrationTable = defineTable('calibration', {
  protocol: z.string().min(1),
  kind: z.enum(['reliability', 'reliability_single', 'confidence_correct', 'confidence_incorrect']),
  bin_lo: z.number(),
  bin_hi: z.number(),
  count: z.number().int().nonnegative(),
  mean_confidence: optionalNumber(),
  accuracy: optionalNumber(),
  mean_confidence_lo: optionalNumber(),
  mean_confidence_hi: optionalNumber(),
});
export type CalibrationRow = Row<typeof calibrationTable>;

/**
 * Conformal coverage on held-out folds (nested: each fold's sets calibrated on the other
 * folds): per level and true class (class NULL: all sources), how often the set held
 * the true class, its mean size, the share of single-class sets and their accuracy.
 */
export const conformalTable = defineTable('conformal', {
  protocol: z.string().min(1),
  level: z.number().gt(0).lt(1),
  class: z.string().nullable(),
  n: z.number().int().nonnegative(),
  coverage: z.number().min(0).max(1),
  mean_set_size: z.number().min(0),
  single_share: z.number().min(0).max(1),
  single_accuracy: optionalNumber(),
});
export type ConformalRow = Row<typeof conformalTable>;

/**
 * The thresholds `classify` applies: per level and class, calibrated on every
 * out-of-fold prediction; NULL threshold: too few calibration sources to rule the
 * class out, so it is in every set.
 */
export const conformalThresholdsTable = defineTable('conformal_thresholds', {
  protocol: z.string().min(1),
  level: z.number().gt(0).lt(1),
  class: z.string().min(1),
  n: z.number().int().positive(),
  threshold: optionalNumber(),
});
export type ConformalThresholdRow = Row<typeof conformalThresholdsTable>;

/** Accuracy against the OOD score: pooled out-of-fold sources in bins of the score (deciles), and how many the nested flag raised. */
export const oodTable = defineTable('ood', {
  protocol: z.string().min(1),
  bin_lo: z.number(),
  bin_hi: z.number(),
  n: z.number().int().nonnegative(),
  accuracy: optionalNumber(),
  flagged: z.number().int().nonnegative(),
});
export type OodRow = Row<typeof oodTable>;

/**
 * EM class-mix estimates (Saerens et al. 2002) on out-of-fold predictions resampled to
 * other class mixes: per scenario and class the true share, the raw census share
 * (predicted classes), the EM estimate on bias-corrected posteriors (each fold's
 * biases fitted on the other folds) and its bootstrap 95% interval.
 */
export const classMixTable = defineTable('class_mix', {
  protocol: z.string().min(1),
  scenario: z.string().min(1),
  class: z.string().min(1),
  n: z.number().int().positive(),
  true_share: optionalNumber(),
  raw_share: z.number().min(0).max(1),
  ...emShareColumns,
  /** EM on the posteriors as the model gives them, without the per-class bias correction: shown because it goes wrong */
  em_uncorrected_share: z.number().min(0).max(1),
});
export type ClassMixRow = Row<typeof classMixTable>;

/** Per held-out source: its nested conformal set, OOD score and flag, significance, and the uncertain rule's verdict. */
export const sourceUncertaintyTable = defineTable('source_uncertainty', {
  protocol: z.string().min(1),
  id: z.string().min(1),
  fold: z.number().int().nullable(),
  truth: z.string().min(1),
  predicted: z.string().min(1),
  confidence: z.number().min(0).max(1),
  class_set: z.string().nullable(),
  set_size: z.number().int().nonnegative().nullable(),
  ood_score: optionalNumber(),
  ood: z.boolean().nullable(),
  significance: optionalNumber(),
  uncertain: z.boolean(),
  uncertain_reason: z.string().nullable(),
});
export type SourceUncertaintyRow = Row<typeof sourceUncertaintyTable>;
