import {
  defineQuery,
  executeChild,
  proxyActivities,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { PipelineInput } from '../schemas/pipeline.js';
import {
  isStageName,
  type ArtifactRef,
  type RunProgress,
  type StageName,
  type StepOutcome,
  type StepRequest,
  callStage,
} from '../schemas/step.js';
import type { StageActivities } from '../activities/contract.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/errors.js';
import { canonicalJson } from '../lib/canonical.js';
import { fingerprint } from '../lib/fingerprint.js';
import { BRANCH_STAGE, splitBranches, type Dag, type DagResult } from './dag.js';
import { buildPipeline } from './pipeline.js';
import { runDag } from './scheduler.js';

/** The workflow answers this query with how far the run is. */
export const progressQuery = defineQuery<RunProgress>('progress');

/**
 * The training pipeline as a Temporal workflow: the same DAG and scheduler as the
 * embedded engine, each step an activity named after its stage (with that stage's
 * timeout, heartbeat and task queue) under the configured retry policy, and each branch
 * (a CV fold, an ablation) a child workflow. Bad input fails as a non-retryable
 * `InputError`.
 */
export async function xclassPipeline(input: PipelineInput): Promise<DagResult> {
  const { parent, branches } = splitBranches(buildPipeline(input));
  const progress: RunProgress = { done: 0, total: parent.steps.length, cacheHits: 0, failed: 0, running: [] };
  setHandler(progressQuery, () => progress);
  const runStep = stepRunner(input);
  const parentId = workflowInfo().workflowId;
  return runDag(
    parent,
    async (req): Promise<StepOutcome> => {
      if (req.stage !== BRANCH_STAGE) return runStep(req);
      const branch = req.params['branch'] as string;
      const result = await executeChild(xclassBranch, {
        workflowId: `${parentId}/${branch}`,
        args: [input, branches[branch]!, req.inputs],
      });
      const failed = result.steps.filter((s) => s.status !== 'done');
      if (failed.length > 0)
        throw new Error(`branch ${branch}: ${failed.map((s) => `${s.key} ${s.status}: ${s.error}`).join('; ')}`);
      const outputs: Record<string, ArtifactRef> = {};
      for (const s of result.steps) outputs[s.key] = { stage: s.stage as StageName, id: s.artifactId! };
      const last = result.steps[result.steps.length - 1]!;
      return {
        artifactId: last.artifactId!,
        cacheHit: result.steps.every((s) => s.cacheHit),
        wallMs: result.steps.reduce((t, s) => t + (s.wallMs ?? 0), 0),
        outputs,
        inner: result.steps,
      };
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

/** What running any DAG of stage steps needs: the retry policy, each stage's activity options, how many steps at once. */
export type DagRunSettings = Pick<PipelineInput, 'retry' | 'activities' | 'concurrency'>;

/**
 * Any DAG of stage steps as a workflow, given the artifacts made outside it (`xclass
 * classify` on Temporal: one classify step and the model it reads).
 */
export async function xclassDag(
  settings: DagRunSettings,
  dag: Dag,
  external: Record<string, ArtifactRef>,
): Promise<DagResult> {
  return runDag(dag, stepRunner(settings), { concurrency: settings.concurrency, external });
}

/** One branch of the pipeline as a child workflow: its sub-DAG, given its parent's artifacts. */
export async function xclassBranch(
  input: PipelineInput,
  dag: Dag,
  external: Record<string, ArtifactRef>,
): Promise<DagResult> {
  return runDag(dag, stepRunner(input), { concurrency: input.concurrency, external });
}

/**
 * Runs a step as its stage's activity. The activity id is the step key with a digest of
 * its params and input ids, so replaying a history against a pipeline whose steps were
 * reordered, or whose params or inputs changed, fails as nondeterministic.
 */
function stepRunner(input: DagRunSettings): (req: StepRequest) => Promise<StepOutcome> {
  const retry = {
    initialInterval: input.retry.initial_interval_ms,
    backoffCoefficient: input.retry.backoff_coefficient,
    maximumInterval: input.retry.maximum_interval_ms,
    maximumAttempts: input.retry.maximum_attempts,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  };
  const optionsOf = (stage: StageName): ActivityOptions => {
    const o = input.activities[stage];
    return {
      startToCloseTimeout: o.start_to_close_s * 1000,
      heartbeatTimeout: o.heartbeat_s * 1000,
      retry,
      ...(o.task_queue ? { taskQueue: o.task_queue } : {}),
    };
  };
  return async (req) => {
    if (!isStageName(req.stage)) throw new Error(`step ${req.key}: unknown stage '${req.stage}'`);
    const inputIds = Object.fromEntries(Object.entries(req.inputs).map(([role, ref]) => [role, ref.id]));
    const activityId = `${req.key}@${fingerprint(canonicalJson({ params: req.params, inputs: inputIds }))}`;
    return callStage(proxyActivities<StageActivities>({ ...optionsOf(req.stage), activityId }), req);
  };
}
