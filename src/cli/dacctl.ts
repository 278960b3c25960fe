/**
 * dacctl, also installed as dw_wlm_cli: the program Slurm's burst_buffer/datawarp plugin runs
 * for every burst-buffer step (`--function <name> ...`), and the operators' tool.
 *
 * Flags are exactly those Slurm 22.05 passes, with data-acc's long and short aliases. Values
 * are always separate words (`--token 12`). Every flag value is kept as a string: a token such
 * as `0012` must not become a number.
 */
import yargs from 'yargs';
import type { Argv, Options } from 'yargs';
import type { CliContext } from './context';
import { normaliseArgv } from './argv';
import { UsageError } from './exit-codes';
import { runCli, type CommandResult } from './run';

/** The flags, by their long name. */
export const FLAGS = {
  token: { alias: 't', type: 'string', describe: 'job id, or persistent buffer name' },
  caller: { alias: 'c', type: 'string', describe: 'who calls (SLURM or CLI); informational' },
  user: { alias: 'u', type: 'string', describe: 'numeric uid of the job owner' },
  groupid: { alias: 'g', type: 'string', describe: 'numeric gid of the job owner' },
  capacity: { alias: 'C', type: 'string', describe: '<pool>:<size>' },
  access: { alias: 'a', type: 'string', describe: 'striped, private or striped,private' },
  type: { alias: 'T', type: 'string', describe: 'scratch' },
  job: { alias: 'j', type: 'string', describe: 'path of the job script' },
  nodehostnamefile: { type: 'string', describe: 'file of Slurm node names, one per line' },
  pathfile: { type: 'string', describe: 'file to write NAME=value lines into' },
  hurry: { type: 'boolean', describe: 'skip stage-out and release at once' },
} as const satisfies Record<string, Options>;

export type FlagName = keyof typeof FLAGS;

/** The parsed flags a command receives. */
export type FunctionArgs = { [K in FlagName]?: K extends 'hurry' ? boolean : string };

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

/** `dacctl help`: every function with its flags (optional ones in brackets). */
export function usage(): string {
  const lines = FUNCTIONS.map((f) => {
    const flags = [
      ...f.required.map((flag) => `--${flag} <${flag}>`),
      ...f.optional.map((flag) => (flag === 'hurry' ? '[--hurry]' : `[--${flag} <${flag}>]`)),
    ];
    return `  ${[f.name, ...flags].join(' ')}\n      ${f.describe}`;
  });
  return ['usage: dacctl [--function] <function> [flags]', ...lines].join('\n');
}

/** Parse and run one dacctl command line. */
export async function dacctl(context: CliContext, args: readonly string[]): Promise<CommandResult> {
  const argv = normaliseArgv(args);
  const name = argv[0];
  if (name === 'help' || name === '--help' || name === '-h') return usage();
  if (name === undefined || name.startsWith('-')) {
    throw new UsageError('no function given; use --function <name>');
  }
  const selected = FUNCTIONS.find((f) => f.name === name);
  if (!selected) throw unknownFunction(name);

  const options: Record<string, Options> = {};
  for (const flag of [...selected.required, ...selected.optional]) options[flag] = FLAGS[flag];
  const parser: Argv = yargs(argv.slice(1))
    .scriptName(`dacctl ${name}`)
    .options(options)
    .strict()
    .strictOptions()
    .parserConfiguration({
      'parse-numbers': false,
      'parse-positional-numbers': false,
      'camel-case-expansion': false,
    })
    .exitProcess(false)
    .help(false)
    .version(false)
    .fail((message, error) => {
      throw error ?? new UsageError(`${name}: ${message.replace(/\n/g, ' ')}`);
    });
  const parsed = await parser.parseAsync();
  if (parsed._.length > 0) {
    throw new UsageError(`${name}: unexpected argument "${String(parsed._[0])}"`);
  }
  const values: FunctionArgs = {};
  for (const flag of Object.keys(options) as FlagName[]) {
    const value = parsed[flag];
    if (value === undefined) continue;
    if (Array.isArray(value)) throw new UsageError(`${name}: --${flag} is given more than once`);
    if (flag === 'hurry') values.hurry = value === true;
    else if (typeof value === 'string' && value !== '') {
      (values as Record<string, string>)[flag] = value;
    } else throw new UsageError(`${name}: --${flag} needs a value`);
  }
  const missing = selected.required.filter((flag) => values[flag] === undefined);
  if (missing.length > 0) {
    throw new UsageError(`${name}: missing ${missing.map((flag) => `--${flag}`).join(', ')}`);
  }
  const run = await selected.load();
  return run(context, values);
}

if (require.main === module) {
  void runCli('dacctl', process.argv.slice(2), dacctl);
}
