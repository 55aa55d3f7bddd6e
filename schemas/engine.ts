import { z } from 'zod';
import { STAGE_NAMES } from './step.js';

/** How a failed step is retried: the same policy on the embedded engine and on Temporal. */
export const RetryPolicy = z.strictObject({
  initial_interval_ms: z.number().int().positive().max(600_000),
  backoff_coefficient: z.number().min(1).max(10),
  maximum_interval_ms: z.number().int().positive().max(3_600_000),
  /** total attempts including the first; 1 = never retry; at most 20 */
  maximum_attempts: z.number().int().min(1).max(20),
});
export type RetryPolicy = z.infer<typeof RetryPolicy>;

/** Temporal settings of one stage's activity (config `temporal.stages.<stage>`). */
export const StageActivityOptions = z.strictObject({
  /** most time one attempt may take */
  start_to_close_s: z
    .number()
    .positive()
    .max(7 * 86_400),
  /** a worker that sends no heartbeat for this long is taken for dead and the attempt retried elsewhere */
  heartbeat_s: z.number().positive().max(3_600),
  /** the task queue whose workers run it (null: the workflow's queue) */
  task_queue: z.string().min(1).nullable(),
});
export type StageActivityOptions = z.infer<typeof StageActivityOptions>;

/** The activity settings of every stage, resolved: what the workflow proxies each stage with. */
export const ActivityOptionsByStage = z.record(z.enum(STAGE_NAMES), StageActivityOptions);
export type ActivityOptionsByStage = z.infer<typeof ActivityOptionsByStage>;
