import { Command, Option } from 'commander';
import { runEmbedded } from '../../engine/embedded.js';
import { openStore, planPipeline } from '../../engine/plan.js';
import { buildPipeline } from '../../workflows/pipeline.js';
import { runRecorded } from '../recorded.js';
import { createReporter } from '../progress.js';
import { stepsByStage } from '../audit.js';
import { variantSteps } from '../../workflows/keys.js';
import { collect, configFrom, out, type CliContext, type GlobalOpts } from '../shared.js';

/** `xclass run` (README "The `xclass` command"). */
export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('run the training pipeline (embedded engine by default) and print the run id')
    .addOption(new Option('--engine <kind>', 'embedded or temporal').choices(['embedded', 'temporal']))
    .option('--address <host:port>', 'Temporal frontend address')
    .option('--no-progress', 'no progress bar')
    .option(
      '--ablation <name>',
      'run the baseline and only this ablation branch (repeatable); shared steps are cache hits',
      collect,
      [],
    )
    .option('--no-ablations', 'run the baseline only')
    .action(
      async (cmd: { engine?: string; address?: string; progress: boolean; ablation: string[]; ablations: boolean }) => {
        const g = program.opts<GlobalOpts>();
        const extra = [
          ...(cmd.engine ? [`engine.kind=${cmd.engine}`] : []),
          ...(cmd.address ? [`temporal.address=${cmd.address}`] : []),
        ];
        const config = configFrom(g, extra);
        const store = openStore(config);
        await store.sweepTemp();
        const input = await planPipeline(
          config,
          !cmd.ablations ? { ablations: [] } : cmd.ablation.length > 0 ? { ablations: cmd.ablation } : {},
        );
        const reporterMode = g.json ? 'json' : cmd.progress && process.stderr.isTTY ? 'tty' : 'quiet';
        const onTemporal = config.engine.kind === 'temporal';
        const { runId, record, result } = await runRecorded(store, config, 'xclass-pipeline', async (runId) => {
          if (onTemporal && !g.json)
            process.stderr.write(
              `run ${runId}: started on Temporal at ${config.temporal.address}, task queue ${config.temporal.task_queue}\n`,
            );
          const reporter = createReporter(reporterMode);
          try {
            return onTemporal
              ? await (
                  await import('../../engine/temporal-client.js')
                ).runOnTemporal(config, input, runId, { onProgress: (p) => reporter.onSnapshot(p) })
              : await runEmbedded(buildPipeline(input), {
                  store,
                  concurrency: config.engine.concurrency,
                  retry: config.retry,
                  threads: config.engine.threads,
                  onEvent: (e) => reporter.onEvent(e),
                  onRetry: (k, a, e, d) => reporter.onRetry(k, a, e, d),
                });
          } finally {
            reporter.stop();
          }
        });
        const hits = result.steps.filter((s) => s.cacheHit).length;
        if (g.json) out(JSON.stringify({ event: 'run_end', ...record }));
        else if (result.ok) {
          // one line per stage: how many of its steps were computed and how many were cache hits
          for (const [stage, c] of stepsByStage(result.steps))
            process.stderr.write(
              `  ${stage.padEnd(12)} ${String(c.computed).padStart(3)} computed ${String(c.cached).padStart(3)} cached\n`,
            );
          process.stderr.write(
            `${record.status} in ${(record.wall_ms / 1000).toFixed(2)} s: ${result.steps.length} steps, ${hits} cache hits, store ${store.root}\n`,
          );
          const final = result.steps.find((s) => s.key === variantSteps(null).finalModel)?.artifactId;
          if (final)
            process.stderr.write(
              `final model train/${final.slice(0, 12)}: xclass classify TABLE --model ${final.slice(0, 12)} [--catalog FILE]...\n`,
            );
          out(runId);
        }
        if (!result.ok) {
          for (const s of result.steps.filter((x) => x.status === 'failed'))
            process.stderr.write(`xclass: step ${s.key} failed: ${s.error}\n`);
          ctx.exitCode = 1;
        }
      },
    );
}
