import { Command, Option } from 'commander';
import { loadConfig, ConfigError } from '../config/load.js';
import type { XClassConfig } from '../config/schema.js';
import { lineageOf, renderLineage } from '../artifacts/audit.js';
import { queryStore } from '../artifacts/query.js';
import { InputError, isInputError } from '../lib/errors.js';
import { runEmbedded } from '../engine/embedded.js';
import { activityOptions, openStore, planPipeline } from '../engine/plan.js';
import { SUMS_FILE } from '../config/data-integrity.js';
import { activeRuns } from '../engine/runs.js';
import { isRunId, loadRunRecord, loadRunRecords } from '../artifacts/run-records.js';
import { writeFileOnce } from '../artifacts/store.js';
import { collectGarbage, verifyStore } from '../artifacts/maintenance.js';
import { buildPipeline } from '../workflows/pipeline.js';
import { mkdir, realpath, stat } from 'node:fs/promises';
import {
  encodeTable,
  formatOfPath,
  OUTPUT_EXTENSION,
  OUTPUT_FORMATS,
  type OutputFormat,
} from '../report/table-writers.js';
import { basename, dirname, join, resolve } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { buildClassifyDag } from '../workflows/classify.js';
import { runRecorded } from './recorded.js';
import {
  copyFetched,
  coneOf,
  fetchCone,
  fetchedInput,
  fetchEventLine,
  parseConeSpec,
  type FetchedTable,
  type FetchEvent,
} from './fetch.js';
import { displayName } from '../activities/io/raw-file.js';
import { createReporter } from './progress.js';
import { labelAgreement, summariseRun } from '../report/summary.js';
import { branchMetrics, compareRows, isHeadline } from './compare.js';
import { auditSummary, stepsByStage } from './audit.js';
import { listModels } from './models.js';
import { calibrationMismatch, findCalibration, findXrayModel, planClassify } from '../engine/classify-plan.js';
import type { ArtifactRef } from '../schemas/step.js';
import { defaultDataDir, packageRoot } from '../config/paths.js';
import { sha256Hex } from '../artifacts/hash.js';
import { codeVersion } from '../artifacts/code-version.js';
import { variantSteps } from '../workflows/keys.js';

interface GlobalOpts {
  config?: string;
  set: string[];
  json?: boolean;
}

const collect = (v: string, acc: string[]) => [...acc, v];

