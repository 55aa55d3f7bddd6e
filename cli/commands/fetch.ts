import { Command } from 'commander';
import { openStore } from '../../engine/plan.js';
import { runRecorded } from '../recorded.js';
import { copyFetched, coneOf, fetchCone, fetchEventPrinter, type FetchedTable } from '../fetch.js';
import { collect, configFrom, out, type CliContext, type GlobalOpts } from '../shared.js';

/** `xclass fetch` (README "The `xclass` command"). */
export function registerFetch(program: Command, _ctx: CliContext): void {
  program
    .command('fetch')
    .description(
      'fetch a cone of the sky from TAP services (config fetch.services: CSC 2.1, Gaia DR3, 2MASS, Pan-STARRS1 DR2, HSC v3), each answer stored as an artifact; a query asked before is answered from the store',
    )
    .requiredOption('--ra <deg>', 'right ascension of the centre, degrees (or hh:mm:ss.s)')
    .requiredOption('--dec <deg>', 'declination of the centre, degrees (or dd:mm:ss)')
    .requiredOption(
      '--radius <angle>',
      'cone radius: 5arcmin, 30arcsec, 0.1deg (a bare number is arcmin); at most config fetch.max_radius_arcmin',
    )
    .option(
      '--service <name>',
      'a service of config fetch.services (repeatable; default: fetch.default_services)',
      collect,
      [],
    )
    .option('--out <dir>', 'also copy each answer to DIR/<service>.vot (existing files are kept)')
    .option('--refresh', 'ask the services again even when the store holds the answer')
    .action(
      async (cmd: { ra: string; dec: string; radius: string; service: string[]; out?: string; refresh?: boolean }) => {
        const g = program.opts<GlobalOpts>();
        const config = configFrom(g);
        const store = openStore(config);
        const cone = coneOf(cmd.ra, cmd.dec, cmd.radius);
        const onEvent = fetchEventPrinter(g.json);
        let tables: FetchedTable[] = [];
        const { runId } = await runRecorded(store, config, 'xclass-fetch', async () => {
          const fetched = await fetchCone(store, config, cone, cmd.service, { refresh: cmd.refresh === true, onEvent });
          tables = fetched.tables;
          return { dag: 'xclass-fetch', ok: true, steps: fetched.steps };
        });
        const copies = cmd.out ? await copyFetched(tables, cmd.out) : [];
        if (g.json)
          return out(
            JSON.stringify({
              run: runId,
              tables: tables.map((t, k) => ({
                artifact: t.fetchId,
                rows: t.rows,
                reused: t.reused,
                path: t.path,
                ...t.params,
                ...(copies[k] ? { out: copies[k] } : {}),
              })),
            }),
          );
        for (const t of tables)
          out(
            `${t.service}: ${t.rows} rows -> fetch/${t.fetchId.slice(0, 12)}${t.reused ? ' (stored)' : ''} ${t.params.mode} ${t.params.queried_at}`,
          );
        for (const c of copies) out(c);
        process.stderr.write(
          `run ${runId}; classify it: xclass classify --cone ${cmd.ra},${cmd.dec},${cmd.radius} --model latest\n`,
        );
      },
    );
}
