import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import type { XClassConfig } from '../config/schema.js';
import type { PipelineInput } from '../schemas/pipeline.js';
import type { RunProgress } from '../schemas/step.js';
import type { DagResult } from '../workflows/dag.js';
import type { Dag } from '../workflows/dag.js';
import type { ArtifactRef } from '../schemas/step.js';
import { progressQuery, xclassDag, xclassPipeline, type DagRunSettings } from '../workflows/temporal.js';

type FollowOptions = { reconnectForMs?: number; onProgress?: (p: RunProgress) => void };

/**
 * `xclass run --engine temporal`: starts the pipeline workflow and waits for its result.
 * The workflow's state lives on the server, so losing the server for a while (a
 * restart) only makes the client wait and reconnect; the run itself resumes.
 */
export function runOnTemporal(
  config: XClassConfig,
  input: PipelineInput,
  runId: string,
  opts: FollowOptions = {},
): Promise<DagResult> {
  return followWorkflow(
    config,
    runId,
    (client) =>
      client.workflow.start(xclassPipeline, {
        taskQueue: config.temporal.task_queue,
        workflowId: runId,
        args: [input],
      }),
    opts,
  );
}

/** `xclass classify --engine temporal`: any DAG of stage steps as one workflow (no progress query: its steps report through the run record). */
export function runDagOnTemporal(
  config: XClassConfig,
  settings: DagRunSettings,
  dag: Dag,
  external: Record<string, ArtifactRef>,
  runId: string,
  opts: Omit<FollowOptions, 'onProgress'> = {},
): Promise<DagResult> {
  return followWorkflow(
    config,
    runId,
    (client) =>
      client.workflow.start(xclassDag, {
        taskQueue: config.temporal.task_queue,
        workflowId: runId,
        args: [settings, dag, external],
      }),
    opts,
  );
}

async function followWorkflow(
  config: XClassConfig,
  runId: string,
  start: (client: Client) => Promise<unknown>,
  opts: FollowOptions,
): Promise<DagResult> {
  const deadline = Date.now() + (opts.reconnectForMs ?? 10 * 60_000);
  let started = false;
  for (;;) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address: config.temporal.address });
      const client = new Client({ connection, namespace: config.temporal.namespace });
      if (!started) {
        await start(client);
        started = true;
      }
      const handle = client.workflow.getHandle<typeof xclassPipeline>(runId);
      // follow the run: the workflow answers a `progress` query while it runs (one query at
      // a time; while no worker is up, a query waits and its RPC is retried)
      let inFlight: { abort: AbortController; done: Promise<void> } | undefined;
      const poll = opts.onProgress
        ? setInterval(() => {
            if (inFlight) return;
            const abort = new AbortController();
            const done = connection!
              .withAbortSignal(abort.signal, () => handle.query(progressQuery))
              .then(opts.onProgress!, () => {})
              .finally(() => (inFlight = undefined));
            inFlight = { abort, done };
          }, 1000)
        : undefined;
      try {
        return await handle.result();
      } finally {
        clearInterval(poll);
        // a query still waiting (its retry timer included) must end before the connection
        // closes, or its next retry throws on a closed channel and takes the process down
        if (inFlight) {
          inFlight.abort.abort();
          await Promise.race([inFlight.done, sleep(5000)]);
        }
      }
    } catch (err) {
      // a failed workflow is an answer, not an outage
      if (err instanceof WorkflowFailedError || !started || Date.now() > deadline) throw err;
      await sleep(1000);
    } finally {
      await connection?.close().catch(() => {});
    }
  }
}
