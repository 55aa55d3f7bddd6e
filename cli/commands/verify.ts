import { Command } from 'commander';
import { verifyStore } from '../../artifacts/maintenance.js';
import { out, type CliContext } from '../shared.js';

/** `xclass verify` (README "The `xclass` command"). */
export function registerVerify(program: Command, ctx: CliContext): void {
  program
    .command('verify')
    .description(
      'check every artifact against its recorded sizes and SHA-256, and every run record; --repair quarantines what fails',
    )
    .option('--repair', 'move damaged artifacts to <store>/_quarantine (never deleted); the next run recomputes them')
    .action(async (cmd: { repair?: boolean }) => {
      const { g, store } = ctx.storeOfOpts();
      const report = await verifyStore(store, { repair: cmd.repair === true });
      if (g.json) out(JSON.stringify(report));
      else {
        for (const d of report.damaged)
          out(`damaged  ${d.path}: ${d.reason}${d.quarantined_to ? ` -> moved to ${d.quarantined_to}` : ''}`);
        for (const d of report.damaged_runs) out(`damaged  ${d.path}: ${d.reason}`);
        out(
          `checked ${report.artifacts} artifacts (${report.files} files, ${(report.bytes / 1e6).toFixed(1)} MB) and ` +
            `${report.runs} run records in ${(report.wall_ms / 1000).toFixed(2)} s: ${report.ok} ok${report.unsealed > 0 ? ` (${report.unsealed} with an unsealed meta.json, older XClass)` : ''}, ${report.unverifiable} ` +
            `unverifiable (older XClass), ${report.damaged.length} ` +
            `damaged${cmd.repair ? ` (${report.damaged.filter((d) => d.quarantined_to).length} quarantined)` : ''}, ` +
            `${report.damaged_runs.length} unreadable run records`,
        );
      }
      const unrepaired = report.damaged.filter((d) => !d.quarantined_to).length + report.damaged_runs.length;
      if (unrepaired > 0) ctx.exitCode = 1;
    });
}
