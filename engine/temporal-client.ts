import { Client, Connection } from '@temporalio/client';
import type { XClassConfig } from '../config/schema.js';
import type { PipelineInput } from '../schemas/pipeline.js';
import type { DagResult } from '../workflows/dag.js';

/** `xclass run --engine temporal`: starts the pipeline workflow and waits for its result. */
export async function runOnTemporal(config: XClassConfig, input: PipelineInput, runId: string): Promise<DagResult> {
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const handle = await client.workflow.start('xclassPipeline', {
      taskQueue: config.temporal.task_queue,
      workflowId: runId,
      args: [input],
    });
    return (await handle.result()) as DagResult;
  } finally {
    await connection.close();
  }
}
