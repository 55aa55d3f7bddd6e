import { Command } from 'commander';
import { ConfigError } from '../config/load.js';
import { isInputError } from '../lib/errors.js';
import { openStore } from '../engine/plan.js';
import { collect, configFrom, out, versionLine, type CliContext, type GlobalOpts } from './shared.js';
import { registerRun } from './commands/run.js';
import { registerWorker } from './commands/worker.js';
import { registerAudit } from './commands/audit.js';
import { registerArtifacts } from './commands/artifacts.js';
import { registerRuns } from './commands/runs.js';
import { registerSummary } from './commands/summary.js';
import { registerFetch } from './commands/fetch.js';
import { registerClassify } from './commands/classify.js';
import { registerReport } from './commands/report.js';
import { registerCompare } from './commands/compare.js';
import { registerModels } from './commands/models.js';
import { registerQuery } from './commands/query.js';
import { registerVerify } from './commands/verify.js';
import { registerGc } from './commands/gc.js';
import { registerConfig } from './commands/config.js';
import { exitOnSignals } from './signals.js';

export async function main(argv: readonly string[]): Promise<number> {
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
  const ctx: CliContext = {
    storeOfOpts: () => {
      const g = program.opts<GlobalOpts>();
      const config = configFrom(g);
      return { g, config, store: openStore(config) };
    },
    exitCode: 0,
  };

  registerRun(program, ctx);
  registerWorker(program, ctx);
  registerAudit(program, ctx);
  registerArtifacts(program, ctx);
  registerRuns(program, ctx);
  registerSummary(program, ctx);
  registerFetch(program, ctx);
  registerClassify(program, ctx);
  registerReport(program, ctx);
  registerCompare(program, ctx);
  registerModels(program, ctx);
  registerQuery(program, ctx);
  registerVerify(program, ctx);
  registerGc(program, ctx);
  registerConfig(program, ctx);
  // a worker leaves its signals to Temporal's graceful shutdown (engine/temporal-worker.ts)
  program.hook('preAction', (_program, action) => {
    if (action.name() !== 'worker') exitOnSignals();
  });

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
  return ctx.exitCode;
}
