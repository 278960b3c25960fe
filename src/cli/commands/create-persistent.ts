/**
 * `create_persistent -c CLI -t <name> -u <uid> -C <pool>:<bytes> [-a access] [-T type]`.
 * Prints `created <name>` only once the buffer is ready and visible to `show_sessions`.
 */
import {
  checkPersistentName,
  parseAccessMode,
  parseBufferType,
  parsePersistentCapacityArg,
} from '../../directives';
import { ValidationError } from '../../errors/errors';
import { createPersistentBuffer } from '../../lifecycle/create-persistent';
import type { CliContext } from '../context';
import type { FunctionArgs } from '../flags';
import type { CommandResult } from '../run';
import { idArg, primaryGid } from '../slurm-args';
import { waitOptions } from './wait-options';

export async function createPersistentCommand(
  context: CliContext,
  args: FunctionArgs,
): Promise<CommandResult> {
  const name = checkPersistentName(args.token ?? '');
  if (!name.ok) throw new ValidationError(`burst buffer name "${args.token}": ${name.message}`);
  const uid = idArg('user', args.user);
  const capacity = parsePersistentCapacityArg(args.capacity ?? '');
  if (!capacity.ok) throw new ValidationError(`--capacity: ${capacity.message}`);
  const access = parseAccessMode(args.access ?? 'striped');
  if (!access.ok) throw new ValidationError(`access=${args.access}: ${access.message}`);
  const type = parseBufferType(args.type ?? 'scratch');
  if (!type.ok) throw new ValidationError(`type=${args.type}: ${type.message}`);
  const gid = args.groupid !== undefined ? idArg('groupid', args.groupid) : await primaryGid(uid);
  const registry = await context.registry();
  await createPersistentBuffer(
    registry,
    {
      name: name.value,
      owner: { uid, gid },
      pool: capacity.value.pool,
      capacityBytes: capacity.value.bytes,
      accessMode: access.value,
      type: type.value,
    },
    waitOptions(context, 'create_persistent'),
  );
  return `created ${name.value}`;
}
