/**
 * The one retry loop of the registry's compare-and-swap writes: read, compute, write guarded
 * by compares; when a compare fails (somebody wrote meanwhile), read again. An attempt
 * resolves with its result, or with AGAIN; after `attempts` AGAINs the loop gives up with a
 * ContentionError. Built on cockatiel's retry policy, which the etcd client uses too.
 */
import {
  handleWhenResult,
  retry,
  type IBackoffFactory,
  type IRetryBackoffContext,
} from 'cockatiel';
import { ContentionError } from '../errors/errors';

/** What an attempt resolves with when its compare failed and the loop should read again. */
export const AGAIN: unique symbol = Symbol('read again');

export interface CasLoopOptions {
  /** Attempts in all, at least 1. */
  attempts: number;
  /** The ContentionError's message. */
  contention: string;
  /** Pause between attempts (default none: the next read is the wait). */
  backoff?: IBackoffFactory<IRetryBackoffContext<unknown>>;
}

export async function casLoop<T>(
  options: CasLoopOptions,
  attempt: (n: number) => Promise<T | typeof AGAIN>,
): Promise<T> {
  const policy = retry(
    handleWhenResult((result) => result === AGAIN),
    {
      maxAttempts: Math.max(0, options.attempts - 1),
      ...(options.backoff ? { backoff: options.backoff } : {}),
    },
  );
  const result = await policy.execute((context) => attempt(context.attempt));
  if (result === AGAIN) throw new ContentionError(options.contention);
  return result;
}
