import { z } from 'zod';

const StepRecordSchema = z.object({
  key: z.string(),
  stage: z.string(),
  /** absent in records written before steps carried it */
  variant: z.string().nullable().default(null),
  status: z.enum(['pending', 'running', 'done', 'failed', 'skipped']),
  artifactId: z.string().nullable(),
  cacheHit: z.boolean().nullable(),
  wallMs: z.number().nullable(),
  startedAtMs: z.number().nullable(),
  endedAtMs: z.number().nullable(),
  error: z.string().nullable(),
});

/** The data folder a run read, checked against its SHA256SUMS (config/data-integrity.ts). */
export const DataIntegrity = z.object({
  dir: z.string(),
  /** SHA-256 of the folder's SHA256SUMS file, which names the digest of every file; null: the folder has none (unchecked) */
  sha256sums: z.string().nullable(),
  /** files listed and hashed */
  files: z.number().int().nonnegative(),
  /** listed files that are missing (sha256 null) or differ from their listed digest */
  differing: z.array(z.object({ name: z.string(), sha256: z.string().nullable(), listed: z.string() })),
});
export type DataIntegrity = z.infer<typeof DataIntegrity>;

/** `<store>/_runs/<run_id>.json`: what one run did, step by step. */
export const RunRecord = z.object({
  run_id: z.string(),
  workflow: z.string(),
  engine: z.enum(['embedded', 'temporal']),
  config_hash: z.string(),
  code_version: z.string().nullable(),
  started_at: z.string(),
  ended_at: z.string(),
  wall_ms: z.number(),
  /** `interrupted`: the process died mid-way; recorded at the next start from its `_active` marker, steps unknown */
  status: z.enum(['succeeded', 'failed', 'interrupted']),
  steps: z.array(StepRecordSchema),
  /** the data folder and its digests (absent in records written before 2026-12-06, and in interrupted runs' records) */
  data: DataIntegrity.nullable().default(null),
});
export type RunRecord = z.infer<typeof RunRecord>;
