/**
 * `show_sessions`: every session Slurm should know, polled every 30 s. One etcd request, no
 * writes. If the read fails the command fails: a partial list would let Slurm purge the
 * missing buffers (contract §3.8).
 */
import type { CliContext } from '../context';
import type { FunctionArgs } from '../flags';
import { sessionsAnswer } from '../datawarp-json';
import type { CommandResult } from '../run';

/** Print `{"sessions": [{"id", "token", "owner", "created"}, ...]}`. */
export async function showSessionsCommand(
  context: CliContext,
  _args: FunctionArgs,
): Promise<CommandResult> {
  const reader = await context.slurmReader();
  return sessionsAnswer(await reader.sessionSummaries());
}
