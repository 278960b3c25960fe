/**
 * dwstat (Slurm's GetSysStatus, behind `scontrol show dwstat`): human tables of pools,
 * sessions, instances, configurations and storage hosts, or one JSON document with `--json`.
 *
 * Slurm does not parse the answer, prints it as is on exit 0 and only `Error running dwstat`
 * otherwise, and kills dwstat after a fixed 2 s. So only the argument parser is loaded up
 * front; the registry code is loaded once the arguments are known to be good.
 */
import type { CliContext } from './context';
import { DWSTAT_USAGE, parseDwstatArgs } from './dwstat/args';
import { runCli, type CommandResult } from './run';

/** Run one dwstat command line: the answer, or a UsageError / registry error to report. */
export async function dwstat(context: CliContext, args: readonly string[]): Promise<CommandResult> {
  const request = parseDwstatArgs(args);
  // Asked for by people (scontrol show bbstat), never on a schedule: no "done" line by default.
  context.successLogLevel = 'debug';
  if (request.help) return DWSTAT_USAGE;
  const [{ readStatus }, { renderJson, renderTables }] = await Promise.all([
    import('./dwstat/read-status'),
    import('./dwstat/render'),
  ]);
  const status = await readStatus(context, request.tables);
  return request.json ? renderJson(status) : renderTables(status, request.tables);
}

/** Run the program on the process's arguments (the bundle's loader calls this). */
export function main(): void {
  void runCli('dwstat', process.argv.slice(2), dwstat);
}

if (require.main === module) main();
