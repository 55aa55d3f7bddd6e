import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { XClassConfig } from '../config/schema.js';
import { createTemporalActivities } from './temporal-activities.js';
import { openStore } from './plan.js';

export function workflowsPath(): string {
  return fileURLToPath(new URL('../workflows/index.js', import.meta.url));
}

/**
 * `xclass worker`: polls the task queue for XClass workflows and stage activities, and
 * every queue config `temporal.stages` routes a stage to (or only `--queue` ones), until
 * stopped.
 */
export async function runTemporalWorker(
  config: XClassConfig,
  opts: { concurrency?: number; queues?: readonly string[] } = {},
): Promise<void> {
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const main = config.temporal.task_queue;
  const routed = Object.values(config.temporal.stages).flatMap((s) => (s?.task_queue ? [s.task_queue] : []));
  const queues = opts.queues && opts.queues.length > 0 ? [...new Set(opts.queues)] : [...new Set([main, ...routed])];
  // one line per step on stderr: which worker ran what (operators, and the SIGKILL test, read it)
  const activities = createTemporalActivities(openStore(config), (event, key, stage) =>
    process.stderr.write(`worker ${process.pid}: ${stage} ${key} ${event}\n`),
  );
  try {
    const workers = await Promise.all(
      queues.map((taskQueue) =>
        Worker.create({
          connection,
          namespace: config.temporal.namespace,
          taskQueue,
          // workflows run on the main queue only; other queues serve the stages routed to them
          ...(taskQueue === main ? { workflowsPath: workflowsPath() } : {}),
          activities,
          maxConcurrentActivityTaskExecutions: opts.concurrency ?? config.engine.concurrency,
        }),
      ),
    );
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await connection.close();
  }
}
