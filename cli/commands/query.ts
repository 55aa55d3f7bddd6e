import { Command } from 'commander';
import { queryStore } from '../../artifacts/query.js';
import { out, formatCell, type CliContext } from '../shared.js';

/** `xclass query` (README "The `xclass` command"). */
export function registerQuery(program: Command, ctx: CliContext): void {
  program
    .command('query <sql>')
    .description('DuckDB SQL over the views artifacts, lineage, runs and run_steps')
    .action(async (sql: string) => {
      const { g, store, config } = ctx.storeOfOpts();
      const res = await queryStore(store, sql, config.query);
      if (g.json) return out(JSON.stringify(res.rows));
      out(res.columns.join('\t'));
      for (const r of res.rows) out(res.columns.map((c) => formatCell(r[c])).join('\t'));
    });
}
