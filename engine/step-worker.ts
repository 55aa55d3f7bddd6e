// Worker-thread entry for the embedded engine (run by piscina): runs one step off the
// main thread, so the main thread stays free to schedule and draw progress.
import { ArtifactStore, type VerifyMode } from '../artifacts/store.js';
import { runStep } from '../activities/run-step.js';
import { createTreePool, type TreePool } from './tree-pool.js';
import type { StepOutcome, StepRequest } from '../schemas/step.js';

export interface WorkerTask {
  storeRoot: string;
  verify: VerifyMode;
  request: StepRequest;
  /** the threads of this thread's tree pool (fixed by its first task) */
  treeThreads: number;
}

/** this thread's tree pool, made at its first step; its threads start when a forest is fitted */
let trees: TreePool | undefined;

export type WorkerResult = { ok: true; outcome: StepOutcome } | { ok: false; name: string; message: string };

export default async function runTask(task: WorkerTask): Promise<WorkerResult> {
  try {
    return {
      ok: true,
      outcome: await runStep(new ArtifactStore(task.storeRoot, task.verify), task.request, {
        trees: (trees ??= createTreePool(task.treeThreads)),
      }),
    };
  } catch (err) {
    // errors cross the thread boundary as plain data so their name (InputError) survives
    const e = err instanceof Error ? err : new Error(String(err));
    return { ok: false, name: e.name, message: e.message };
  }
}
