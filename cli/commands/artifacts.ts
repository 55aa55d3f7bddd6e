import { Command } from 'commander';
import { out, warnSkipped, type CliContext } from '../shared.js';

/** `xclass artifacts` (README "The `xclass` command"). */
export function registerArtifacts(program: Command, ctx: CliContext): void {
  program
    .command('artifacts')
    .description('list stored artifacts')
    .option('--stage <name>', 'only this stage')
    .action(async (cmd: { stage?: string }) => {
      const { g, store } = ctx.storeOfOpts();
      const metas = (await store.list(warnSkipped)).filter((m) => !cmd.stage || m.stage === cmd.stage);
      if (g.json) return out(JSON.stringify(metas));
      for (const m of metas)
        out(
          `${m.stage.padEnd(12)} ${m.id.slice(0, 16)}  v${m.stage_version}  ${String(m.row_count).padStart(8)} rows  ${m.created_at}`,
        );
    });
}
