import { ContentionError } from '../../../src/errors/errors';
import { AGAIN, casLoop } from '../../../src/registry/cas-loop';

describe('casLoop', () => {
  it('returns the first result that is not AGAIN, counting attempts from 0', async () => {
    const seen: number[] = [];
    const result = await casLoop({ attempts: 5, contention: 'busy' }, (n) => {
      seen.push(n);
      return Promise.resolve(n < 2 ? AGAIN : `done at ${n}`);
    });
    expect(result).toBe('done at 2');
    expect(seen).toEqual([0, 1, 2]);
  });

  it('gives up after its attempts with a ContentionError', async () => {
    let calls = 0;
    const loop = casLoop({ attempts: 3, contention: 'host h: too many concurrent updates' }, () => {
      calls += 1;
      return Promise.resolve(AGAIN);
    });
    await expect(loop).rejects.toThrow(new ContentionError('host h: too many concurrent updates'));
    expect(calls).toBe(3);
  });

  it('passes an error through at once, and undefined as a result', async () => {
    let calls = 0;
    const failing = casLoop({ attempts: 3, contention: 'x' }, () => {
      calls += 1;
      return Promise.reject(new Error('not found'));
    });
    await expect(failing).rejects.toThrow('not found');
    expect(calls).toBe(1);
    await expect(
      casLoop({ attempts: 3, contention: 'x' }, () => Promise.resolve(undefined)),
    ).resolves.toBeUndefined();
  });
});
