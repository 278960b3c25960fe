import { UsageError } from '../exit-codes';
import type { CliContext } from '../context';
import type { FunctionArgs } from '../dacctl';
import type { CommandResult } from '../run';

export async function showInstancesCommand(
  _context: CliContext,
  _args: FunctionArgs,
): Promise<CommandResult> {
  throw new UsageError('showInstancesCommand is not implemented yet');
}
