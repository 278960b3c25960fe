/**
 * Teardown: the release point of every buffer. Idempotent (an unknown token is success), never
 * reads the job script (Slurm may pass a dummy), and always ends: if the serving host stays
 * down, the bricks are released anyway and the host is drained for an operator to check them.
 */
import { ConflictError, HostDownError, NoMatchingSessionError } from '../errors/errors';
import type { SessionRecord } from '../registry/model';
import type { Registry } from '../registry/registry';
import { requestPhase } from './request-phase';
import type { WaitOptions } from './wait-for-phase';

export type TeardownOutcome = 'released' | 'not-found';

/** Tear a session down: dacd removes the filesystem, then the bricks are freed. */
export async function teardownSession(
  registry: Registry,
  token: string,
  options: WaitOptions & {
    hurry: boolean;
    /** Told what dacd said about the teardown, if anything (e.g. it could not clean up). */
    onNote?: (note: string) => void;
  },
): Promise<TeardownOutcome> {
  // The session as the request read it: the host to drain if it stays down.
  let session: SessionRecord | undefined;
  try {
    const done = await requestPhase(registry, token, 'Teardown', {
      ...options,
      check: async (current) => {
        session = current;
        if (current.kind === 'persistent') await refuseIfInUse(registry, token);
      },
      change: (s) => ({ ...s, hurry: s.hurry || options.hurry }),
    });
    if (done.observed?.phase === 'Teardown' && done.observed.message) {
      options.onNote?.(done.observed.message);
    }
  } catch (error) {
    if (error instanceof NoMatchingSessionError) return 'not-found';
    if (!(error instanceof HostDownError) || !session || session.reconciler === null) throw error;
    await registry.setHostEnabled(
      session.reconciler,
      false,
      `session ${token} was released while this host was down; wipe its bricks, then ` +
        `dacctl hosts undrain ${session.reconciler}`,
      `teardown of session ${token}`,
    );
  }
  await registry.releaseSession(token);
  return 'released';
}

/** Refusing makes Slurm retry on its next scheduling pass, once the users have finished. */
async function refuseIfInUse(registry: Registry, token: string): Promise<void> {
  const users = (await registry.sessions())
    .filter((s) => s.kind === 'job' && s.persistentAttachments.includes(token))
    .map((s) => s.token);
  if (users.length > 0) {
    throw new ConflictError(
      `persistent buffer ${token} is in use by job ${users.join(', job ')}; ` +
        'it can be destroyed when they have finished',
    );
  }
}
