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

/** max_features resolved to a count, as scikit-learn resolves it. */
export function resolveMaxFeatures(mf: ForestParams['max_features'], nFeatures: number): number {
  if (mf === null) return nFeatures;
  if (mf === 'sqrt') return Math.max(1, Math.floor(Math.sqrt(nFeatures)));
  if (mf === 'log2') return Math.max(1, Math.floor(Math.log2(nFeatures)));
  if (Number.isInteger(mf) && mf >= 1) return Math.min(nFeatures, mf);
  return Math.max(1, Math.floor(mf * nFeatures));
}
