import { Command } from 'commander';
import { configFrom, out, type CliContext, type GlobalOpts } from '../shared.js';

/** `xclass config` (README "The `xclass` command"). */
export function registerConfig(program: Command, _ctx: CliContext): void {
  program
    .command('config')
    .description('print the resolved configuration')
    .action(() => out(JSON.stringify(configFrom(program.opts<GlobalOpts>()), null, 2)));
}
