import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { XClassConfig } from '../config/schema.js';
import { createTemporalActivities } from './temporal-activities.js';
import { openStore } from './plan.js';

export function workflowsPath(): string {
  return fileURLToPath(new URL('../workflows/index.js', import.meta.url));
}

/** `xclass worker`: polls the task queue and runs XClass workflows and steps until stopped. */
export async function runTemporalWorker(config: XClassConfig, opts: { concurrency?: number } = {}): Promise<void> {
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.task_queue,
      workflowsPath: workflowsPath(),
      activities: createTemporalActivities(openStore(config)),
      maxConcurrentActivityTaskExecutions: opts.concurrency ?? config.engine.concurrency,
    });
    await worker.run();
  } finally {
    await connection.close();
  }
}
