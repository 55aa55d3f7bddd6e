import { Command } from 'commander';
import { loadRunRecords } from '../../artifacts/run-records.js';
import { out, warnSkipped, type CliContext } from '../shared.js';

/** `xclass runs` (README "The `xclass` command"). */
export function registerRuns(program: Command, ctx: CliContext): void {
  program
    .command('runs')
    .description('list recorded runs')
    .action(async () => {
      const { g, store } = ctx.storeOfOpts();
      const records = await loadRunRecords(store, warnSkipped);
      if (g.json) return out(JSON.stringify(records));
      for (const r of records) {
        const hits = r.steps.filter((s) => s.cacheHit).length;
        out(
          `${r.run_id}  ${r.status.padEnd(9)} ${r.engine.padEnd(8)} ${(r.wall_ms / 1000).toFixed(2).padStart(7)} s  ${r.steps.length} steps, ${hits} cached`,
        );
      }
    });
}
