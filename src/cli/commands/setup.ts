/** `setup`: allocate the job's buffer (see lifecycle/setup-job.ts). */
import { formatIssues, parseCapacityArg, parseJobScript } from '../../directives';
import { ValidationError } from '../../errors/errors';
import { setupJob } from '../../lifecycle/setup-job';
import type { CliContext } from '../context';
import type { FunctionArgs } from '../flags';
import type { CommandResult } from '../run';
import { idArg, readJobScript, readNodeNames, tokenArg } from '../slurm-args';
import { waitOptions } from './wait-options';

export async function setupCommand(
  context: CliContext,
  args: FunctionArgs,
): Promise<CommandResult> {
  const token = tokenArg(args.token, false);
  const owner = { uid: idArg('user', args.user), gid: idArg('groupid', args.groupid) };
  const capacity = parseCapacityArg(args.capacity ?? '');
  if (!capacity.ok) throw new ValidationError(`--capacity: ${capacity.message}`);
  const { pool, size } = capacity.value;
  if (size.kind === 'nodes') {
    throw new ValidationError('--capacity in nodes is not supported; request a size in bytes');
  }
  const script = parseJobScript(await readJobScript(args.job!));
  if (script.issues.length > 0) throw new ValidationError(formatIssues(script.issues));
  const computeHosts = args.nodehostnamefile
    ? await readNodeNames(args.nodehostnamefile)
    : undefined;
  const registry = await context.registry();
  await setupJob(
    registry,
    {
      token,
      owner,
      pool,
      capacityBytes: size.bytes,
      directives: script.directives,
      ...(computeHosts ? { computeHosts } : {}),
    },
    waitOptions(context, 'setup'),
  );
  return undefined;
}
