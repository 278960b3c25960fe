import { ProgressThrottle } from '../../../src/dacd/progress-throttle';

/** A throttle on a clock the test moves, recording what it writes. */
function throttle(intervalMs: number, write?: (n: number) => Promise<void>) {
  const clock = { now: 1_000 };
  const written: number[] = [];
  const subject = new ProgressThrottle<number>({
    intervalMs,
    now: () => clock.now,
    write:
      write ??
      ((n) => {
        written.push(n);
        return Promise.resolve();
      }),
  });
  return { subject, clock, written };
}

describe('ProgressThrottle', () => {
  it('writes the first count, then none until the interval has passed', async () => {
    const { subject, clock, written } = throttle(1000);
    subject.offer(1);
    clock.now += 999;
    subject.offer(2);
    clock.now += 1;
    subject.offer(3);
    clock.now += 500;
    subject.offer(4);
    await subject.settled();
    expect(written).toEqual([1, 3]);
    expect(subject.latest).toBe(4);
  });

  it('writes every count with an interval of 0, however fast they come', async () => {
    const { subject, written } = throttle(0);
    for (const n of [1, 2, 3]) subject.offer(n);
    await subject.settled();
    expect(written).toEqual([1, 2, 3]);
  });

  it('writes one count after another, and settles once the last has finished', async () => {
    const order: string[] = [];
    const releases: Array<() => void> = [];
    const { subject, clock } = throttle(10, (n) => {
      order.push(`start ${n}`);
      return new Promise((resolve) =>
        releases.push(() => {
          order.push(`end ${n}`);
          resolve();
        }),
      );
    });
    subject.offer(1);
    clock.now += 10;
    subject.offer(2);
    let settled = false;
    const done = subject.settled().then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['start 1']);
    releases.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['start 1', 'end 1', 'start 2']);
    expect(settled).toBe(false);
    releases.shift()!();
    await done;
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('has no latest count before the first offer', () => {
    expect(throttle(10).subject.latest).toBeUndefined();
  });
});
