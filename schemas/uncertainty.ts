import { z } from 'zod';
import { McParams } from './model.js';

/**
 * When a prediction is `uncertain` (config uncertainty.uncertain): any part that is on
 * and fires makes it so, and the prediction names each part that fired.
 */
export const UncertainRule = z.strictObject({
  /** the conformal set at `conformal.level` is not exactly {the predicted class} (two or more, none, or another class) */
  set_not_single: z.boolean(),
  /** the out-of-distribution flag is raised */
  ood: z.boolean(),
  /** the Monte-Carlo significance (P1 - P2)/(sigma1 + sigma2) is below this (null: not used) */
  significance_below: z.number().min(0).nullable(),
  /** the deciding stage's confidence is below this (the method's rule at 0.5; null: not used) */
  confidence_below: z.number().min(0).max(1).nullable(),
});
export type UncertainRule = z.infer<typeof UncertainRule>;

const ConformalSettings = z
  .strictObject({
    /** coverage levels reported in evaluate (each class's set holds its true class this often) */
    levels: z.array(z.number().gt(0).lt(1)).min(1).max(10),
    /** the level whose sets predictions carry and the uncertain rule reads */
    level: z.number().gt(0).lt(1),
  })
  .refine((c) => c.levels.includes(c.level), {
    message: 'conformal.level must be one of conformal.levels',
    path: ['level'],
  });

const OodSettings = z.strictObject({
  /** k of the k-th-nearest-training-neighbour score */
  neighbours: z.number().int().min(1).max(100),
  /** share of in-distribution sources (held-out training sources) the flag may raise */
  flag_rate: z.number().gt(0).lt(0.5),
});

const ClassMixSettings = z.strictObject({
  /** classify: estimate the target table's class proportions by EM (Saerens et al. 2002) */
  estimate: z.boolean(),
  /** classify: re-weight every posterior with the estimated proportions (needs estimate) */
  reweight: z.boolean(),
  /** bootstrap replicates of the interval */
  bootstrap: z.number().int().min(10).max(10000),
  seed: z.number().int().min(0),
});

/** Predictions honest on new sources (config `uncertainty`). */
export const UncertaintySettings = z.strictObject({
  mc: McParams,
  /** Monte-Carlo draws in the ablation branches too (each then costs what the baseline's CV does) */
  mc_in_ablations: z.boolean(),
  conformal: ConformalSettings,
  ood: OodSettings,
  class_mix: ClassMixSettings,
  uncertain: UncertainRule,
});
export type UncertaintySettings = z.infer<typeof UncertaintySettings>;

/** What `evaluate` needs of the uncertainty settings. */
export const EvaluateUncertainty = z.strictObject({
  conformal: ConformalSettings,
  ood_flag_rate: OodSettings.shape.flag_rate,
  rule: UncertainRule,
  /** the class-mix measurement and the corrections classify applies; null: not measured (the ablations: classify applies the baseline's model) */
  class_mix: ClassMixSettings.pick({ bootstrap: true, seed: true }).nullable(),
});
export type EvaluateUncertainty = z.infer<typeof EvaluateUncertainty>;

/** What `classify` needs of the uncertainty settings. */
export const ClassifyUncertainty = z.strictObject({
  mc: McParams,
  ood_neighbours: OodSettings.shape.neighbours,
  /** the level of the sets each source carries (a level the calibrating evaluation scored) */
  conformal_level: z.number().gt(0).lt(1),
  /** the level of the sets of sources the X-ray-only model classifies (config xray_model.conformal_level); absent: conformal_level */
  xray_conformal_level: z.number().gt(0).lt(1).optional(),
  rule: UncertainRule,
  class_mix: ClassMixSettings,
});
export type ClassifyUncertainty = z.infer<typeof ClassifyUncertainty>;

/** An EM class-mix estimate's columns (Saerens et al. 2002; lib/uncertainty/class-mix.ts): the share and its bootstrap 95% interval. */
export const emShareColumns = {
  em_share: z.number().min(0).max(1),
  em_lo: z.number().min(0).max(1),
  em_hi: z.number().min(0).max(1),
};
