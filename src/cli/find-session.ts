/** Looking up the session a Slurm call names by `--token`. */
import { NotFoundError } from '../errors/errors';
import type { SessionRecord } from '../registry/model';
import type { Registry } from '../registry/registry';

/**
 * The error for an unknown token. Slurm treats output containing `No matching session` or
 * `token not found` specially (data_in, data_out, teardown), so keep both phrases.
 */
export function noMatchingSession(token: string): NotFoundError {
  return new NotFoundError(`No matching session for token ${token} (token not found)`);
}

/** The session of `token`, from one read; NotFoundError (exit 1) if there is none. */
export async function requireSession(registry: Registry, token: string): Promise<SessionRecord> {
  const stored = await registry.getSession(token);
  if (stored === undefined) throw noMatchingSession(token);
  return stored.record;
}
