/**
 * Records the Temporal histories that tests/workflows/replay.test.ts replays: a real dev
 * server, a real worker process, the pipeline with the SMOTE ablation (small forests, two
 * folds, so the fixtures stay small), then `temporal workflow show -o json` of the parent,
 * one CV-fold child and the ablation child. Run after a deliberate change to the DAG:
 *
 *   npm run build && node dist/tests/temporal/record-histories.js
 *
 * It prints the activity types of the parent history (one per stage name) and the run id
 * to put in replay.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastJsonLine, ROOT, runCli, spawnCli, tempDir } from '../helpers.js';
import { DevServer, TEMPORAL_BIN } from './server.js';

const SETTINGS = ['model.forest.n_estimators=10', 'evaluation.folds=2', 'temporal.task_queue="record"'];

async function main(): Promise<void> {
  const dir = tempDir('xclass-record-');
  const server = await DevServer.start(join(dir, 'temporal.db'));
  const sets = [`store.path=${JSON.stringify(join(dir, 'store'))}`, ...SETTINGS].flatMap((s) => ['--set', s]);
  const worker = spawnCli([...sets, 'worker', '--address', server.address]);
  try {
    const run = runCli([
      ...sets,
      '--json',
      'run',
      '--ablation',
      'smote',
      '--engine',
      'temporal',
      '--address',
      server.address,
    ]);
    if (run.code !== 0) throw new Error(`run failed: ${run.stderr}`);
    const record = lastJsonLine(run.stdout) as { run_id: string };
    const show = (workflowId: string) => {
      const r = spawnSync(
        TEMPORAL_BIN,
        ['workflow', 'show', '--address', server.address, '-w', workflowId, '-o', 'json'],
        {
          encoding: 'utf8',
          maxBuffer: 1 << 28,
        },
      );
      if (r.status !== 0) throw new Error(`temporal workflow show -w ${workflowId}: ${r.stderr}`);
      return r.stdout;
    };
    const fixtures = join(ROOT, 'tests', 'fixtures');
    const parent = show(record.run_id);
    writeFileSync(join(fixtures, 'pipeline-history.json'), parent);
    writeFileSync(join(fixtures, 'branch-history.json'), show(`${record.run_id}/cv/fold-0`));
    writeFileSync(join(fixtures, 'ablation-history.json'), show(`${record.run_id}/ablation/smote`));
    const events = (
      JSON.parse(parent) as { events: { activityTaskScheduledEventAttributes?: { activityType: { name: string } } }[] }
    ).events;
    const types = [
      ...new Set(
        events.flatMap((e) =>
          e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType.name] : [],
        ),
      ),
    ];
    process.stdout.write(`run ${record.run_id}\nactivity types in the parent history: ${types.join(', ')}\n`);
  } finally {
    worker.kill('SIGTERM');
    await server.down();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
