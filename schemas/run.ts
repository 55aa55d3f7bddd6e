import { z } from 'zod';

export const StepRecordSchema = z.object({
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
});
export type RunRecord = z.infer<typeof RunRecord>;
