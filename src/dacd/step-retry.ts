/**
 * Retries of a step that failed with a transient error (a network hiccup on the way to a
 * brick or a compute node): `attempts` in all, pausing `delayMs` before the second and twice
 * as long before each one after, on cockatiel's retry policy as the registry's
 * compare-and-swap loop is. Errors of the request itself (`user`) and of the system (`fatal`)
 * are not retried: they would fail again.
 *
 * An abort ends the step at once during a pause. During an attempt it waits for the attempt,
 * which the provider aborts promptly: the next step must not start while this one still works
 * on the buffer.
 */
import { ExponentialBackoff, handleWhen, noJitterGenerator, retry } from 'cockatiel';
import { AbortedError, DacError } from '../errors/errors';

export interface StepRetryOptions {
  /** Attempts in all, at least 1. */
  attempts: number;
  /** Pause before the second attempt, in milliseconds; doubled before each later one. */
  delayMs: number;
  /** Told of each failed attempt that is retried (`attempt`: 1 for the first). */
  onRetry(error: unknown, attempt: number): void;
}

/** Whether retrying may help. An abort is transient, but asks for no retry. */
function worthRetrying(error: unknown): boolean {
  return (
    error instanceof DacError && error.kind === 'transient' && !(error instanceof AbortedError)
  );
}

/** Run `attempt` until it succeeds, fails for good, or `signal` is aborted. */
export function withStepRetries<T>(
  options: StepRetryOptions,
  signal: AbortSignal,
  attempt: () => Promise<T>,
): Promise<T> {
  const policy = retry(handleWhen(worthRetrying), {
    maxAttempts: Math.max(0, options.attempts - 1),
    backoff: new ExponentialBackoff({
      initialDelay: options.delayMs,
      maxDelay: Number.POSITIVE_INFINITY,
      generator: noJitterGenerator,
    }),
    // Cockatiel's pause does not end on an abort; nothing waits for it once this promise
    // has rejected, so it must not keep a stopping daemon alive.
  }).dangerouslyUnref();
  const listener = policy.onRetry((failure) => {
    if ('error' in failure) options.onRetry(failure.error, failure.attempt);
  });
  return new Promise<T>((resolve, reject) => {
    let attempting = false;
    const onAbort = () => {
      if (!attempting) reject(new AbortedError('aborted while waiting to retry'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    policy
      .execute(async (context) => {
        // A pause that ended after an abort (this promise has rejected already).
        if (context.attempt > 0 && signal.aborted) throw new AbortedError('aborted');
        attempting = true;
        try {
          return await attempt();
        } finally {
          attempting = false;
        }
      }, signal)
      .then(resolve, reject)
      .finally(() => {
        signal.removeEventListener('abort', onAbort);
        listener.dispose();
      });
  });
}
