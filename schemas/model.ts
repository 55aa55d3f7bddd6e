import { z } from 'zod';
import { TwoStageParams } from './forest.js';
import { defineTable, optionalNumber, type Row } from './table.js';

/**
 * Which rows a step uses: all (null); the complement (train) or the members (predict)
 * of one stratified K-fold fold; or one part of a stratified split (train always uses
 * part 0, predict the named part).
 */
export const FoldSpec = z
  .union([
    z.strictObject({ k: z.number().int().min(2), index: z.number().int().min(0), seed: z.number().int().min(0) }),
    z.strictObject({ split: z.array(z.number().gt(0).lt(1)).min(2), part: z.number().int().min(0), seed: z.number().int().min(0) }),
  ])
  .nullable();
export type FoldSpec = z.infer<typeof FoldSpec>;

export const TrainParams = z.strictObject({ model: TwoStageParams, fold: FoldSpec });
export type TrainParams = z.infer<typeof TrainParams>;

export const PredictParams = z.strictObject({ fold: FoldSpec });
export type PredictParams = z.infer<typeof PredictParams>;

/** Per stage and feature: Gini importance (mean, per-tree std) and, for the input features, the imputation median. */
export const modelFeaturesTable = defineTable('model_features', {
  stage: z.enum(['stage1', 'stage2']),
  feature: z.string().min(1),
  column: z.number().int().nonnegative(),
  importance_mean: z.number(),
  importance_std: z.number(),
  impute_median: optionalNumber(),
  n_imputed: z.number().int().nonnegative().nullable(),
});
export type ModelFeatureRow = Row<typeof modelFeaturesTable>;

export const predictionsTable = defineTable('predictions', {
  id: z.string().min(1),
  /** the true label when known (training sources), NULL for targets */
  label: z.string().nullable(),
  final_class: z.string().min(1),
  confidence: z.number().min(0).max(1),
  uncertain: z.boolean(),
  decided_by: z.number().int().min(1).max(2),
  fold: z.number().int().nullable(),
});
export type PredictionRow = Row<typeof predictionsTable>;

/** Long form: per source, the final probability vector and the Stage-1 group probabilities. */
export const probabilitiesTable = defineTable('probabilities', {
  id: z.string().min(1),
  stage: z.enum(['final', 'stage1']),
  class: z.string().min(1),
  p: z.number().min(0).max(1),
});
export type ProbabilityRow = Row<typeof probabilitiesTable>;
