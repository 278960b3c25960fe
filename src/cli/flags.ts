/**
 * The flags of dacctl's functions and their parser. Flags are exactly those Slurm 22.05 passes,
 * with data-acc's long and short aliases. Values are separate words (`--token 12`) or
 * `--token=12`. Every flag value is kept as a string: a token such as `0012` must not become a
 * number. Apart from `dacctl.ts`, so that the commands, which take `FunctionArgs`, need not
 * import the program that loads them.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors/exit-codes';

/** One flag: its type, data-acc's short alias, and what it means. */
interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  describe: string;
}

/** The flags, by their long name. */
export const FLAGS = {
  token: { short: 't', type: 'string', describe: 'job id, or persistent buffer name' },
  caller: { short: 'c', type: 'string', describe: 'who calls (SLURM or CLI); informational' },
  user: { short: 'u', type: 'string', describe: 'numeric uid of the job owner' },
  groupid: { short: 'g', type: 'string', describe: 'numeric gid of the job owner' },
  capacity: { short: 'C', type: 'string', describe: '<pool>:<size>' },
  access: { short: 'a', type: 'string', describe: 'striped, private or striped,private' },
  type: { short: 'T', type: 'string', describe: 'scratch' },
  job: { short: 'j', type: 'string', describe: 'path of the job script' },
  nodehostnamefile: { type: 'string', describe: 'file of Slurm node names, one per line' },
  pathfile: { type: 'string', describe: 'file to write NAME=value lines into' },
  hurry: { type: 'boolean', describe: 'skip stage-out and release at once' },
} as const satisfies Record<string, FlagSpec>;

export type FlagName = keyof typeof FLAGS;

/** The parsed flags a command receives. */
export type FunctionArgs = { [K in FlagName]?: K extends 'hurry' ? boolean : string };

/** The `code` Node gives each kind of parseArgs failure. */
interface ParseArgsError extends Error {
  code?: string;
}

/**
 * Parse the flags of function `name`: only `allowed` flags, each at most once, string flags
 * with a non-empty value, no positional words. Throws UsageError with one line.
 */
export function parseFlags(
  name: string,
  allowed: readonly FlagName[],
  args: readonly string[],
): FunctionArgs {
  const options: Record<string, FlagSpec> = {};
  for (const flag of allowed) options[flag] = FLAGS[flag];
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch (error) {
    throw flagError(name, args, error as ParseArgsError);
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind === 'positional') {
      throw new UsageError(`${name}: unexpected argument "${token.value}"`);
    }
    if (token.kind !== 'option') continue;
    if (seen.has(token.name))
      throw new UsageError(`${name}: --${token.name} is given more than once`);
    seen.add(token.name);
    if (FLAGS[token.name as FlagName].type === 'string' && !token.value) {
      throw new UsageError(`${name}: --${token.name} needs a value`);
    }
  }
  const values: FunctionArgs = {};
  for (const [flag, value] of Object.entries(parsed.values)) {
    if (flag === 'hurry') values.hurry = value === true;
    else (values as Record<string, string>)[flag] = value as string;
  }
  return values;
}

/** One line for what parseArgs refused. */
function flagError(name: string, args: readonly string[], error: ParseArgsError): UsageError {
  // parseArgs quotes the offending flag ('--bogus' or '-x') in its message.
  const flag = /'(-{1,2}[^'\s,]+)/.exec(error.message)?.[1];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`${name}: unknown flag ${flag ?? args.join(' ')}`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return new UsageError(
        flag !== undefined && /needs|argument missing|argument is ambiguous/.test(error.message)
          ? `${name}: ${longName(flag)} needs a value`
          : `${name}: ${longName(flag ?? '')} takes no value`,
      );
    default:
      return new UsageError(`${name}: ${error.message.split('\n')[0] ?? 'bad flags'}`);
  }
}

/** `-t` becomes `--token`; long flags stay as they are. */
function longName(flag: string): string {
  if (flag.startsWith('--')) return flag.split('=')[0] ?? flag;
  const entry = Object.entries(FLAGS).find(
    ([, spec]) => 'short' in spec && `-${spec.short}` === flag,
  );
  return entry ? `--${entry[0]}` : flag;
}
