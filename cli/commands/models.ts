import { Command } from 'commander';
import { listModels } from '../models.js';
import { out, warnSkipped, type CliContext } from '../shared.js';

/** `xclass models` (README "The `xclass` command"). */
export function registerModels(program: Command, ctx: CliContext): void {
  program
    .command('models')
    .description(
      'the final models in the store: run, date, training set, label policy, balanced accuracy (newest first)',
    )
    .action(async () => {
      const { g, store } = ctx.storeOfOpts();
      const rows = await listModels(store, warnSkipped);
      if (g.json) return out(JSON.stringify(rows));
      out(['model', 'kind', 'run', 'started', 'label policy', 'BA', 'training set'].join('\t'));
      for (const r of rows)
        out(
          [
            r.model.slice(0, 12),
            r.kind,
            r.run,
            r.started_at.slice(0, 19),
            r.label_policy,
            r.balanced_accuracy?.toFixed(3) ?? '-',
            r.training_set,
          ].join('\t'),
        );
      if (rows.length === 0) process.stderr.write(`xclass: no final model in ${store.root} (xclass run trains one)\n`);
    });
}
