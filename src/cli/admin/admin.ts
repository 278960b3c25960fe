/**
 * The operators' commands of dacctl, `dacctl <group> <action> ...` (`dacctl hosts drain
 * dac[01-04] -r "disk swap"`), parsed with yargs: help at every level, examples, strict flags.
 * Slurm's functions keep their own small parser (dacctl.ts); this module and yargs are loaded
 * only for an operator's command.
 *
 * yargs only parses here: it picks the action and checks the flags, and its help and errors
 * come back as text. The action then runs like any CLI function, through `runCli`, so that
 * an answer, an error line and the exit code work the same for both halves of dacctl.
 */
import type { Argv } from 'yargs';
import { UsageError } from '../../errors/exit-codes';
import type { CliContext } from '../context';
import type { CommandResult } from '../run';
import type { AdminAction, AdminArgs, AdminCommand } from './command';

async function commands(): Promise<AdminCommand[]> {
  const [{ POOL_COMMANDS }, { HOSTS }, { BRICKS }, { SESSIONS }, { EVENTS }, { METRICS }] =
    await Promise.all([
      import('./pools'),
      import('./hosts'),
      import('./bricks'),
      import('./sessions'),
      import('./events'),
      import('./metrics'),
    ]);
  return [...POOL_COMMANDS, HOSTS, BRICKS, SESSIONS, EVENTS, METRICS];
}

function addAction(
  yargs: Argv,
  action: AdminAction,
  chosen: (a: AdminAction, args: AdminArgs) => void,
): Argv {
  return yargs.command(
    action.command,
    action.describe,
    (y) => {
      for (const [name, options] of Object.entries(action.positionals ?? {}))
        y.positional(name, options);
      y.options(action.options ?? {});
      for (const [command, meaning] of action.examples ?? []) y.example(command, meaning);
      return y;
    },
    (args) => chosen(action, args as unknown as AdminArgs),
  );
}

/** The group and action named at the start of `args`, as far as they are known. */
function knownWords(entries: AdminCommand[], args: readonly string[]): string {
  const entry = entries.find((e) => e.name === args[0]);
  if (!entry) return '';
  const action =
    'actions' in entry ? entry.actions.find((a) => a.command.split(' ')[0] === args[1]) : undefined;
  return action ? `${entry.name} ${args[1]}` : entry.name;
}

/** `dacctl help`'s lines for the operators' commands. */
export async function adminUsage(): Promise<string> {
  const lines: string[] = [];
  for (const entry of await commands()) {
    const actions = 'actions' in entry ? entry.actions : [entry];
    const prefix = 'actions' in entry ? `${entry.name} ` : '';
    for (const action of actions)
      lines.push(`  ${prefix}${action.command}\n      ${action.describe}`);
  }
  return lines.join('\n');
}

/** Parse and run one operator's command line (`args` as given to dacctl). */
export async function runAdmin(
  context: CliContext,
  args: readonly string[],
): Promise<CommandResult> {
  const { default: yargsOf } = await import('yargs/yargs');
  let selected: { action: AdminAction; args: AdminArgs } | undefined;
  const chosen = (action: AdminAction, parsed: AdminArgs) => {
    selected = { action, args: parsed };
  };
  const parser = yargsOf([...args])
    .scriptName('dacctl')
    .strict()
    .exitProcess(false)
    .version(false)
    .wrap(100)
    .option('json', {
      type: 'boolean',
      default: false,
      describe: 'one JSON document instead of a table',
    })
    .demandCommand(1, 'name a command');
  const entries = await commands();
  for (const entry of entries) {
    if (!('actions' in entry)) {
      addAction(parser, { ...entry, command: entry.command }, chosen);
      continue;
    }
    parser.command(entry.name, entry.describe, (group) => {
      for (const action of entry.actions) addAction(group, action, chosen);
      return group.demandCommand(
        1,
        `name an action: ${entry.actions.map((a) => a.command.split(' ')[0]).join(', ')}`,
      );
    });
  }
  let failure: Error | undefined;
  let output = '';
  parser.parse([...args], {}, (error, _argv, text) => {
    failure = error ?? undefined;
    output = text;
  });
  if (failure) {
    const words = knownWords(entries, args);
    throw new UsageError(`dacctl ${words}: ${failure.message} (see dacctl ${words} --help)`);
  }
  if (!selected) return output.trimEnd();
  context.successLogLevel = 'info';
  return selected.action.run(context, selected.args);
}
