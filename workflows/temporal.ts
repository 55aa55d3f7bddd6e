import { defineQuery, executeChild, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { PipelineInput } from '../schemas/pipeline.js';
import { BRANCH_STAGE, splitBranches, type ArtifactRef, type Dag, type DagResult, type StepActivities, type StepOutcome, type StepRequest } from './dag.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/errors.js';
import { buildPipeline } from './pipeline.js';
import { runDag } from './scheduler.js';

/**
 * The training pipeline as a Temporal workflow: the same DAG and scheduler as the
 * embedded engine, each step a proxied activity under the configured retry policy,
 * and each branch (a CV fold, an ablation) a child workflow. Bad input fails as a
 * non-retryable `InputError`.
 */
/** Progress of a pipeline run, for clients that follow it. */
export interface PipelineProgress {
  done: number;
  total: number;
  cacheHits: number;
  failed: number;
  running: string[];
}

export const progressQuery = defineQuery<PipelineProgress>('progress');

export async function xclassPipeline(input: PipelineInput): Promise<DagResult> {
  const { parent, branches } = splitBranches(buildPipeline(input));
  const progress: PipelineProgress = { done: 0, total: parent.steps.length, cacheHits: 0, failed: 0, running: [] };
  setHandler(progressQuery, () => progress);
  const runStep = stepRunner(input);
  const parentId = workflowInfo().workflowId;
  return runDag(
    parent,
    async (req): Promise<StepOutcome> => {
      if (req.stage !== BRANCH_STAGE) return runStep(req);
      const branch = req.params['branch'] as string;
      const result = await executeChild(xclassBranch, { workflowId: `${parentId}/${branch}`, args: [input, branches[branch]!, req.inputs] });
      const failed = result.steps.filter((s) => s.status !== 'done');
      if (failed.length > 0) throw new Error(`branch ${branch}: ${failed.map((s) => `${s.key} ${s.status}: ${s.error}`).join('; ')}`);
      const outputs: Record<string, ArtifactRef> = {};
      for (const s of result.steps) outputs[s.key] = { stage: s.stage, id: s.artifactId! };
      const last = result.steps[result.steps.length - 1]!;
      return { artifactId: last.artifactId!, cacheHit: result.steps.every((s) => s.cacheHit), wallMs: result.steps.reduce((t, s) => t + (s.wallMs ?? 0), 0), outputs, inner: result.steps };
    },
    {
      concurrency: input.concurrency,
      onEvent: (e) => {
        progress.done = e.done;
        if (e.type === 'start') progress.running = [...progress.running, e.step.key];
        else progress.running = progress.running.filter((k) => k !== e.step.key);
        if (e.type === 'done' && e.step.cacheHit) progress.cacheHits++;
        if (e.type === 'failed' || e.type === 'skipped') progress.failed++;
      },
    },
  );
}

/** One branch of the pipeline as a child workflow: its sub-DAG, given its parent's artifacts. */
export async function xclassBranch(input: PipelineInput, dag: Dag, external: Record<string, ArtifactRef>): Promise<DagResult> {
  return runDag(dag, stepRunner(input), { concurrency: input.concurrency, external });
}

function stepRunner(input: PipelineInput): (req: StepRequest) => Promise<StepOutcome> {
  const { runStep } = proxyActivities<StepActivities>({
    startToCloseTimeout: input.activity_timeout_s * 1000,
    heartbeatTimeout: input.heartbeat_timeout_s * 1000,
    retry: {
      initialInterval: input.retry.initial_interval_ms,
      backoffCoefficient: input.retry.backoff_coefficient,
      maximumInterval: input.retry.maximum_interval_ms,
      maximumAttempts: input.retry.maximum_attempts,
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  });
  return (req) => runStep(req);
}
