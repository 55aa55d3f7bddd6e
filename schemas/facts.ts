import { z } from 'zod';
import { FeatureSpec } from './features.js';

/**
 * Facts an artifact carries for later stages and readers (meta.json `facts`), one
 * schema per stage that has any. A stage that declares facts must write them; readers
 * get them typed and validated (ArtifactStore.readFacts). Counts kept only for audits
 * stay in `notes`.
 */

const Counts = z.record(z.string(), z.number().int().nonnegative());

/** `features`: the matrix's columns and how they were made; training-set counts for Table 1. */
export const FeaturesFacts = z.strictObject({
  feature_names: z.array(z.string().min(1)),
  feature_spec: FeatureSpec,
  /** posterior draws per source beyond the translation itself (0: none) */
  draws: z.number().int().nonnegative(),
  /** sources per class that enter the classifier */
  rows_by_class: Counts,
});
export type FeaturesFacts = z.infer<typeof FeaturesFacts>;

/** `train`: what a model's targets must be made like, and which sources it saw. */
export const TrainFacts = z.strictObject({
  feature_spec: FeatureSpec,
  /** SHA-256 of the sorted ids of the fold's training selection (before a label policy leaves any out): predict checks its features split into the same folds */
  training_sources_sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type TrainFacts = z.infer<typeof TrainFacts>;

/** `dedup`: label rows per class before and after deduplication (Table 1). */
export const DedupFacts = z.strictObject({ before: Counts, after: Counts });
export type DedupFacts = z.infer<typeof DedupFacts>;

/** `crossmatch`: per class, labels, matched, secure, ambiguous, and matches whose X-ray source carries the same label (Table 1). */
export const CrossmatchFacts = z.strictObject({
  by_class: z.record(
    z.string(),
    z.strictObject({
      labels: z.number().int(),
      matched: z.number().int(),
      secure: z.number().int(),
      ambiguous: z.number().int(),
      agree: z.number().int(),
    }),
  ),
  xray_sources: z.number().int().nonnegative(),
});
export type CrossmatchFacts = z.infer<typeof CrossmatchFacts>;

/** `provenance`: per training label, sources confirmed by another catalogue, contradicted, or labelled by MUWCLASS alone; the classes other catalogues cover. */
export const ProvenanceFacts = z.strictObject({
  by_label: z.record(
    z.string(),
    z.strictObject({
      sources: z.number().int(),
      agree: z.number().int(),
      conflict: z.number().int(),
      unconfirmed: z.number().int(),
    }),
  ),
  /** the in-scope classes some catalogue other than MUWCLASS labels (require_agreement applies to these) */
  covered_classes: z.array(z.string()),
});
export type ProvenanceFacts = z.infer<typeof ProvenanceFacts>;
