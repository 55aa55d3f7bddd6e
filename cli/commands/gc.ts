import { Command } from 'commander';
import { activeRuns } from '../../engine/runs.js';
import { collectGarbage } from '../../artifacts/maintenance.js';
import { out, type CliContext } from '../shared.js';

/** `xclass gc` (README "The `xclass` command"). */
export function registerGc(program: Command, ctx: CliContext): void {
  program
    .command('gc')
    .description('list artifacts that no run record reaches (and quarantined ones); --delete removes them')
    .option('--delete', 'remove them (refused while a run is in progress or a run record is unreadable)')
    .option(
      '--all',
      'with --delete: remove them even when the store has no run record or more than config store.gc_max_share would go',
    )
    .action(async (cmd: { delete?: boolean; all?: boolean }) => {
      const { g, store, config } = ctx.storeOfOpts();
      const res = await collectGarbage(store, {
        delete: cmd.delete === true,
        activeRuns: () => activeRuns(store),
        all: cmd.all === true,
        maxShare: config.store.gc_max_share,
      });
      if (g.json) return out(JSON.stringify(res));
      for (const a of res.unreachable)
        out(
          `${cmd.delete ? 'removed' : 'unreachable'}  ${a.stage}/${a.id.slice(0, 16)}  ${(a.bytes / 1e6).toFixed(2)} MB  ${a.created_at}`,
        );
      for (const q of res.quarantined)
        out(`${cmd.delete ? 'removed' : 'quarantined'}  ${q.path}  ${(q.bytes / 1e6).toFixed(2)} MB`);
      const mb =
        (res.unreachable.reduce((t, a) => t + a.bytes, 0) + res.quarantined.reduce((t, q) => t + q.bytes, 0)) / 1e6;
      out(
        `${res.reachable} artifacts reached by ${res.runs} run records; ${res.unreachable.length} unreachable, ` +
          `${res.quarantined.length} quarantined (${mb.toFixed(1)} ` +
          `MB)${cmd.delete ? ' removed' : '; xclass gc --delete removes them'}`,
      );
    });
}
