/**
 * dacctl, also installed as dw_wlm_cli: the program Slurm's burst_buffer/datawarp plugin runs
 * for every burst-buffer step (`--function <name> ...`), and the operators' tool.
 */
import yargs from 'yargs';
import type { Argv } from 'yargs';
import type { CliContext } from './context';
import { normaliseArgv } from './argv';
import { UsageError } from './exit-codes';
import { runCli, type CommandResult } from './run';
import { poolsCommand } from './commands/pools';
import { showConfigurationsCommand } from './commands/show-configurations';

/** Parse and run one dacctl command line. */
export async function dacctl(context: CliContext, args: readonly string[]): Promise<CommandResult> {
  let result: Promise<CommandResult> | undefined;
  const parser: Argv = yargs(normaliseArgv(args))
    .scriptName('dacctl')
    .strict()
    .exitProcess(false)
    .help(false)
    .version(false)
    .fail((message, error) => {
      throw error ?? new UsageError(message);
    })
    .command('pools', 'pools as DataWarp JSON (what Slurm polls)', {}, () => {
      result = poolsCommand(context);
    })
    .command('show_configurations', 'configurations (always empty)', {}, () => {
      result = Promise.resolve(showConfigurationsCommand());
    })
    .demandCommand(1, 'no function given; use --function <name>');
  await parser.parseAsync();
  if (!result) throw new UsageError('no function given; use --function <name>');
  return result;
}

if (require.main === module) {
  void runCli('dacctl', process.argv.slice(2), dacctl);
}
