/**
 * `create_persistent`: a named buffer owned by a user, outliving jobs. Slurm sends no group, so
 * the owner's primary group is resolved from the uid (data-acc stored group 0).
 */
import { ConflictError } from '../errors/errors';
import type { AccessMode, SessionRecord } from '../registry/model';
import type { Registry } from '../registry/registry';
import { waitForPhase, type WaitOptions } from './wait-for-phase';

export interface PersistentRequest {
  name: string;
  owner: { uid: number; gid: number };
  pool: string;
  capacityBytes: bigint;
  accessMode: AccessMode;
  type: 'scratch';
}

/** Create the buffer (or find the same user's existing one) and wait until it is ready. */
export async function createPersistentBuffer(
  registry: Registry,
  request: PersistentRequest,
  options: WaitOptions,
): Promise<SessionRecord> {
  const { session } = await registry.createSession({
    token: request.name,
    kind: 'persistent',
    owner: request.owner,
    pool: request.pool,
    requestedBytes: request.capacityBytes,
    accessMode: request.accessMode,
    type: request.type,
  });
  if (session.kind !== 'persistent' || session.owner.uid !== request.owner.uid) {
    throw new ConflictError(
      `a burst buffer named ${request.name} already exists (owner uid ${session.owner.uid})`,
    );
  }
  return waitForPhase(registry, request.name, 'Setup', options);
}
