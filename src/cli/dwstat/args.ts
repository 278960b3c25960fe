/**
 * dwstat's command line: `dwstat [pools|sessions|instances|configurations|nodes|most|all]
 * [--json]`. Parsed by hand rather than with yargs: the grammar is one optional word and one
 * flag, and dwstat has a fixed 2 s budget that includes Node start-up.
 */
import { UsageError } from '../../errors/exit-codes';

/** The tables dwstat can show, in the order `all` shows them. */
export const TABLES = ['pools', 'sessions', 'instances', 'configurations', 'nodes'] as const;

/** One table of dwstat. */
export type TableName = (typeof TABLES)[number];

/** Subcommands that stand for several tables. */
const GROUPS: Record<string, readonly TableName[]> = {
  most: ['pools', 'sessions', 'instances'],
  all: TABLES,
};

/** The one-line usage, shown for `--help` and in every usage error. */
export const DWSTAT_USAGE = `usage: dwstat [${[...TABLES, ...Object.keys(GROUPS)].join('|')}] [--json]`;

/** What the user asked for. */
export interface DwstatRequest {
  /** Tables to show, in display order; `pools` when no subcommand is given. */
  tables: readonly TableName[];
  /** One JSON document instead of human tables. */
  json: boolean;
  /** `--help`: print the usage line and nothing else. */
  help: boolean;
}

function usageError(problem: string): UsageError {
  return new UsageError(`dwstat: ${problem}; ${DWSTAT_USAGE}`);
}

function isTableName(word: string): word is TableName {
  return (TABLES as readonly string[]).includes(word);
}

/** Parse dwstat's arguments; throws UsageError for anything it does not know. */
export function parseDwstatArgs(args: readonly string[]): DwstatRequest {
  let subcommand: string | undefined;
  let json = false;
  let help = false;
  for (const arg of args) {
    if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h') help = true;
    else if (arg.startsWith('-')) throw usageError(`unknown option "${arg}"`);
    else if (subcommand !== undefined) throw usageError(`unexpected argument "${arg}"`);
    else if (isTableName(arg) || GROUPS[arg] !== undefined) subcommand = arg;
    else throw usageError(`unknown subcommand "${arg}"`);
  }
  const name = subcommand ?? 'pools';
  const tables = isTableName(name) ? [name] : (GROUPS[name] ?? []);
  return { tables, json, help };
}
