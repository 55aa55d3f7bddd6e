import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import type { PipelineInput } from '../../schemas/pipeline.js';

const workflowsPath = fileURLToPath(new URL('../../dist/workflows/index.js', import.meta.url));
const history = (name: string): History =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), 'utf8')) as History;
const RUN = 'run-20261201T112228Z-63a4d0';

interface Payload {
  metadata: Record<string, string>;
  data: string;
}
interface History {
  events: {
    workflowExecutionStartedEventAttributes?: { input: { payloads: Payload[] } };
    activityTaskScheduledEventAttributes?: { activityId: string; activityType: { name: string } };
  }[];
}

/** The history with the pipeline input it started with changed by `edit`: the same code then declares other steps. */
function withInput(h: History, edit: (input: PipelineInput) => void): History {
  const copy = JSON.parse(JSON.stringify(h)) as History;
  const payload = copy.events[0]!.workflowExecutionStartedEventAttributes!.input.payloads[0]!;
  const input = JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as PipelineInput;
  edit(input);
  payload.data = Buffer.from(JSON.stringify(input)).toString('base64');
  return copy;
}

const replay = (h: History, workflowId: string, name: string) =>
  Worker.runReplayHistory({ workflowsPath, replayName: name }, h, workflowId);

/**
 * Histories recorded from a real Temporal server run of the pipeline with the SMOTE
 * ablation (parent, one CV-fold child workflow, the ablation's child workflow), by
 * tests/temporal/record-histories.ts. Each step is an activity named after its stage,
 * whose id is the step key with a digest of its params and input ids. Replaying the
 * histories through today's workflow code fails if a change breaks determinism: steps
 * in another order, a step added or removed, a step's params or inputs changed. Record
 * them again (README, "Temporal") after a deliberate change to the DAG.
 */
describe('workflow determinism', () => {
  it('replays the recorded pipeline history; its activities are named by stage', async () => {
    const h = history('pipeline-history.json');
    const types = new Set(
      h.events.flatMap((e) =>
        e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType.name] : [],
      ),
    );
    expect([...types].sort()).toEqual([
      'crossmatch',
      'dedup',
      'evaluate',
      'features',
      'ingest',
      'labels',
      'provenance',
      'reference',
      'sed',
      'train',
    ]);
    await expect(replay(h, RUN, 'pipeline')).resolves.toBeUndefined();
    // the edit helper itself changes nothing: an input decoded and encoded again still replays
    await expect(
      replay(
        withInput(h, () => {}),
        RUN,
        'roundtrip',
      ),
    ).resolves.toBeUndefined();
  }, 120_000);

  it('replays the recorded CV-fold branch history', async () => {
    await expect(replay(history('branch-history.json'), `${RUN}/cv/fold-0`, 'branch')).resolves.toBeUndefined();
  }, 120_000);

  it('replays the recorded ablation branch history', async () => {
    await expect(
      replay(history('ablation-history.json'), `${RUN}/ablation/smote`, 'ablation'),
    ).resolves.toBeUndefined();
  }, 120_000);

  it('fails to replay when a step runs another stage', async () => {
    const h = history('pipeline-history.json');
    h.events.find((e) => e.activityTaskScheduledEventAttributes)!.activityTaskScheduledEventAttributes!.activityType = {
      name: 'sed',
    };
    await expect(replay(h, RUN, 'stage')).rejects.toThrow(/[Nn]ondeterminism/);
  }, 120_000);

  it('fails to replay when the pipeline declares its steps in another order', async () => {
    // the label catalogs in reverse: the same steps, declared (and so scheduled) in another order
    const h = withInput(history('pipeline-history.json'), (input) => input.label_catalogs.reverse());
    await expect(replay(h, RUN, 'reordered')).rejects.toThrow(/[Nn]ondeterminism/);
  }, 120_000);

  it("fails to replay when a step's params change", async () => {
    // one forest setting: every train step's params change, nothing else
    const h = withInput(history('pipeline-history.json'), (input) => {
      input.baseline.model.forest.n_estimators += 1;
    });
    await expect(replay(h, RUN, 'params')).rejects.toThrow(/[Nn]ondeterminism/);
  }, 120_000);
});
