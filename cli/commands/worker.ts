import { Command } from 'commander';
import { openStore } from '../../engine/plan.js';
import { configFrom, type CliContext, type GlobalOpts } from '../shared.js';

/** `xclass worker` (README "The `xclass` command"). */
export function registerWorker(program: Command, _ctx: CliContext): void {
  program
    .command('worker')
    .description('run a Temporal worker for XClass workflows and steps')
    .option('--address <host:port>', 'Temporal frontend address')
    .option('--task-queue <name>', "the workflows' task queue (config temporal.task_queue)")
    .option(
      '--queue <name...>',
      'poll only these task queues (default: the main one and every queue config temporal.stages routes a stage to)',
    )
    .option('--concurrency <n>', 'steps this worker runs at once')
    .action(async (cmd: { address?: string; taskQueue?: string; queue?: string[]; concurrency?: string }) => {
      const extra = [
        ...(cmd.address ? [`temporal.address=${cmd.address}`] : []),
        ...(cmd.taskQueue ? [`temporal.task_queue=${JSON.stringify(cmd.taskQueue)}`] : []),
        ...(cmd.concurrency ? [`engine.concurrency=${cmd.concurrency}`] : []),
      ];
      const config = configFrom(program.opts<GlobalOpts>(), extra);
      const { runTemporalWorker } = await import('../../engine/temporal-worker.js');
      process.stderr.write(
        `worker: ${config.temporal.address}, task queue ${config.temporal.task_queue}, store ${openStore(config).root}\n`,
      );
      await runTemporalWorker(config, cmd.queue ? { queues: cmd.queue } : {});
    });
}
