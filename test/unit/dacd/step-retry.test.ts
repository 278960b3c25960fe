import { withStepRetries } from '../../../src/dacd/step-retry';
import { AbortedError, StageError, StoreUnavailableError } from '../../../src/errors/errors';

const fast = (retried: Array<[string, number]> = []) => ({
  attempts: 3,
  delayMs: 5,
  onRetry: (error: unknown, attempt: number) => retried.push([(error as Error).message, attempt]),
});

/** An attempt that fails with each of `errors` in turn, then resolves 'done'. */
function failing(...errors: Error[]) {
  const calls = { count: 0 };
  const attempt = () => {
    const error = errors[calls.count];
    calls.count += 1;
    return error ? Promise.reject(error) : Promise.resolve('done');
  };
  return { calls, attempt };
}

describe('withStepRetries', () => {
  it('retries a transient failure, telling which attempt failed, until one succeeds', async () => {
    const retried: Array<[string, number]> = [];
    const { calls, attempt } = failing(
      new StoreUnavailableError('lnet down'),
      new StoreUnavailableError('lnet still down'),
    );
    await expect(
      withStepRetries(fast(retried), new AbortController().signal, attempt),
    ).resolves.toBe('done');
    expect(calls.count).toBe(3);
    expect(retried).toEqual([
      ['lnet down', 1],
      ['lnet still down', 2],
    ]);
  });

  it('gives up after its attempts with the last error', async () => {
    const { calls, attempt } = failing(
      new StoreUnavailableError('1'),
      new StoreUnavailableError('2'),
      new StoreUnavailableError('3'),
    );
    await expect(withStepRetries(fast(), new AbortController().signal, attempt)).rejects.toThrow(
      new StoreUnavailableError('3'),
    );
    expect(calls.count).toBe(3);
  });

  it('does not retry a user error, an abort, or an error that is not ours', async () => {
    for (const error of [new StageError('no source'), new AbortedError('x'), new Error('bug')]) {
      const { calls, attempt } = failing(error);
      await expect(withStepRetries(fast(), new AbortController().signal, attempt)).rejects.toBe(
        error,
      );
      expect(calls.count).toBe(1);
    }
  });

  it('pauses twice as long before each further attempt', async () => {
    const starts: number[] = [];
    const { attempt } = failing(new StoreUnavailableError('1'), new StoreUnavailableError('2'));
    const timed = () => {
      starts.push(Date.now());
      return attempt();
    };
    await withStepRetries({ ...fast(), delayMs: 40 }, new AbortController().signal, timed);
    const [a, b, c] = starts as [number, number, number];
    expect(b - a).toBeGreaterThanOrEqual(35);
    expect(c - b).toBeGreaterThanOrEqual(75);
  });

  it('ends at once when aborted during a pause, and attempts nothing more', async () => {
    const controller = new AbortController();
    const { calls, attempt } = failing(new StoreUnavailableError('lnet down'));
    const started = Date.now();
    const run = withStepRetries({ ...fast(), delayMs: 10_000 }, controller.signal, attempt);
    await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await expect(run).rejects.toThrow(AbortedError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(calls.count).toBe(1);
  });

  it('waits for an attempt under way when aborted, and does not retry it', async () => {
    const controller = new AbortController();
    let finish: (error: Error) => void = () => undefined;
    let calls = 0;
    const attempt = () => {
      calls += 1;
      return new Promise<string>((_, reject) => (finish = reject));
    };
    let ended = false;
    const run = withStepRetries(fast(), controller.signal, attempt).finally(() => (ended = true));
    await new Promise((r) => setImmediate(r));
    controller.abort();
    await new Promise((r) => setTimeout(r, 20));
    expect(ended).toBe(false);
    // A transient failure once aborted ends the step, with what the provider said.
    finish(new StoreUnavailableError('interrupted'));
    await expect(run).rejects.toThrow('interrupted');
    expect(calls).toBe(1);
  });
});
