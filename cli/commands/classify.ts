import { Command, Option } from 'commander';
import { ConfigError } from '../../config/load.js';
import { InputError } from '../../lib/errors.js';
import { runEmbedded } from '../../engine/embedded.js';
import { activityOptions, openStore } from '../../engine/plan.js';
import {
  writePieces,
  writeTableFile,
  formatOfPath,
  OUTPUT_EXTENSION,
  OUTPUT_FORMATS,
  type OutputFormat,
} from '../../report/table-writers.js';
import { buildClassifyDag } from '../../workflows/classify.js';
import { runRecorded } from '../recorded.js';
import { fetchCone, fetchedInput, fetchEventPrinter, parseConeSpec } from '../fetch.js';
import { displayName } from '../../activities/io/raw-file.js';
import { createReporter } from '../progress.js';
import { listModels } from '../models.js';
import {
  calibrationMismatch,
  findCalibration,
  findXrayModel,
  planClassify,
  planZones,
} from '../../engine/classify-plan.js';
import type { ArtifactRef } from '../../schemas/step.js';
import {
  collect,
  configFrom,
  out,
  warnSkipped,
  checkOutPath,
  writeOutWith,
  type CliContext,
  type GlobalOpts,
} from '../shared.js';

/** `xclass classify` (README "The `xclass` command"). */
export function registerClassify(program: Command, _ctx: CliContext): void {
  program
    .command('classify [table]')
    .description(
      'classify the X-ray sources of a field: an X-ray table (CSC 2.0, MUWCLASS or XClass layout, or a mapping) and photometry catalogs (Gaia DR3, 2MASS, PS1, HSC, or a mapping) in CSV, TSV, ECSV, IPAC, Parquet, VOTable or FITS, each also gzipped',
    )
    .requiredOption(
      '--model <id>',
      "a train artifact id (or prefix), e.g. the final model of a run; latest: the newest run's (xclass models lists them)",
    )
    .option(
      '--cone <ra,dec,radius>',
      'instead of TABLE and --catalog: fetch the cone from the TAP services (xclass fetch) and classify it; e.g. 166.29,-58.84,5arcmin',
    )
    .option(
      '--service <name>',
      'with --cone: a service of config fetch.services (repeatable; default: fetch.default_services)',
      collect,
      [],
    )
    .option('--refresh', 'with --cone: ask the services again even when the store holds the answer')
    .option(
      '--xray-mapping <preset|file>',
      "the X-ray table's layout: csc2, muwclass, xclass, or a mapping JSON file (default: detected from the columns)",
    )
    .option(
      '--catalog <file[=preset|mapping]>',
      'a photometry catalog to match (repeatable); preset gaia_dr3, gaia_dr3_vizier, 2mass, 2mass_vizier, ps1_dr2, hsc or a mapping JSON file (default: detected)',
      collect,
      [],
    )
    .option(
      '--calibration <id>',
      "the evaluate artifact calibrating the model's sets and OOD flag (default: the model's own cross-validation, found in the store)",
    )
    .option(
      '--xray-model <id|none>',
      'the X-ray-only model for sources without every HST magnitude the model reads (default: the one trained beside the model, found in the store; none: impute their optical features instead)',
    )
    .option(
      '--out <file>',
      'the result table to write (default: TABLE with .xclass.<format>; a DS9 region file .reg beside it); its extension names the format; existing files are kept unless --force',
    )
    .addOption(
      new Option('--format <format>', 'csv, ecsv, votable, fits or parquet (default: from --out, else csv)').choices([
        ...OUTPUT_FORMATS,
      ]),
    )
    .option('--force', 'replace existing --out files')
    .addOption(
      new Option('--engine <kind>', 'embedded or temporal (config engine.kind)').choices(['embedded', 'temporal']),
    )
    .option('--address <host:port>', 'Temporal frontend address')
    .action(
      async (
        tableArg: string | undefined,
        cmd: {
          cone?: string;
          service: string[];
          refresh?: boolean;
          model: string;
          calibration?: string;
          xrayModel?: string;
          xrayMapping?: string;
          catalog: string[];
          out?: string;
          format?: OutputFormat;
          force?: boolean;
          engine?: string;
          address?: string;
        },
      ) => {
        const g = program.opts<GlobalOpts>();
        const config = configFrom(g, [
          ...(cmd.engine ? [`engine.kind=${cmd.engine}`] : []),
          ...(cmd.address ? [`temporal.address=${cmd.address}`] : []),
        ]);
        const store = openStore(config);
        const latest =
          cmd.model === 'latest'
            ? (await listModels(store, warnSkipped)).find((m) => m.kind === 'full')?.model
            : undefined;
        if (cmd.model === 'latest' && latest === undefined)
          throw new ConfigError(`classify: --model latest: no final model in ${store.root} (xclass run trains one)`);
        const model = await store.findById(latest ?? cmd.model, warnSkipped);
        if (!model || model.stage !== 'train')
          throw new ConfigError(
            `classify: no trained model '${cmd.model}' in ${store.root} (xclass artifacts --stage train lists them)`,
          );
        if ((tableArg === undefined) === (cmd.cone === undefined))
          throw new ConfigError('classify: give either a TABLE or --cone RA,DEC,RADIUS');
        if (cmd.cone !== undefined && cmd.catalog.length > 0)
          throw new ConfigError(
            'classify: --catalog goes with a TABLE; with --cone the catalogs are the services (--service)',
          );
        // --cone: the tables come from the TAP services (stored as fetch artifacts, recorded in the run)
        const cone = cmd.cone === undefined ? undefined : parseConeSpec(cmd.cone);
        const fetched = cone
          ? await fetchCone(store, config, cone, cmd.service, {
              refresh: cmd.refresh === true,
              onEvent: fetchEventPrinter(g.json),
            })
          : undefined;
        const xrayFetched = fetched?.tables.find((t) => t.preset === 'csc2');
        if (fetched && !xrayFetched)
          throw new ConfigError('classify: --cone needs an X-ray service (preset csc2) among the services');
        const table = xrayFetched ? xrayFetched.path : tableArg!;
        const catalogs = fetched
          ? fetched.tables.filter((t) => t !== xrayFetched).map((t) => `${t.path}=${t.preset}`)
          : cmd.catalog;
        const fromOut = cmd.out === undefined ? undefined : formatOfPath(cmd.out);
        if (cmd.format !== undefined && fromOut !== undefined && fromOut !== cmd.format)
          throw new InputError(
            { file: cmd.out },
            `the extension names ${fromOut}, --format ${cmd.format}: give one or make them agree`,
          );
        const format: OutputFormat = cmd.format ?? fromOut ?? 'csv';
        const outPath =
          cmd.out ??
          (cone
            ? `cone_${cone.ra_deg}_${cone.dec_deg}_${cone.radius_arcsec}as.xclass.${OUTPUT_EXTENSION[format]}`
            : undefined) ??
          `${table.replace(/(\.gz)?$/i, '').replace(/\.(csv|tsv|tab|ecsv|ipac|tbl|parquet|vot|votable|xml|fits?)$/i, '')}.xclass.${OUTPUT_EXTENSION[format]}`;
        const regPath = `${outPath.replace(/\.(csv|ecsv|vot|votable|xml|fits?|parquet)$/i, '')}.reg`;
        const modelRef = { stage: 'train' as const, id: model.id };
        const { params, context, inputFiles } = await planClassify(config, store, modelRef, {
          table,
          ...(cmd.xrayMapping
            ? { xrayMapping: cmd.xrayMapping }
            : xrayFetched
              ? { xrayMapping: xrayFetched.preset }
              : {}),
          catalogs,
          cwd: process.cwd(),
          ...(fetched
            ? { fetched: fetched.tables.map((t) => fetchedInput(t, displayName(process.cwd(), t.path))) }
            : {}),
        });
        await checkOutPath(outPath, cmd.force === true, inputFiles);
        await checkOutPath(regPath, cmd.force === true, inputFiles);
        let calibration: ArtifactRef<'evaluate'> | null;
        if (cmd.calibration) {
          const found = await store.findById(cmd.calibration, warnSkipped);
          if (!found || found.stage !== 'evaluate')
            throw new ConfigError(
              `classify: no evaluate artifact '${cmd.calibration}' in ${store.root} (xclass artifacts --stage evaluate lists them)`,
            );
          calibration = { stage: 'evaluate', id: found.id };
          const mismatch = await calibrationMismatch(store, modelRef, found.id);
          if (mismatch !== null)
            throw new ConfigError(
              `classify: --calibration evaluate/${found.id.slice(0, 12)} is not of model train/${model.id.slice(0, 12)}'s lineage: ${mismatch}`,
            );
        } else calibration = (await findCalibration(store, modelRef))?.ref ?? null;
        if (!calibration)
          process.stderr.write(
            `xclass: warning: classify: no cross-validation evaluation of model ${model.id.slice(0, 12)} in the store: sources get no conformal set and no OOD flag\n`,
          );
        let xrayModel: ArtifactRef<'train'> | null = null;
        if (cmd.xrayModel !== undefined && cmd.xrayModel !== 'none') {
          const found = await store.findById(cmd.xrayModel, warnSkipped);
          if (!found || found.stage !== 'train')
            throw new ConfigError(
              `classify: no trained model '${cmd.xrayModel}' in ${store.root} (xclass artifacts --stage train lists them)`,
            );
          xrayModel = { stage: 'train', id: found.id };
        } else if (cmd.xrayModel === undefined) xrayModel = await findXrayModel(store, modelRef);
        const xrayCalibration = xrayModel ? ((await findCalibration(store, xrayModel))?.ref ?? null) : null;
        if (cmd.xrayModel === undefined && !xrayModel)
          process.stderr.write(
            `xclass: warning: classify: no X-ray-only model beside model ${model.id.slice(0, 12)} in the store: sources without photometry get imputed optical features\n`,
          );
        const reporter = createReporter(g.json ? 'json' : process.stderr.isTTY ? 'tty' : 'quiet');
        // a field larger than classify.zone_sources: a step per declination zone, merged by the classify step
        const zones = await planZones(params, context);
        const { dag, external } = buildClassifyDag(
          params,
          context,
          { model: modelRef, calibration, xrayModel, xrayCalibration },
          zones,
        );
        // the record makes the classification reachable for `xclass gc` and auditable by run id
        const { runId, result } = await runRecorded(store, config, 'xclass-classify', async (runId) => {
          try {
            const classified =
              config.engine.kind === 'temporal'
                ? await (
                    await import('../../engine/temporal-client.js')
                  ).runDagOnTemporal(
                    config,
                    {
                      retry: config.retry,
                      activities: activityOptions(config),
                      // the zones spread over the workers
                      concurrency: zones ? config.engine.concurrency : 1,
                    },
                    dag,
                    external,
                    runId,
                  )
                : await runEmbedded(dag, {
                    store,
                    concurrency: 1,
                    retry: config.retry,
                    threads: false,
                    external,
                    onEvent: (e) => reporter.onEvent(e),
                    onRetry: (key, attempt, err, delayMs) => reporter.onRetry(key, attempt, err, delayMs),
                    onStepProgress: (key, done, total, note) => reporter.onStepProgress(key, done, total, note),
                  });
            // the fetches first: the run record makes them reachable for gc and shows them to audit
            return fetched ? { ...classified, steps: [...fetched.steps, ...classified.steps] } : classified;
          } finally {
            reporter.stop();
          }
        });
        const step = result.steps.find((s) => s.stage === 'classify')!;
        if (step.status !== 'done') throw new Error(step.error ?? 'classify failed');
        const classified = { stage: 'classify' as const, id: step.artifactId! };
        const { classifyOutput } = await import('../../report/classify.js');
        const { table: resultTable, regions, rows } = await classifyOutput(store, classified);
        await writeOutWith(outPath, (tmp) => writeTableFile(resultTable, format, tmp), cmd.force === true);
        await writeOutWith(regPath, (tmp) => writePieces(tmp, regions()), cmd.force === true);
        const meta = await store.readMeta('classify', step.artifactId!);
        if (g.json)
          return out(
            JSON.stringify({
              run: runId,
              artifact: step.artifactId,
              model: model.id,
              rows,
              out: outPath,
              format,
              ...(format === 'csv' ? { csv: outPath } : {}),
              regions: regPath,
              cache_hit: step.cacheHit,
              notes: meta.notes,
            }),
          );
        process.stderr.write(
          `classified ${rows} sources with model train/${model.id.slice(0, 12)} -> classify/${step.artifactId!.slice(0, 12)}${step.cacheHit ? ' (cached)' : ''} (run ${runId}); ` +
            `report: xclass report ${runId}\n`,
        );
        out(outPath);
        out(regPath);
      },
    );
}
