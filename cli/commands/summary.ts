import { Command } from 'commander';
import { ConfigError } from '../../config/load.js';
import { loadRunRecord } from '../../artifacts/run-records.js';
import { labelAgreement, summariseRun } from '../../report/summary.js';
import { out, type CliContext } from '../shared.js';

/** `xclass summary` (README "The `xclass` command"). */
export function registerSummary(program: Command, ctx: CliContext): void {
  program
    .command('summary <run>')
    .description("the method's Table 1 for a run: counts per class at each stage")
    .action(async (runId: string) => {
      const { g, store } = ctx.storeOfOpts();
      const run = await loadRunRecord(store, runId);
      if (!run) throw new ConfigError(`summary: no run '${runId}' in ${store.root} (xclass runs lists them)`);
      const rows = await summariseRun(store, run);
      const agreement = await labelAgreement(store, run);
      if (g.json) return out(JSON.stringify({ table1: rows, agreement }));
      out(
        ['class', 'catalogs', 'dedup', 'CSC match', 'SED (>=3)', 'classifier']
          .map((h, i) => (i === 0 ? h.padEnd(9) : h.padStart(11)))
          .join(''),
      );
      for (const r of rows)
        out(
          [
            r.class.padEnd(9),
            ...[r.catalogs, r.deduplicated, r.csc_match, r.sed_ok, r.classifier].map((v) => String(v).padStart(11)),
          ].join(''),
        );
      out(
        'catalogs, dedup, CSC match: every labelled catalog; SED and classifier: the MUWCLASS training table (the bundle has no SNR catalog)',
      );
      if (agreement) {
        out('');
        out(
          `label agreement (provenance ${agreement.artifactId.slice(0, 12)}): training sources by MUWCLASS label x other catalogues' labels`,
        );
        const width = agreement.columns.map((c) => Math.max(c.length, 5) + 2);
        out(
          [
            'label'.padEnd(9),
            ...agreement.columns.map((c, i) => c.padStart(width[i]!)),
            ...['agree', 'conflict', 'alone'].map((h) => h.padStart(10)),
          ].join(''),
        );
        for (const r of agreement.rows)
          out(
            [
              r.label.padEnd(9),
              ...r.cells.map((v, i) => String(v).padStart(width[i]!)),
              ...[r.agree, r.conflict, r.unconfirmed].map((v) => String(v).padStart(10)),
            ].join(''),
          );
        out(
          'cells: sources a catalogue labels so (a source in several catalogues counts in each); none: no other catalogue labels it',
        );
        for (const c of agreement.conflicts) out(`conflict: ${c.id} ${c.label}: ${c.labels}`);
      }
    });
}
