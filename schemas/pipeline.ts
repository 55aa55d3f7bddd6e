import { z } from 'zod';
import { RawFileRef } from './artifact.js';
import { XClassLabel } from './classes.js';
import { NoDataValues } from './params.js';
import { ActivityOptionsByStage, RetryPolicy } from './engine.js';
import { SedParams } from './sed.js';
import { FeaturesParams } from './features.js';
import { CrossmatchParams, DedupParams, LabelCatalog, LabelConflictPolicy } from './labels.js';
import { TwoStageParams } from './forest.js';
import { EvaluationSettings } from './evaluation.js';
import { UncertaintySettings } from './uncertainty.js';

/** A raw input file, resolved and hashed by the client before the workflow starts. */
export const ResolvedFile = RawFileRef.extend({ path: z.string().min(1) });
export type ResolvedFile = z.infer<typeof ResolvedFile>;

/** The settings one branch of the pipeline trains and evaluates with. */
export const PipelineVariant = z.strictObject({
  sed: SedParams,
  features: FeaturesParams,
  model: TwoStageParams,
  /** config labels.conflicts; absent (runs planned before it existed) or `keep`: every label is trained on */
  label_conflicts: LabelConflictPolicy.optional(),
});
export type PipelineVariant = z.infer<typeof PipelineVariant>;

/**
 * Everything a pipeline workflow needs, as plain data: the same object starts the
 * embedded engine and a Temporal workflow. Built by the CLI from the config.
 */
export const PipelineInput = z.strictObject({
  /** the data folder on the machine that planned the run (workers read files relative to it) */
  data_dir: z.string().min(1),
  files: z.strictObject({ muwclass: ResolvedFile }),
  label_catalogs: z.array(LabelCatalog.extend({ file: ResolvedFile, readme: ResolvedFile.optional() })),
  dedup: DedupParams,
  crossmatch: CrossmatchParams,
  baseline: PipelineVariant,
  /** ablation name -> its settings (each an overlay of the baseline's, resolved) */
  ablations: z.record(z.string().regex(/^[a-z0-9_]+$/), PipelineVariant),
  evaluation: EvaluationSettings,
  uncertainty: UncertaintySettings,
  /** train the X-ray-only model beside the baseline (config xray_model); absent in runs planned before it existed */
  xray_model: z.strictObject({ conformal_level: z.number().gt(0).lt(1) }).optional(),
  label_map: z.record(z.string().min(1), XClassLabel.nullable()),
  /** no-data sentinels of the input tables; absent in runs planned before they existed */
  no_data: NoDataValues.optional(),
  concurrency: z.number().int().min(1),
  retry: RetryPolicy,
  /** per stage: timeout, heartbeat and task queue of its activity on Temporal */
  activities: ActivityOptionsByStage,
});
export type PipelineInput = z.infer<typeof PipelineInput>;
