/**
 * dacctl, also installed as dw_wlm_cli: the program Slurm's burst_buffer/datawarp plugin runs
 * for every burst-buffer step (`--function <name> ...`), and the operators' tool.
 *
 * Flags are exactly those Slurm 22.05 passes, with data-acc's long and short aliases (see
 * `flags.ts`). The command line is parsed with Node's own `util.parseArgs`, not yargs: Slurm
 * runs this program every 30 s and inline in its scheduler, and loading yargs alone takes
 * about 40 ms.
 */
import { UsageError } from '../errors/exit-codes';
import { isAdminCommand } from './admin/words';
import type { CliContext } from './context';
import type { EarlyRead } from './early-read';
import { normaliseArgv } from './argv';
import { parseFlags, type FlagName, type FunctionArgs } from './flags';
import { runCli, type CommandResult } from './run';

/** One function of the CLI. */
export interface CliFunction {
  name: string;
  describe: string;
  required: FlagName[];
  optional: FlagName[];
  /** Loaded on demand, so each call only loads the code it runs. */
  load(): Promise<(context: CliContext, args: FunctionArgs) => Promise<CommandResult>>;
}

const fn = (
  name: string,
  describe: string,
  required: FlagName[],
  optional: FlagName[],
  load: CliFunction['load'],
): CliFunction => ({ name, describe, required, optional, load });

/** Every function, as Slurm 22.05 calls it. */
export const FUNCTIONS: CliFunction[] = [
  fn(
    'pools',
    'pools as DataWarp JSON',
    [],
    [],
    async () => (await import('./commands/pools')).poolsCommand,
  ),
  fn(
    'show_instances',
    'instances as DataWarp JSON',
    [],
    [],
    async () => (await import('./commands/show-instances')).showInstancesCommand,
  ),
  fn(
    'show_sessions',
    'sessions as DataWarp JSON',
    [],
    [],
    async () => (await import('./commands/show-sessions')).showSessionsCommand,
  ),
  fn(
    'show_configurations',
    'configurations (always empty)',
    [],
    [],
    async () => (await import('./commands/show-configurations')).showConfigurationsCommand,
  ),
  fn(
    'job_process',
    'validate the directives of a job script',
    ['job'],
    [],
    async () => (await import('./commands/job-process')).jobProcessCommand,
  ),
  fn(
    'setup',
    'allocate the buffer of a job',
    ['token', 'capacity', 'user', 'groupid', 'job'],
    ['caller', 'nodehostnamefile'],
    async () => (await import('./commands/setup')).setupCommand,
  ),
  fn(
    'real_size',
    'the allocated size of a job buffer',
    ['token'],
    ['job'],
    async () => (await import('./commands/real-size')).realSizeCommand,
  ),
  fn(
    'data_in',
    'stage files in',
    ['token'],
    ['job'],
    async () => (await import('./commands/phases')).dataInCommand,
  ),
  fn(
    'paths',
    'write the job environment variables',
    ['token', 'job', 'pathfile'],
    [],
    async () => (await import('./commands/paths')).pathsCommand,
  ),
  fn(
    'pre_run',
    'mount the buffer on the compute nodes',
    ['token'],
    ['job', 'nodehostnamefile'],
    async () => (await import('./commands/phases')).preRunCommand,
  ),
  fn(
    'post_run',
    'unmount the buffer from the compute nodes',
    ['token'],
    ['job'],
    async () => (await import('./commands/phases')).postRunCommand,
  ),
  fn(
    'data_out',
    'stage files out',
    ['token'],
    ['job'],
    async () => (await import('./commands/phases')).dataOutCommand,
  ),
  fn(
    'teardown',
    'release a buffer (job or persistent)',
    ['token'],
    ['job', 'hurry'],
    async () => (await import('./commands/teardown')).teardownCommand,
  ),
  fn(
    'create_persistent',
    'create a persistent buffer',
    ['token', 'user', 'capacity'],
    ['caller', 'access', 'type', 'groupid'],
    async () => (await import('./commands/create-persistent')).createPersistentCommand,
  ),
];

function unknownFunction(name: string): UsageError {
  return new UsageError(
    `unknown function "${name}"; known: ${FUNCTIONS.map((f) => f.name).join(', ')}`,
  );
}

/** `dacctl help`: every function with its flags (optional ones in brackets), then the operators' commands. */
export async function usage(): Promise<string> {
  const lines = FUNCTIONS.map((f) => {
    const flags = [
      ...f.required.map((flag) => `--${flag} <${flag}>`),
      ...f.optional.map((flag) => (flag === 'hurry' ? '[--hurry]' : `[--${flag} <${flag}>]`)),
    ];
    return `  ${[f.name, ...flags].join(' ')}\n      ${f.describe}`;
  });
  const { adminUsage } = await import('./admin/admin');
  return [
    'usage: dacctl [--function] <function> [flags]',
    ...lines,
    '',
    "usage: dacctl <command> [<action>] [flags]   (operators' commands; --help at each level)",
    await adminUsage(),
  ].join('\n');
}

/** Parse and run one dacctl command line. */
export async function dacctl(context: CliContext, args: readonly string[]): Promise<CommandResult> {
  if (isAdminCommand(args)) {
    const { runAdmin } = await import('./admin/admin');
    return runAdmin(context, args);
  }
  const argv = normaliseArgv(args);
  const name = argv[0];
  if (name === 'help' || name === '--help' || name === '-h') return usage();
  if (name === undefined || name.startsWith('-')) {
    throw new UsageError('no function given; use --function <name>');
  }
  const selected = FUNCTIONS.find((f) => f.name === name);
  if (!selected) throw unknownFunction(name);

  const values = parseFlags(name, [...selected.required, ...selected.optional], argv.slice(1));
  const missing = selected.required.filter((flag) => values[flag] === undefined);
  if (missing.length > 0) {
    throw new UsageError(`${name}: missing ${missing.map((flag) => `--${flag}`).join(', ')}`);
  }
  // Every function is Slurm's, run for every job or every 30 s: a successful call logs at
  // `debug` and so never loads the logger (about 25 ms of CPU); what it did is in the history.
  context.successLogLevel = 'debug';
  const run = await selected.load();
  return run(context, values);
}

/**
 * Run the program on the process's arguments (the bundle's loader calls this, with the read it
 * started early for these arguments, if any).
 */
export function main(early?: EarlyRead): void {
  void runCli('dacctl', process.argv.slice(2), dacctl, early);
}

if (require.main === module) main();
