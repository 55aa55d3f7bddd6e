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
  /** every file in the directory besides meta.json */
  files: z.array(z.string()),
  created_at: z.string(),
  code_version: z.string().nullable(),
  wall_ms: z.number().nonnegative(),
  host: z.string(),
  /** stage-specific facts worth auditing: skipped rows, counts */
  notes: z.record(z.string(), JsonValue),
});
export type ArtifactMeta = z.infer<typeof ArtifactMeta>;
