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
export function createTemporalActivities(
  store: ArtifactStore,
  onStep: (event: 'started' | 'done' | 'failed', key: string, stage: StageName) => void = () => {},
): StageActivities {
  const stages = stageActivities(store, {
    progressOf: (key) => (done, total, note) => Context.current().heartbeat({ key, done, total, note }),
    trees: createTreePool(),
  });
  const wrap =
    <S extends StageName>(stage: S, run: StageActivity<S>): StageActivity<S> =>
    async (params, inputs, step) => {
      onStep('started', step.key, stage);
      const ctx = Context.current();
      // beat well inside the heartbeat timeout, so a live worker is never taken for dead
      const every = Math.max(200, Math.min(5000, (ctx.info.heartbeatTimeoutMs ?? 15000) / 3));
      const beat = setInterval(() => ctx.heartbeat({ key: step.key }), every);
      try {
        const out = await run(params, inputs, step);
        onStep('done', step.key, stage);
        return out;
      } catch (err) {
        onStep('failed', step.key, stage);
        if (isNonRetryable(err))
          throw ApplicationFailure.create({
            message: (err as Error).message,
            type: (err as Error).name,
            nonRetryable: true,
          });
        throw err;
      } finally {
        clearInterval(beat);
      }
    };
  return {
    ingest: wrap('ingest', stages.ingest),
    reference: wrap('reference', stages.reference),
    labels: wrap('labels', stages.labels),
    dedup: wrap('dedup', stages.dedup),
    crossmatch: wrap('crossmatch', stages.crossmatch),
    provenance: wrap('provenance', stages.provenance),
    sed: wrap('sed', stages.sed),
    features: wrap('features', stages.features),
    train: wrap('train', stages.train),
    predict: wrap('predict', stages.predict),
    evaluate: wrap('evaluate', stages.evaluate),
    classify: wrap('classify', stages.classify),
  };
}
