import { z } from 'zod';

const JsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(JsonValue), z.record(z.string(), JsonValue)]),
);

/** A raw file that entered the pipeline (through `ingest`). */
export const RawFileRef = z.object({
  /** path relative to the data folder (or absolute when outside it) */
  name: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
});
export type RawFileRef = z.infer<typeof RawFileRef>;

/**
 * One file of an artifact directory, as written: checked on every cache hit and read.
 * Size and checksum are null only in artifacts written before they were recorded
 * (meta.json `files` as a list of names): readable, never a cache hit.
 */
export const ArtifactFile = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/),
  bytes: z.number().int().nonnegative().nullable(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
});
export type ArtifactFile = z.infer<typeof ArtifactFile>;

/** meta.json of one artifact directory. */
export const ArtifactMeta = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/),
  stage: z.string().min(1),
  stage_version: z.number().int().positive(),
  schema: z.string().min(1),
  params: z.record(z.string(), JsonValue),
  /** role -> artifact id */
  inputs: z.record(z.string(), z.string()),
  /** raw files read by this stage, with content hashes (ingest only) */
  raw_files: z.array(RawFileRef),
  /** rows of the main table (data.parquet) */
  row_count: z.number().int().nonnegative(),
  /** table name -> schema name: `data` is data.parquet, others are <name>.parquet */
  tables: z.record(z.string(), z.string()),
  table_rows: z.record(z.string(), z.number().int().nonnegative()),
  /** every file in the directory besides meta.json, with its size and SHA-256 */
  files: z.array(ArtifactFile),
  created_at: z.string(),
  code_version: z.string().nullable(),
  wall_ms: z.number().nonnegative(),
  host: z.string(),
  /** stage-specific facts worth auditing: skipped rows, counts */
  notes: z.record(z.string(), JsonValue),
  /**
   * Facts later stages and readers rely on (feature names, the feature spec, the training
   * set's fingerprint), typed per stage by schemas/facts.ts; absent in artifacts written
   * before 2026-11-25, whose notes held them under the same keys.
   */
  facts: z.record(z.string(), JsonValue).optional(),
  /**
   * SHA-256 of the canonical JSON of every other key of this meta.json, written last:
   * an edit of any key (facts, notes, file digests, row counts) is damage. Absent in
   * artifacts written before 2026-12-06, which are read without it.
   */
  meta_sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
export type ArtifactMeta = z.infer<typeof ArtifactMeta>;
