import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { runStep } from '../activities/run-step.js';
import type { ArtifactStore } from '../artifacts/store.js';
import { isNonRetryable } from './retry.js';
import type { StepActivities } from '../workflows/dag.js';

/**
 * The activities a Temporal worker registers: the same `runStep` the embedded engine
 * calls, with progress turned into heartbeats and bad input into a non-retryable
 * failure carrying the same one-line message.
 */
export function createTemporalActivities(store: ArtifactStore): StepActivities {
  return {
    async runStep(request) {
      const ctx = Context.current();
      // beat well inside the heartbeat timeout, so a live worker is never taken for dead
      const every = Math.max(200, Math.min(5000, (ctx.info.heartbeatTimeoutMs ?? 15000) / 3));
      const beat = setInterval(() => ctx.heartbeat({ key: request.key }), every);
      try {
        return await runStep(store, request, (done, total, note) => ctx.heartbeat({ key: request.key, done, total, note }));
      } catch (err) {
        if (isNonRetryable(err)) throw ApplicationFailure.create({ message: (err as Error).message, type: (err as Error).name, nonRetryable: true });
        throw err;
      } finally {
        clearInterval(beat);
      }
    },
  };
}
