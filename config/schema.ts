import { z } from 'zod';
import { CounterpartSettings } from '../schemas/catalog.js';
import { XClassLabel } from '../schemas/classes.js';
import { NoDataValues } from '../schemas/params.js';
import { SedSettings } from '../schemas/sed.js';
import { FeaturesParams } from '../schemas/features.js';
import { CrossmatchParams, DedupParams, LabelCatalog, LabelConflictPolicy } from '../schemas/labels.js';
import { TwoStageParams } from '../schemas/forest.js';
import { EvaluationSettings } from '../schemas/evaluation.js';
import { RetryPolicy, StageActivityOptions } from '../schemas/engine.js';
import { STAGE_NAMES } from '../schemas/step.js';
import { UncertaintySettings } from '../schemas/uncertainty.js';
import { FetchSettings } from '../schemas/fetch.js';

/**
 * The XClass configuration. Values that change a result become activity params and
 * so part of artifact identity; the rest (where the store is, how many threads)
 * never do.
 */
export const ConfigSchema = z.strictObject({
  store: z.strictObject({
    path: z.string().min(1),
    /** what a cache hit and a read check of each artifact file: `checksum` (SHA-256) or `size` */
    verify: z.enum(['checksum', 'size']),
    /** `gc --delete` refuses to remove more than this share of the artifacts unless `--all` */
    gc_max_share: z.number().min(0).max(1),
  }),
  /** `xclass query`: DuckDB's memory limit and the time after which a statement is interrupted */
  query: z.strictObject({
    memory_limit: z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/, 'expected a size such as 2GB'),
    timeout_s: z.number().positive().max(86_400),
  }),
  data: z.strictObject({
    /** null: $XCLASS_DATA, else ../shared/data beside the checkout */
    dir: z.string().min(1).nullable(),
  }),
  catalogs: z.strictObject({
    /** the MUWCLASS training table, relative to the data folder */
    muwclass: z.string().min(1),
  }),
  /** how input tables are read (ingest, reference, classify) */
  input: z.strictObject({
    /**
     * Values that mean "no measurement" (99 of SExtractor and DOLPHOT, -99, -9999 ...):
     * read as missing in magnitude, magnitude-error, flux and probability columns, and
     * counted in the artifact's notes. Elsewhere (a parallax or distance of 99 is real)
     * they are checked like any value.
     */
    no_data: NoDataValues,
  }),
  labels: z.strictObject({
    /** catalogue label -> XClass class; null keeps the row but marks it out of scope */
    map: z.record(z.string().min(1), XClassLabel.nullable()),
    /**
     * What training does with a source whose label another catalogue contradicts (the
     * `provenance` step; lib/sky/provenance.ts): `keep` the MUWCLASS label (flagged only),
     * `drop` the source from training, or `require_agreement` (train a source of a class
     * other catalogues cover only when one confirms it). Held-out folds are scored alike.
     */
    conflicts: LabelConflictPolicy,
  }),
  /** labelled catalogs and the class each feeds (paper section 2.1) */
  label_catalogs: z.array(LabelCatalog).min(1),
  /** union-find deduplication within each class (paper section 2.2) */
  dedup: DedupParams,
  /** cross-match of label positions to the X-ray sources (paper section 2.3) */
  crossmatch: CrossmatchParams,
  /** SED translation (paper section 3); see schemas/sed.ts for each field */
  sed: SedSettings,
  /** the feature matrix (paper section 4.1) */
  features: FeaturesParams,
  /** the two-stage random forest (paper sections 4.3-4.4), scikit-learn parameter names */
  model: TwoStageParams,
  /** stratified K-fold cross-validation (paper section 5) and the protocols scored */
  evaluation: EvaluationSettings,
  /** Monte-Carlo error propagation, conformal class sets, the OOD flag, the class mix, the uncertain rule (schemas/uncertainty.ts) */
  uncertainty: UncertaintySettings,
  /**
   * The X-ray-only model (trained beside the baseline on every in-scope source, photometry or
   * not, from the features every X-ray source has): classify routes targets without enough
   * photometry to it instead of imputing their optical features
   */
  xray_model: z.strictObject({
    enabled: z.boolean(),
    /**
     * the level of its conformal sets (the uncertain rule's): X-ray features alone separate
     * the classes less well, so a single-class set needs a stricter level to be as often right
     */
    conformal_level: z.number().gt(0).lt(1),
  }),
  /** classifying a field (`xclass classify`): how counterparts are found in photometry catalogs */
  classify: z.strictObject({
    counterparts: CounterpartSettings,
    /**
     * at most this many X-ray sources per declination zone when a field is matched: one zone's
     * photometry rows are in memory at a time (lib/sky/zones.ts). The results do not depend on it.
     */
    zone_sources: z.number().int().positive(),
    /** and few enough sources that a zone reads about this many MB of the photometry catalogs */
    zone_catalog_mb: z.number().positive(),
  }),
  /**
   * `xclass fetch` and `classify --cone`: the TAP services a field's tables come from, and the
   * client's bounds (schemas/fetch.ts)
   */
  fetch: FetchSettings,
  /**
   * Ablations: each an overlay of the `sed`, `features` and `model` settings (and `labels.conflicts`), run as its
   * own branch beside the baseline (paper sections 3.4, 4.2, 6.1).
   */
  ablations: z.record(
    z.string().regex(/^[a-z0-9_]+$/, 'expected a name of lower-case letters, digits and _'),
    z.strictObject({
      sed: z.record(z.string(), z.unknown()).optional(),
      features: z.record(z.string(), z.unknown()).optional(),
      model: z.record(z.string(), z.unknown()).optional(),
      labels: z.strictObject({ conflicts: LabelConflictPolicy }).optional(),
    }),
  ),
  engine: z.strictObject({
    kind: z.enum(['embedded', 'temporal']),
    /** steps run at once (independent branches) */
    concurrency: z.number().int().min(1).max(64),
    /** embedded engine: run each step on a worker thread (keeps the main thread free for progress) */
    threads: z.boolean(),
  }),
  retry: RetryPolicy,
  temporal: z.strictObject({
    address: z.string().regex(/^[^:\s]+:\d+$/, 'expected HOST:PORT'),
    namespace: z.string().min(1),
    task_queue: z.string().min(1),
    /** every stage's activity settings unless `stages` says otherwise */
    activity_timeout_s: StageActivityOptions.shape.start_to_close_s,
    heartbeat_timeout_s: StageActivityOptions.shape.heartbeat_s,
    /** per stage: its own timeout, heartbeat and task queue (a `train` queue served by big machines) */
    stages: z.partialRecord(z.enum(STAGE_NAMES), StageActivityOptions.partial()),
  }),
});
export type XClassConfig = z.infer<typeof ConfigSchema>;
