import { proxyActivities } from '@temporalio/workflow';
import type { PipelineInput } from '../schemas/pipeline.js';
import type { DagResult, StepActivities } from './dag.js';
import { INPUT_ERROR_TYPE } from '../lib/errors.js';
import { buildPipeline } from './pipeline.js';
import { runDag } from './scheduler.js';

/**
 * The training pipeline as a Temporal workflow: the same DAG and scheduler as the
 * embedded engine, with each step a proxied activity under the configured retry
 * policy. Bad input fails as a non-retryable `InputError`.
 */
export async function xclassPipeline(input: PipelineInput): Promise<DagResult> {
  const { runStep } = proxyActivities<StepActivities>({
    startToCloseTimeout: input.activity_timeout_s * 1000,
    heartbeatTimeout: input.heartbeat_timeout_s * 1000,
    retry: {
      initialInterval: input.retry.initial_interval_ms,
      backoffCoefficient: input.retry.backoff_coefficient,
      maximumInterval: input.retry.maximum_interval_ms,
      maximumAttempts: input.retry.maximum_attempts,
      nonRetryableErrorTypes: [INPUT_ERROR_TYPE],
    },
  });
  return runDag(buildPipeline(input), (req) => runStep(req), { concurrency: input.concurrency });
}
