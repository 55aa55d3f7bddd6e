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
    z.strictObject({
      split: z.array(z.number().gt(0).lt(1)).min(2),
      part: z.number().int().min(0),
      seed: z.number().int().min(0),
    }),
  ])
  .nullable();
export type FoldSpec = z.infer<typeof FoldSpec>;

export const TrainParams = z.strictObject({
  model: TwoStageParams,
  fold: FoldSpec,
  /**
   * Sources left out of training by their label provenance (input `provenance`; config
   * labels.conflicts): `drop` leaves out sources another catalogue contradicts,
   * `require_agreement` also those of a class other catalogues cover that none confirms.
   * Absent: every source of the fold is trained on (`keep`). The held-out folds are the same.
   */
  label_policy: z.enum(['drop', 'require_agreement']).optional(),
});
export type TrainParams = z.infer<typeof TrainParams>;

/**
 * Monte-Carlo propagation of measurement errors (config uncertainty.mc): `draws` draws
 * of each source's fluxes and magnitudes through translation, features and model (0:
 * off); each source's draws from its own generator, seeded by `seed` and its id.
 * `translation`: `exact` (the default) fits every draw through the whole SED grid;
 * `linear` fits the measured values and a step either side per band, and moves each
 * draw's HST magnitudes by the translation's Jacobian (lib/uncertainty/montecarlo.ts):
 * ~10x cheaper, an approximation for large fields.
 */
export const McParams = z.strictObject({
  draws: z.number().int().min(0).max(1000),
  seed: z.number().int().min(0),
  translation: z.enum(['exact', 'linear']),
});
export type McParams = z.infer<typeof McParams>;

export const PredictParams = z.strictObject({
  fold: FoldSpec,
  mc: McParams,
  /** k of the k-th-nearest-training-neighbour OOD score (lib/uncertainty/neighbours.ts) */
  ood_neighbours: z.number().int().min(1).max(100),
});
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
  /** Monte-Carlo draws behind the prediction (0: one prediction from the measured values) */
  mc_draws: z.number().int().nonnegative(),
  /** (P1 - P2) / (sigma1 + sigma2) of the top two classes over the draws; NULL without draws or without spread */
  significance: optionalNumber(),
  /** distance to the k-th nearest training source over the typical such distance (lib/uncertainty/neighbours.ts) */
  ood_score: optionalNumber(),
  /** the conformal class set, e.g. `{LMXB,CV}`, where a calibration is known (classify); NULL in CV predictions (evaluate calibrates them nested) */
  class_set: z.string().nullable(),
  /** the OOD flag where its threshold is known (classify); NULL in CV predictions */
  ood: z.boolean().nullable(),
  /** why the source is uncertain under the configured rule, e.g. `set {LMXB,CV}; ood 3.1 > 1.9`; NULL when it is not */
  uncertain_reason: z.string().nullable(),
});
export type PredictionRow = Row<typeof predictionsTable>;

/**
 * Long form: per source, the final probability vector and the Stage-1 group
 * probabilities; with Monte-Carlo draws these are the means over the draws with their
 * 16-84% interval, and stage `single` holds the final vector of the measured values.
 */
export const probabilitiesTable = defineTable('probabilities', {
  id: z.string().min(1),
  stage: z.enum(['final', 'stage1', 'single']),
  class: z.string().min(1),
  p: z.number().min(0).max(1),
  p_lo: optionalNumber(),
  p_hi: optionalNumber(),
});
export type ProbabilityRow = Row<typeof probabilitiesTable>;
