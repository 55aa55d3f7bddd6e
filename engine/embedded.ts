import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { RetryPolicy } from '../schemas/engine.js';
import { ArtifactStore } from '../artifacts/store.js';
import { runStep } from '../activities/run-step.js';
import { runDag } from '../workflows/scheduler.js';
import type { ArtifactRef, StepOutcome, StepRequest } from '../schemas/step.js';
import type { Dag, DagEvent, DagResult } from '../workflows/dag.js';
import { withRetry } from './retry.js';
import { createTreePool } from './tree-pool.js';
import { engineWorkerFile } from './worker-file.js';
import type { WorkerResult, WorkerTask } from './step-worker.js';

export interface EmbeddedOptions {
  store: ArtifactStore;
  concurrency: number;
  retry: RetryPolicy;
  /** run steps on worker threads (needs the compiled dist/ build) */
  threads: boolean;
  onEvent?: (event: DagEvent) => void;
  /** artifacts made outside the DAG that its steps read (by key) */
  external?: Record<string, ArtifactRef>;
  onRetry?: (key: string, attempt: number, err: unknown, delayMs: number) => void;
  /** progress inside a step run in this thread (`threads: false`) */
  onStepProgress?: (key: string, done: number, total: number, note?: string) => void;
  /** replaces the stage runner (tests of the engine itself) */
  stepRunner?: (req: StepRequest) => Promise<StepOutcome>;
}

/**
 * The embedded engine: the workflow's DAG and scheduler in this process, each step
 * retried under the same policy a Temporal activity gets, and (by default) run on a
 * worker thread so CPU-heavy stages run in parallel and never block progress output.
 */
export async function runEmbedded(dag: Dag, opts: EmbeddedOptions): Promise<DagResult> {
  let pool: Piscina | undefined;
  // steps run in this thread grow their trees on this pool; a step thread makes its own
  const trees = opts.threads || opts.stepRunner ? undefined : createTreePool();
  const onStep = opts.onStepProgress;
  const progressOf = onStep
    ? (key: string) => (done: number, total: number, note?: string) => onStep(key, done, total, note)
    : undefined;
  let runOnce =
    opts.stepRunner ??
    ((req: StepRequest) =>
      runStep(opts.store, req, { ...(trees ? { trees } : {}), ...(progressOf ? { progressOf } : {}) }));
  if (opts.threads && !opts.stepRunner) {
    pool = new Piscina({
      filename: engineWorkerFile('step-worker'),
      minThreads: 1,
      maxThreads: opts.concurrency,
      idleTimeout: 1000,
    });
    const p = pool;
    // each step thread's trees get its share of the cores: with two steps at once on two
    // cores, two tree threads a step would put four threads on two cores (a cold default run
    // spent 12 s more CPU and 7 s more wall so, the trees being the same bits either way)
    const treeThreads = Math.max(1, Math.floor(availableParallelism() / opts.concurrency));
    runOnce = async (req) => {
      const res = (await p.run({
        storeRoot: opts.store.root,
        verify: opts.store.verify,
        request: req,
        treeThreads,
      } satisfies WorkerTask)) as WorkerResult;
      if (res.ok) return res.outcome;
      const err = new Error(res.message);
      err.name = res.name;
      throw err;
    };
  }
  try {
    return await runDag(
      dag,
      (req) =>
        withRetry(
          () => runOnce(req),
          opts.retry,
          (attempt, err, delay) => opts.onRetry?.(req.key, attempt, err, delay),
        ),
      {
        concurrency: opts.concurrency,
        ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
        ...(opts.external ? { external: opts.external } : {}),
      },
    );
  } finally {
    await pool?.destroy();
    await trees?.destroy();
  }
}
