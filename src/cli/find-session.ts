/** Looking up the session a Slurm call names by `--token`. */
import { NoMatchingSessionError } from '../errors/errors';
import type { SlurmReader } from '../registry/slurm-reader';
import type { SlurmSession } from '../registry/model';

/** The session of `token`, from one read; NotFoundError (exit 1) if there is none. */
export async function requireSession(reader: SlurmReader, token: string): Promise<SlurmSession> {
  const session = await reader.session(token);
  if (session === undefined) throw new NoMatchingSessionError(token);
  return session;
}
