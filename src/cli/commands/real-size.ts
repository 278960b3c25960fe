/**
 * `real_size --token T`: the bytes really allocated to a session, in whole granules, so Slurm
 * can raise the job's recorded size to what it holds. One read, no writes.
 */
import type { CliContext } from '../context';
import type { FunctionArgs } from '../flags';
import { realSizeAnswer } from '../datawarp-json';
import { requireSession } from '../find-session';
import { summariseSession } from '../../registry/session-summary';
import type { CommandResult } from '../run';
import { tokenArg } from '../slurm-args';

/** Print `{"token": T, "capacity": <bytes>, "units": "bytes"}`; 0 bytes for a zero-size session. */
export async function realSizeCommand(
  context: CliContext,
  args: FunctionArgs,
): Promise<CommandResult> {
  // Operators may ask about a persistent buffer by name; Slurm always sends a job id.
  const token = tokenArg(args.token, true);
  const session = await requireSession(await context.slurmReader(), token);
  return realSizeAnswer(summariseSession(session));
}
