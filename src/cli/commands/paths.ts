/**
 * `paths --job S --token T --pathfile F`: write the job's `DW_*` environment lines into F.
 * Runs synchronously inside slurmctld at job launch, so: one etcd read, no daemon round trip.
 */
import { mountRootFromEnv } from '../../registry/buffer-paths';
import type { CliContext } from '../context';
import { INLINE_ETCD_TIMEOUT_MS } from '../inline-timeout';
import type { FunctionArgs } from '../flags';
import { requireSession } from '../find-session';
import { pathFileContent, pathFileLines, writeFileAtomically } from '../path-file';
import type { CommandResult } from '../run';
import { tokenArg } from '../slurm-args';

/** Write the path file (created or replaced, mode 0644); prints nothing on success. */
export async function pathsCommand(
  context: CliContext,
  args: FunctionArgs,
): Promise<CommandResult> {
  const token = tokenArg(args.token, true);
  const pathFile = args.pathfile ?? '';
  // Check our settings before touching etcd: a bad DAC_MOUNT_ROOT fails the same either way.
  const mountRoot = mountRootFromEnv(context.env);
  const session = await requireSession(
    await context.slurmReader({ maxTimeoutMs: INLINE_ETCD_TIMEOUT_MS }),
    token,
  );
  const lines = pathFileLines(session, mountRoot);
  writeFileAtomically(pathFile, pathFileContent(lines));
  context.log.debug({ token, pathFile, lines }, 'path file written');
  return undefined;
}
