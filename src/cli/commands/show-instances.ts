/**
 * `show_instances`: one instance per session holding bricks, polled every 30 s. One etcd
 * request, no writes; Slurm uses it to size buffers it adopts after a restart.
 */
import type { CliContext } from '../context';
import type { FunctionArgs } from '../flags';
import { instancesAnswer } from '../datawarp-json';
import type { CommandResult } from '../run';

/** Print `{"instances": [{"id", "capacity": {"bytes", "nodes"}, "links": {"session"}}, ...]}`. */
export async function showInstancesCommand(
  context: CliContext,
  _args: FunctionArgs,
): Promise<CommandResult> {
  const reader = await context.slurmReader();
  return instancesAnswer(await reader.sessionSummaries());
}
