/** The shape of an operator's command (admin.ts builds the yargs tree from these). */
import type { Options, PositionalOptions } from 'yargs';
import type { CliContext } from '../context';
import type { CommandResult } from '../run';

/** The parsed flags of an action (yargs has checked their types and that required ones are there). */
export type AdminArgs = Record<string, unknown> & { json: boolean };

export interface AdminAction {
  /** The yargs command: the action and its positionals, e.g. `drain <hosts>`. */
  command: string;
  describe: string;
  positionals?: Record<string, PositionalOptions>;
  options?: Record<string, Options>;
  examples?: [command: string, meaning: string][];
  run(context: CliContext, args: AdminArgs): Promise<CommandResult>;
}

/** A group of actions (`hosts`), or a command of its own (`df`: an action without a group). */
export interface AdminGroup {
  name: string;
  describe: string;
  actions: AdminAction[];
}

export type AdminCommand = AdminGroup | (AdminAction & { name: string });
