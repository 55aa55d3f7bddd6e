import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { stageActivities } from '../activities/run-step.js';
import type { ArtifactStore } from '../artifacts/store.js';
import type { StageActivities, StageActivity, StageName } from '../schemas/step.js';
import { isNonRetryable } from './retry.js';
import { createTreePool } from './tree-pool.js';

/**
 * The activities a Temporal worker registers, one per stage under the stage's name: the
 * same functions the embedded engine calls, with progress turned into heartbeats and
 * bad input into a non-retryable failure carrying the same one-line message.
 */
export function createTemporalActivities(store: ArtifactStore): StageActivities {
  const stages = stageActivities(store, { progressOf: (key) => (done, total, note) => Context.current().heartbeat({ key, done, total, note }), trees: createTreePool() });
  const wrap =
    <S extends StageName>(run: StageActivity<S>): StageActivity<S> =>
    async (params, inputs, step) => {
      const ctx = Context.current();
      // beat well inside the heartbeat timeout, so a live worker is never taken for dead
      const every = Math.max(200, Math.min(5000, (ctx.info.heartbeatTimeoutMs ?? 15000) / 3));
      const beat = setInterval(() => ctx.heartbeat({ key: step.key }), every);
      try {
        return await run(params, inputs, step);
      } catch (err) {
        if (isNonRetryable(err)) throw ApplicationFailure.create({ message: (err as Error).message, type: (err as Error).name, nonRetryable: true });
        throw err;
      } finally {
        clearInterval(beat);
      }
    };
  return {
    ingest: wrap(stages.ingest),
    reference: wrap(stages.reference),
    labels: wrap(stages.labels),
    dedup: wrap(stages.dedup),
    crossmatch: wrap(stages.crossmatch),
    sed: wrap(stages.sed),
    features: wrap(stages.features),
    train: wrap(stages.train),
    predict: wrap(stages.predict),
    evaluate: wrap(stages.evaluate),
    classify: wrap(stages.classify),
  };
}
