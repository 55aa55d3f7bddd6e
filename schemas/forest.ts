import { z } from 'zod';

/**
 * Random-forest parameters, named as scikit-learn's RandomForestClassifier names them
 * (Breiman 2001; scikit-learn's defaults where the method is silent).
 */
export const ForestParams = z.strictObject({
  /** at most 10,000 trees (the method uses 600) */
  n_estimators: z.number().int().min(1).max(10_000),
  /** features tried at each split: 'sqrt', 'log2', an integer count, a fraction in (0, 1], or null for all */
  max_features: z.union([z.enum(['sqrt', 'log2']), z.number().int().min(1), z.number().gt(0).lte(1), z.null()]),
  max_depth: z.number().int().min(1).max(1000).nullable(),
  min_samples_split: z.number().int().min(2),
  min_samples_leaf: z.number().int().min(1),
  bootstrap: z.boolean(),
  class_weight: z.enum(['balanced', 'balanced_subsample']).nullable(),
  random_state: z.number().int().min(0),
  /**
   * Not in scikit-learn's RandomForestClassifier: `balanced` draws every tree's bootstrap
   * class by class, the smallest class's size from each (the balanced random forest of
   * Chen, Liaw & Breiman 2004, imbalanced-learn's BalancedRandomForestClassifier), so
   * rare classes are not outvoted in the leaves. `standard` (default) is scikit-learn's.
   */
  bootstrap_sampling: z.enum(['standard', 'balanced']).default('standard'),
});
export type ForestParams = z.infer<typeof ForestParams>;

export const DEFAULT_FOREST: ForestParams = {
  n_estimators: 100,
  max_features: 'sqrt',
  max_depth: null,
  min_samples_split: 2,
  min_samples_leaf: 1,
  bootstrap: true,
  class_weight: null,
  random_state: 0,
  bootstrap_sampling: 'standard',
};

/**
 * The two-stage classifier (paper sections 4.3-4.4). Stage 1 separates broad groups
 * (AGN, OTHER = the accreting binaries, SNR, STAR); Stage 2 splits OTHER into its
 * classes (LMXB, HMXB) using the features plus the Stage-1 probabilities.
 *
 * Stage 2 is trained on *out-of-bag* Stage-1 probabilities: for each training source,
 * the mean over the Stage-1 trees that did not see it. A forest's in-sample
 * probabilities are near 1 for its own training rows, so Stage 2 trained on them would
 * learn to trust Stage 1 far more than it deserves on new sources; the out-of-bag
 * estimate gives the same leakage protection as K-fold out-of-fold predictions without
 * fitting Stage 1 K more times.
 */
export const TwoStageParams = z.strictObject({
  forest: ForestParams,
  /** training label -> Stage-1 group */
  stage1_groups: z.record(z.string().min(1), z.string().min(1)),
  /** the Stage-1 group that Stage 2 resolves */
  other_group: z.string().min(1),
  /** the labels Stage 2 is trained on (others in the OTHER group, e.g. CV, train Stage 1 only) */
  stage2_classes: z.array(z.string().min(1)).min(1),
  /** a prediction whose deciding-stage confidence is below this is flagged uncertain */
  uncertain_below: z.number().min(0).max(1),
  /**
   * `temperature`: each stage's probabilities are sharpened or softened as p^(1/T)
   * (normalised), T fitted on the stage's out-of-bag probabilities by maximum likelihood
   * (Guo et al. 2017). The argmax, so every predicted class, is unchanged; only the
   * probabilities move. Needed with a balanced bootstrap, whose trees see the rare
   * classes as often as the common ones and so under-state the common classes' odds.
   */
  calibration: z.enum(['none', 'temperature']).default('none'),
  smote: z.strictObject({ enabled: z.boolean(), k: z.number().int().min(1).max(100) }),
});
export type TwoStageParams = z.infer<typeof TwoStageParams>;
