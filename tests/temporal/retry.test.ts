import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../../config/load.js';
import { createTemporalActivities } from '../../engine/temporal-activities.js';
import { openStore, planPipeline } from '../../engine/plan.js';
import type { DagResult } from '../../workflows/dag.js';
import type { StageActivities } from '../../activities/contract.js';
import { xclassPipeline } from '../../workflows/temporal.js';
import { tempDir } from '../helpers.js';
import { dataDirWith, muwclassHead, toCsv } from '../cli/fixtures.js';
import { DevServer } from './server.js';

const workflowsPath = fileURLToPath(new URL('../../dist/workflows/index.js', import.meta.url));
let server: DevServer;

beforeAll(async () => {
  server = await DevServer.start(join(tempDir(), 'temporal.db'));
}, 120_000);

afterAll(async () => {
  await server?.down();
});

/** Runs the pipeline workflow on an in-process worker whose activities are wrapped by `wrap`. */
async function runWith(
  taskQueue: string,
  sets: string[],
  wrap: (inner: StageActivities) => StageActivities,
): Promise<DagResult> {
  const config = loadConfig({
    sets: [
      `store.path=${JSON.stringify(join(tempDir(), 'store'))}`,
      'retry.initial_interval_ms=100',
      'model.forest.n_estimators=10',
      'evaluation.folds=2',
      // what is under test is Temporal's retry, not the Monte-Carlo draws (most of a run's time)
      'uncertainty.mc.draws=5',
      ...sets,
    ],
  });
  const input = await planPipeline(config, { ablations: [] });
  const connection = await NativeConnection.connect({ address: server.address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath,
    activities: wrap(createTemporalActivities(openStore(config))),
  });
  const clientConn = await Connection.connect({ address: server.address });
  try {
    const client = new Client({ connection: clientConn });
    return await worker.runUntil(
      client.workflow.execute(xclassPipeline, { taskQueue, workflowId: `${taskQueue}-${Date.now()}`, args: [input] }),
    );
  } finally {
    await clientConn.close();
    await connection.close();
  }
}

describe('retries on Temporal', () => {
  it('retries a transient failure: an activity failing twice succeeds on the third attempt', async () => {
    const attempts: number[] = [];
    const result = await runWith('transient', [], (inner) => ({
      ...inner,
      async ingest(params, inputs, step) {
        const attempt = Context.current().info.attempt;
        attempts.push(attempt);
        if (attempt < 3) throw new Error(`transient: connection reset (attempt ${attempt})`);
        return inner.ingest(params, inputs, step);
      },
    }));
    expect(attempts).toEqual([1, 2, 3]);
    expect(result.ok).toBe(true);
  }, 240_000);

  it('does not retry bad input, and reports it with the same one-line message', async () => {
    const { header, rows } = muwclassHead(8);
    const bad = rows.map((r) => [...r]);
    bad[1]![header.indexOf('True_Class')] = 'QSO';
    const attempts: number[] = [];
    const result = await runWith(
      'bad-input',
      [`data.dir=${JSON.stringify(dataDirWith(toCsv(header, bad)))}`],
      (inner) => ({
        ...inner,
        async ingest(params, inputs, step) {
          attempts.push(Context.current().info.attempt);
          return inner.ingest(params, inputs, step);
        },
      }),
    );
    expect(attempts).toEqual([1]);
    expect(result.ok).toBe(false);
    const ingest = result.steps.find((s) => s.key === 'ingest')!;
    expect(ingest.status).toBe('failed');
    expect(ingest.error).toMatch(
      /^catalogs\/muwclass_TD_2022\.csv, row 3, column 'True_Class': unknown label, .*got "QSO"$/,
    );
    expect(result.steps.find((s) => s.key === 'sed')!.status).toBe('skipped');
  }, 240_000);
});
