import { UsageError } from '../exit-codes';
import type { CliContext } from '../context';
import type { FunctionArgs } from '../dacctl';
import type { CommandResult } from '../run';

export async function dataInCommand(
  _context: CliContext,
  _args: FunctionArgs,
): Promise<CommandResult> {
  throw new UsageError('dataInCommand is not implemented yet');
}

export async function preRunCommand(
  _context: CliContext,
  _args: FunctionArgs,
): Promise<CommandResult> {
  throw new UsageError('preRunCommand is not implemented yet');
}

export async function postRunCommand(
  _context: CliContext,
  _args: FunctionArgs,
): Promise<CommandResult> {
  throw new UsageError('postRunCommand is not implemented yet');
}

export async function dataOutCommand(
  _context: CliContext,
  _args: FunctionArgs,
): Promise<CommandResult> {
  throw new UsageError('dataOutCommand is not implemented yet');
}
