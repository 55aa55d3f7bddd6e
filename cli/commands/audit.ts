import { Command } from 'commander';
import { ConfigError } from '../../config/load.js';
import { lineageOf, renderLineage } from '../../artifacts/audit.js';
import { isRunId, loadRunRecord } from '../../artifacts/run-records.js';
import { auditSummary } from '../audit.js';
import { out, warnSkipped, type CliContext } from '../shared.js';

/** `xclass audit` (README "The `xclass` command"). */
export function registerAudit(program: Command, ctx: CliContext): void {
  program
    .command('audit <id>')
    .description(
      'lineage of a run or an artifact, down to raw input files and their SHA-256 (a run: a summary; --full: every artifact)',
    )
    .option('--full', "a run's every artifact with its whole lineage")
    .action(async (id: string, cmd: { full?: boolean }) => {
      const { g, store } = ctx.storeOfOpts();
      const run = isRunId(id) ? await loadRunRecord(store, id) : undefined;
      if (run && !cmd.full && !g.json) {
        for (const line of await auditSummary(store, run)) out(line);
        return;
      }
      const roots = run ? run.steps.filter((s) => s.artifactId).map((s) => s.artifactId!) : [id];
      const trees = [];
      for (const aid of roots) {
        const meta = await store.findById(aid, warnSkipped);
        if (!meta) throw new ConfigError(`audit: no run or artifact '${id}' in ${store.root}`);
        trees.push(await lineageOf(store, meta));
      }
      if (g.json) return out(JSON.stringify({ run: run ?? null, lineage: trees }));
      if (run)
        out(
          `run ${run.run_id}  ${run.status}  engine ${run.engine}  ${run.started_at}  config ` +
            `${run.config_hash.slice(0, 16)}  code ${run.code_version ?? 'unknown'}`,
        );
      for (const t of trees) for (const line of renderLineage(t, run ? '  ' : '')) out(line);
    });
}
