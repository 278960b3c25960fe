/**
 * `teardown [--hurry]`: release a job buffer, or a persistent buffer by its name. An unknown
 * token is success (Slurm re-queues a failed teardown forever). The job script is not read.
 */
import { teardownSession } from '../../lifecycle/teardown';
import { NoMatchingSessionError } from '../../errors/errors';
import type { CliContext } from '../context';
import type { FunctionArgs } from '../flags';
import type { CommandResult } from '../run';
import { tokenArg } from '../slurm-args';
import { waitOptions } from './wait-options';

export async function teardownCommand(
  context: CliContext,
  args: FunctionArgs,
): Promise<CommandResult> {
  const token = tokenArg(args.token, true);
  const registry = await context.registry();
  const outcome = await teardownSession(registry, token, {
    ...waitOptions(context, 'teardown'),
    hurry: args.hurry === true,
    // Slurm does not show teardown's output: what dacd had to say goes to the log.
    onNote: (note) => context.log.warn({ token }, note),
  });
  return outcome === 'not-found' ? new NoMatchingSessionError(token).message : undefined;
}
