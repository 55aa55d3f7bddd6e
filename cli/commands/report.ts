import { Command } from 'commander';
import { ConfigError } from '../../config/load.js';
import { loadRunRecord } from '../../artifacts/run-records.js';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { out, checkOutPath, writeOut, type CliContext } from '../shared.js';

/** `xclass report` (README "The `xclass` command"). */
export function registerReport(program: Command, ctx: CliContext): void {
  program
    .command('report <run>')
    .description('write the run report: one self-contained HTML file with tables and plots')
    .option(
      '--out <file>',
      'where to write it (default: <store>/_reports/<run>.html); an existing file is kept unless --force',
    )
    .option('--force', 'replace an existing --out file')
    .action(async (runId: string, cmd: { out?: string; force?: boolean }) => {
      const { g, store } = ctx.storeOfOpts();
      const run = await loadRunRecord(store, runId);
      if (!run) throw new ConfigError(`report: no run '${runId}' in ${store.root} (xclass runs lists them)`);
      if (cmd.out) await checkOutPath(cmd.out, cmd.force === true);
      const { buildReport } = await import('../../report/build.js');
      const html = await buildReport(store, run);
      // a report already written at the default place is kept: a new one gets a time-stamped name
      let outPath = cmd.out ?? join(await store.ensureDirInside(join(store.root, '_reports')), `${run.run_id}.html`);
      if (!cmd.out && existsSync(outPath))
        outPath = outPath.replace(/\.html$/, `-${new Date().toISOString().replace(/[-:.]/g, '')}.html`);
      // written to a temp file and renamed, so a reader never sees half a report
      await writeOut(outPath, html, cmd.force === true);
      if (g.json) return out(JSON.stringify({ report: outPath, bytes: html.length }));
      out(outPath);
    });
}
