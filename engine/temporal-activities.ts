import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { stageActivities } from '../activities/run-step.js';
import type { ArtifactStore } from '../artifacts/store.js';
import { STAGE_NAMES, type StageName } from '../schemas/step.js';
import type { StageActivities, StageActivity } from '../activities/contract.js';
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
  // one wrapped activity per stage, under its name (the map's type is derived from the stage declarations)
  return Object.fromEntries(
    STAGE_NAMES.map((name) => [name, wrap(name, stages[name] as StageActivity<typeof name>)]),
  ) as unknown as StageActivities;
}