function configFrom(opts: GlobalOpts, extra: string[] = []): XClassConfig {
  return loadConfig({ ...(opts.config ? { file: opts.config } : {}), sets: [...opts.set, ...extra] });
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A damaged artifact or run record met by a reader: named in one line, and the reader goes on. */
function warnSkipped(d: { path: string; reason: string }): void {
  process.stderr.write(`xclass: warning: skipped ${d.path}: ${d.reason}\n`);
}

const outExists = (outPath: string) =>
  new InputError({ file: outPath }, 'file exists; pass --force to replace it, or choose another --out');

/**
 * `--out` never replaces a file unless --force, and never a file it was made from: each
 * input (table, catalogs, mapping files) is compared by real path (a symlinked folder
 * or file reaches the same place) and, when both exist, by device and inode (a hard
 * link).
 */
async function checkOutPath(outPath: string, force: boolean, inputs: readonly string[] = []): Promise<void> {
  const outReal = await realPathOf(outPath);
  const outStat = await stat(outPath).catch(() => null);
  for (const input of inputs) {
    const inStat = await stat(input).catch(() => null);
    const same =
      (await realPathOf(input)) === outReal ||
      (outStat !== null && inStat !== null && outStat.dev === inStat.dev && outStat.ino === inStat.ino);
    if (same)
      throw new InputError({ file: outPath }, `refusing to write over an input (${input}); choose another --out`);
  }
  if (existsSync(outPath) && !force) throw outExists(outPath);
}

/** A path's real path; for a file not yet there, its folder's real path and its name. */
async function realPathOf(path: string): Promise<string> {
  const full = resolve(path);
  const real = await realpath(full).catch(() => undefined);
  if (real !== undefined) return real;
  return join(await realpath(dirname(full)).catch(() => dirname(full)), basename(full));
}

async function writeOut(outPath: string, content: string | Uint8Array, force: boolean): Promise<void> {
  await mkdir(dirname(outPath), { recursive: true });
  try {
    await writeFileOnce(outPath, content, { overwrite: force });
  } catch (err) {
    // a file that appeared after checkOutPath is still never replaced
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw outExists(outPath);
    throw err;
  }
}

/**
 * `xclass --version`: the package version, the code's git commit (what artifacts record
 * as code_version) and the data folder with the SHA-256 of its SHA256SUMS file, the
 * digest of every reference file a result can depend on.
 */
function versionLine(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  const dir = defaultDataDir();
  let sums: string;
  try {
    sums = `${SUMS_FILE} sha256 ${sha256Hex(readFileSync(join(dir, SUMS_FILE)))}`;
  } catch {
    sums = `no ${SUMS_FILE}`;
  }
  return `xclass ${pkg.version} (code ${codeVersion() ?? 'unknown: not a git checkout'}); data ${dir} (${sums})`;
}

/** The `xclass` command. Returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const rest = argv.slice(2);
  if (rest.length === 1 && (rest[0] === '--version' || rest[0] === '-V')) {
    out(versionLine());
    return 0;
  }
  const program = new Command('xclass')
    .description('Classify X-ray point sources: SED translation into HST filters and a two-stage random forest')
    .option('-V, --version', 'print the code version and the data folder digest (alone)')
    .option('--config <file>', 'JSON config merged over config/default.json')
    .option('--set <key=value>', 'override one config value (repeatable), e.g. --set engine.concurrency=4', collect, [])
    .option('--json', 'machine-readable output')
    .showHelpAfterError()
    .exitOverride();
  /** The global options and the store they name: what most commands start from. */

  const storeOfOpts = () => {
    const g = program.opts<GlobalOpts>();
    const config = configFrom(g);
    return { g, config, store: openStore(config) };
  };

  program
    .command('run')
    .description('run the training pipeline (embedded engine by default) and print the run id')
    .addOption(new Option('--engine <kind>', 'embedded or temporal').choices(['embedded', 'temporal']))
    .option('--address <host:port>', 'Temporal frontend address')
    .option('--no-progress', 'no progress bar')
    .option(
      '--ablation <name>',
      'run the baseline and only this ablation branch (repeatable); shared steps are cache hits',
      collect,
      [],
    )
    .option('--no-ablations', 'run the baseline only')
    .action(
      async (cmd: { engine?: string; address?: string; progress: boolean; ablation: string[]; ablations: boolean }) => {
        const g = program.opts<GlobalOpts>();
        const extra = [
          ...(cmd.engine ? [`engine.kind=${cmd.engine}`] : []),
          ...(cmd.address ? [`temporal.address=${cmd.address}`] : []),
        ];
        const config = configFrom(g, extra);
        const store = openStore(config);
        await store.sweepTemp();
        const input = await planPipeline(
          config,
          !cmd.ablations ? { ablations: [] } : cmd.ablation.length > 0 ? { ablations: cmd.ablation } : {},
        );
        const reporterMode = g.json ? 'json' : cmd.progress && process.stderr.isTTY ? 'tty' : 'quiet';
        const onTemporal = config.engine.kind === 'temporal';
        const { runId, record, result } = await runRecorded(store, config, 'xclass-pipeline', async (runId) => {
          if (onTemporal && !g.json)
            process.stderr.write(
              `run ${runId}: started on Temporal at ${config.temporal.address}, task queue ${config.temporal.task_queue}\n`,
            );
          const reporter = createReporter(reporterMode);
          try {
            return onTemporal
              ? await (
                  await import('../engine/temporal-client.js')
                ).runOnTemporal(config, input, runId, { onProgress: (p) => reporter.onSnapshot(p) })
              : await runEmbedded(buildPipeline(input), {
                  store,
                  concurrency: config.engine.concurrency,
                  retry: config.retry,
                  threads: config.engine.threads,
                  onEvent: (e) => reporter.onEvent(e),
                  onRetry: (k, a, e, d) => reporter.onRetry(k, a, e, d),
                });
          } finally {
            reporter.stop();
          }
        });
        const hits = result.steps.filter((s) => s.cacheHit).length;
        if (g.json) out(JSON.stringify({ event: 'run_end', ...record }));
        else if (result.ok) {
          // one line per stage: how many of its steps were computed and how many were cache hits
          for (const [stage, c] of stepsByStage(result.steps))
            process.stderr.write(
              `  ${stage.padEnd(12)} ${String(c.computed).padStart(3)} computed ${String(c.cached).padStart(3)} cached\n`,
            );
          process.stderr.write(
            `${record.status} in ${(record.wall_ms / 1000).toFixed(2)} s: ${result.steps.length} steps, ${hits} cache hits, store ${store.root}\n`,
          );
          const final = result.steps.find((s) => s.key === variantSteps(null).finalModel)?.artifactId;
          if (final)
            process.stderr.write(
              `final model train/${final.slice(0, 12)}: xclass classify TABLE --model ${final.slice(0, 12)} [--catalog FILE]...\n`,
            );
          out(runId);
        }
        if (!result.ok) {
          for (const s of result.steps.filter((x) => x.status === 'failed'))
            process.stderr.write(`xclass: step ${s.key} failed: ${s.error}\n`);
          exitCode = 1;
        }
      },
    );

  program
    .command('worker')
    .description('run a Temporal worker for XClass workflows and steps')
    .option('--address <host:port>', 'Temporal frontend address')
    .option('--task-queue <name>', "the workflows' task queue (config temporal.task_queue)")
    .option(
      '--queue <name...>',
      'poll only these task queues (default: the main one and every queue config temporal.stages routes a stage to)',
    )
    .option('--concurrency <n>', 'steps this worker runs at once')
    .action(async (cmd: { address?: string; taskQueue?: string; queue?: string[]; concurrency?: string }) => {
      const extra = [
        ...(cmd.address ? [`temporal.address=${cmd.address}`] : []),
        ...(cmd.taskQueue ? [`temporal.task_queue=${JSON.stringify(cmd.taskQueue)}`] : []),
        ...(cmd.concurrency ? [`engine.concurrency=${cmd.concurrency}`] : []),
      ];
      const config = configFrom(program.opts<GlobalOpts>(), extra);
      const { runTemporalWorker } = await import('../engine/temporal-worker.js');
      process.stderr.write(
        `worker: ${config.temporal.address}, task queue ${config.temporal.task_queue}, store ${openStore(config).root}\n`,
      );
      await runTemporalWorker(config, cmd.queue ? { queues: cmd.queue } : {});
    });

  program
    .command('audit <id>')
    .description(
      'lineage of a run or an artifact, down to raw input files and their SHA-256 (a run: a summary; --full: every artifact)',
    )
    .option('--full', "a run's every artifact with its whole lineage")
    .action(async (id: string, cmd: { full?: boolean }) => {
      const { g, store } = storeOfOpts();
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

  program
    .command('artifacts')
    .description('list stored artifacts')
    .option('--stage <name>', 'only this stage')
    .action(async (cmd: { stage?: string }) => {
      const { g, store } = storeOfOpts();
      const metas = (await store.list(warnSkipped)).filter((m) => !cmd.stage || m.stage === cmd.stage);
      if (g.json) return out(JSON.stringify(metas));
      for (const m of metas)
        out(
          `${m.stage.padEnd(12)} ${m.id.slice(0, 16)}  v${m.stage_version}  ${String(m.row_count).padStart(8)} rows  ${m.created_at}`,
        );
    });

  program
    .command('runs')
    .description('list recorded runs')
    .action(async () => {
      const { g, store } = storeOfOpts();
      const records = await loadRunRecords(store, warnSkipped);
      if (g.json) return out(JSON.stringify(records));
      for (const r of records) {
        const hits = r.steps.filter((s) => s.cacheHit).length;
        out(
          `${r.run_id}  ${r.status.padEnd(9)} ${r.engine.padEnd(8)} ${(r.wall_ms / 1000).toFixed(2).padStart(7)} s  ${r.steps.length} steps, ${hits} cached`,
        );
      }
    });

  program
    .command('summary <run>')
    .description("the method's Table 1 for a run: counts per class at each stage")
    .action(async (runId: string) => {
      const { g, store } = storeOfOpts();
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
        const onEvent = (e: FetchEvent) => {
          const line = fetchEventLine(e);
          if (line && !g.json) process.stderr.write(`${line}\n`);
        };
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
              onEvent: (e) => {
                const line = fetchEventLine(e);
                if (line && !g.json) process.stderr.write(`${line}\n`);
              },
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
        const { dag, external } = buildClassifyDag(params, context, {
          model: modelRef,
          calibration,
          xrayModel,
          xrayCalibration,
        });
        // the record makes the classification reachable for `xclass gc` and auditable by run id
        const { runId, result } = await runRecorded(store, config, 'xclass-classify', async (runId) => {
          try {
            const classified =
              config.engine.kind === 'temporal'
                ? await (
                    await import('../engine/temporal-client.js')
                  ).runDagOnTemporal(
                    config,
                    { retry: config.retry, activities: activityOptions(config), concurrency: 1 },
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
        const { classifyOutputFiles } = await import('../report/classify.js');
        const { table: resultTable, reg, rows } = await classifyOutputFiles(store, classified);
        await writeOut(outPath, await encodeTable(resultTable, format), cmd.force === true);
        await writeOut(regPath, reg, cmd.force === true);
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

  program
    .command('report <run>')
    .description('write the run report: one self-contained HTML file with tables and plots')
    .option(
      '--out <file>',
      'where to write it (default: <store>/_reports/<run>.html); an existing file is kept unless --force',
    )
    .option('--force', 'replace an existing --out file')
    .action(async (runId: string, cmd: { out?: string; force?: boolean }) => {
      const { g, store } = storeOfOpts();
      const run = await loadRunRecord(store, runId);
      if (!run) throw new ConfigError(`report: no run '${runId}' in ${store.root} (xclass runs lists them)`);
      if (cmd.out) await checkOutPath(cmd.out, cmd.force === true);
      const { buildReport } = await import('../report/build.js');
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

  program
    .command('compare <a> <b>')
    .description(
      'metric deltas between two evaluated branches: RUN, BRANCH (baseline or an ablation) or RUN:BRANCH; the headline metrics, --all for every one',
    )
    .option('--all', 'every metric: per class, calibration, OOD, every protocol')
    .action(async (a: string, b: string, cmd: { all?: boolean }) => {
      const { g, store } = storeOfOpts();
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

  program
    .command('models')
    .description(
      'the final models in the store: run, date, training set, label policy, balanced accuracy (newest first)',
    )
    .action(async () => {
      const { g, store } = storeOfOpts();
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

  program
    .command('query <sql>')
    .description('DuckDB SQL over the views artifacts, lineage, runs and run_steps')
    .action(async (sql: string) => {
      const { g, store, config } = storeOfOpts();
      const res = await queryStore(store, sql, config.query);
      if (g.json) return out(JSON.stringify(res.rows));
      out(res.columns.join('\t'));
      for (const r of res.rows) out(res.columns.map((c) => formatCell(r[c])).join('\t'));
    });

  program
    .command('verify')
    .description(
      'check every artifact against its recorded sizes and SHA-256, and every run record; --repair quarantines what fails',
    )
    .option('--repair', 'move damaged artifacts to <store>/_quarantine (never deleted); the next run recomputes them')
    .action(async (cmd: { repair?: boolean }) => {
      const { g, store } = storeOfOpts();
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
      if (unrepaired > 0) exitCode = 1;
    });

  program
    .command('gc')
    .description('list artifacts that no run record reaches (and quarantined ones); --delete removes them')
    .option('--delete', 'remove them (refused while a run is in progress or a run record is unreadable)')
    .option(
      '--all',
      'with --delete: remove them even when the store has no run record or more than config store.gc_max_share would go',
    )
    .action(async (cmd: { delete?: boolean; all?: boolean }) => {
      const { g, store, config } = storeOfOpts();
      const res = await collectGarbage(store, {
        delete: cmd.delete === true,
        activeRuns: () => activeRuns(store),
        all: cmd.all === true,
        maxShare: config.store.gc_max_share,
      });
      if (g.json) return out(JSON.stringify(res));
      for (const a of res.unreachable)
        out(
          `${cmd.delete ? 'removed' : 'unreachable'}  ${a.stage}/${a.id.slice(0, 16)}  ${(a.bytes / 1e6).toFixed(2)} MB  ${a.created_at}`,
        );
      for (const q of res.quarantined)
        out(`${cmd.delete ? 'removed' : 'quarantined'}  ${q.path}  ${(q.bytes / 1e6).toFixed(2)} MB`);
      const mb =
        (res.unreachable.reduce((t, a) => t + a.bytes, 0) + res.quarantined.reduce((t, q) => t + q.bytes, 0)) / 1e6;
      out(
        `${res.reachable} artifacts reached by ${res.runs} run records; ${res.unreachable.length} unreachable, ` +
          `${res.quarantined.length} quarantined (${mb.toFixed(1)} ` +
          `MB)${cmd.delete ? ' removed' : '; xclass gc --delete removes them'}`,
      );
    });

  program
    .command('config')
    .description('print the resolved configuration')
    .action(() => out(JSON.stringify(configFrom(program.opts<GlobalOpts>()), null, 2)));

  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (code?.startsWith('commander.')) return 2;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`xclass: ${message.split('\n')[0]}\n`);
    if (process.env['XCLASS_DEBUG'] && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return err instanceof ConfigError || isInputError(err) ? 2 : 1;
  }
  return exitCode;
}

function formatCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
