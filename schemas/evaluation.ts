import { z } from 'zod';
import { defineTable, optionalNumber, type Row } from './table.js';

import { PROTOCOLS } from './protocols.js';

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
});
export type EvaluateParams = z.infer<typeof EvaluateParams>;

/** One number: a metric, for a level (full pipeline or Stage 1), a subset, and pooled, per fold, or mean/std over folds. */
export const metricsTable = defineTable('metrics', {
  protocol: z.string(),
  level: z.enum(['full', 'stage1']),
  subset: z.enum(['all', 'confident']),
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
  subset: z.enum(['all', 'confident']),
  true_class: z.string().min(1),
  predicted_class: z.string().min(1),
  count: z.number().int().nonnegative(),
  fraction: optionalNumber(),
});
export type ConfusionRow = Row<typeof confusionTable>;

/** Reliability diagram and confidence histograms (correct / incorrect). */
export const calibrationTable = defineTable('calibration', {
  protocol: z.string().min(1),
  kind: z.enum(['reliability', 'confidence_correct', 'confidence_incorrect']),
  bin_lo: z.number(),
  bin_hi: z.number(),
  count: z.number().int().nonnegative(),
  mean_confidence: optionalNumber(),
  accuracy: optionalNumber(),
});
export type CalibrationRow = Row<typeof calibrationTable>;
