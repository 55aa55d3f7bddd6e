import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';

const workflowsPath = fileURLToPath(new URL('../../dist/workflows/index.js', import.meta.url));
const history = (name: string): unknown => JSON.parse(readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), 'utf8'));
const RUN = 'run-20261125T025543Z-fbbaf9';

/**
 * Histories recorded from a real Temporal server run of the pipeline with the SMOTE
 * ablation (parent, one CV-fold child workflow, the ablation's child workflow). Replaying them through today's workflow code fails if a
 * change breaks determinism: a different order of commands, a step added or removed
 * without versioning. Re-record them (README, "Temporal") when the DAG changes on purpose.
 */
describe('workflow determinism', () => {
  it('replays the recorded pipeline history', async () => {
    await expect(Worker.runReplayHistory({ workflowsPath, replayName: 'pipeline' }, history('pipeline-history.json'), RUN)).resolves.toBeUndefined();
  }, 120_000);

  it('replays the recorded CV-fold branch history', async () => {
    await expect(Worker.runReplayHistory({ workflowsPath, replayName: 'branch' }, history('branch-history.json'), `${RUN}/cv/fold-0`)).resolves.toBeUndefined();
  }, 120_000);

  it('replays the recorded ablation branch history', async () => {
    await expect(Worker.runReplayHistory({ workflowsPath, replayName: 'ablation' }, history('ablation-history.json'), `${RUN}/ablation/smote`)).resolves.toBeUndefined();
  }, 120_000);

  it('fails to replay when the recorded run does not match the code', async () => {
    // the same history with the first scheduled activity's stage changed: the workflow code must notice
    const h = history('pipeline-history.json') as { events: Record<string, unknown>[] };
    const tampered = JSON.parse(JSON.stringify(h)) as { events: Record<string, { activityType?: { name: string } }>[] };
    const ev = tampered.events.find((e) => e['activityTaskScheduledEventAttributes'])!;
    ev['activityTaskScheduledEventAttributes']!.activityType = { name: 'somethingElse' };
    await expect(Worker.runReplayHistory({ workflowsPath, replayName: 'tampered' }, tampered, RUN)).rejects.toThrow(/[Nn]ondeterminism/);
  }, 120_000);
});
