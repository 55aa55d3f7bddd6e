import { Command } from 'commander';
import { branchMetrics, compareRows, isHeadline } from '../compare.js';
import { out, warnSkipped, type CliContext } from '../shared.js';

/** `xclass compare` (README "The `xclass` command"). */
export function registerCompare(program: Command, ctx: CliContext): void {
  program
    .command('compare <a> <b>')
    .description(
      'metric deltas between two evaluated branches: RUN, BRANCH (baseline or an ablation) or RUN:BRANCH; the headline metrics, --all for every one',
    )
    .option('--all', 'every metric: per class, calibration, OOD, every protocol')
    .action(async (a: string, b: string, cmd: { all?: boolean }) => {
      const { g, store } = ctx.storeOfOpts();
      const [ma, mb] = [await branchMetrics(store, a, warnSkipped), await branchMetrics(store, b, warnSkipped)];
      const every = compareRows(ma, mb);
      const rows = cmd.all ? every : every.filter((r) => isHeadline(r.metric));
      if (g.json)
        return out(
          JSON.stringify({
            a: { label: ma.label, evaluate: ma.evaluateId },
            b: { label: mb.label, evaluate: mb.evaluateId },
            rows,
          }),
        );
      out(`A = ${ma.label} (evaluate/${ma.evaluateId.slice(0, 12)})`);
      out(`B = ${mb.label} (evaluate/${mb.evaluateId.slice(0, 12)})`);
      out(
        `${'metric (pooled out-of-fold, all sources)'.padEnd(44)}${'A'.padStart(8)}${'B'.padStart(8)}${'B - A'.padStart(9)}`,
      );
      const f = (v: number | null, sign = false) => (v === null ? '-' : `${sign && v > 0 ? '+' : ''}${v.toFixed(3)}`);
      for (const r of rows)
        out(`${r.metric.padEnd(44)}${f(r.a).padStart(8)}${f(r.b).padStart(8)}${f(r.delta, true).padStart(9)}`);
      if (!cmd.all) out(`(${every.length - rows.length} more metrics: --all)`);
    });
}
