/** Looking up the session a Slurm call names by `--token`. */
import { NoMatchingSessionError } from '../errors/errors';
import type { SessionRecord } from '../registry/model';
import type { RegistryReader } from '../registry/registry-reader';

/** The session of `token`, from one read; NotFoundError (exit 1) if there is none. */
export async function requireSession(
  registry: RegistryReader,
  token: string,
): Promise<SessionRecord> {
  const stored = await registry.getSession(token);
  if (stored === undefined) throw new NoMatchingSessionError(token);
  return stored.record;
}
