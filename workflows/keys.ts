/**
 * The names of the pipeline's steps and branches, as values: the builder makes keys with
 * these functions, and the report, summary and compare look steps up with the same ones
 * instead of parsing keys. No Node imports (the workflow bundle imports this).
 */

/** The baseline's name where a branch name is expected (`xclass compare RUN:baseline`). */
export const BASELINE = 'baseline';

/** The branch (a Temporal child workflow) of one CV fold of the baseline. */
export const foldBranch = (index: number) => `cv/fold-${index}`;
/** The steps of the method's train/validation/test split (evaluation.mode = split), in the parent workflow. */
export const SPLIT_PART = 'cv/split';
/** The branch of one ablation: all its own steps. */
export const ablationBranch = (name: string) => `ablation/${name}`;

/** Steps the baseline and every ablation share: training-set assembly. */
export const SHARED_STEPS = {
  ingest: 'ingest',
  reference: 'reference',
  dedup: 'dedup',
  /** the deduplicated labels against the Chandra positions: the training set's matches */
  crossmatch: 'crossmatch/all',
  labels: (catalog: string) => `labels/${catalog}`,
  /** every catalogue labelling each training source, and their agreement */
  provenance: 'provenance',
  /** one external catalog on its own against the Chandra positions */
  catalogCrossmatch: (catalog: string) => `crossmatch/${catalog}`,
} as const;

/** The key prefix of a variant's steps: '' for the baseline, `ablation/<name>/` for an ablation. */
const variantPrefix = (variant: string | null) => (variant === null ? '' : `${ablationBranch(variant)}/`);

/** The branch of the X-ray-only model (targets without photometry): features, its cross-validation, evaluation and final model. */
export const XRAY_BRANCH = 'xray';

/** The steps of one variant (null: the baseline) a reader looks up. */
export function variantSteps(variant: string | null) {
  return stepsUnder(variantPrefix(variant));
}

/** The X-ray-only model's steps (config xray_model). */
export const XRAY_STEPS = stepsUnder(`${XRAY_BRANCH}/`);

function stepsUnder(p: string) {
  return {
    /** SED translation as configured; `sed-<assignment>` for the other translations the protocols need */
    sed: (tag = '') => `${p}sed${tag}`,
    features: (tag = '') => `${p}features${tag}`,
    /** the pooled scores of every protocol */
    evaluate: `${p}cv/evaluate`,
    /** the model users apply (baseline only) */
    finalModel: `${p}final/train`,
    /** the steps of one held-out part: `cv/fold-<k>` or the method's `cv/split` */
    heldOut: (part: string) => `${p}${part}`,
  };
}
