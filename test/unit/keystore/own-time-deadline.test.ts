/**
 * The deadline of an etcd request counts only the time the process could run: time the
 * process is held up (here: busy with its own synchronous work, as a starved process waits
 * for a core) is not counted, so a late process does not blame etcd.
 */
import { startOwnTimeDeadline } from '../../../src/keystore/own-time-deadline';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // the process holds itself up, as a process waiting for a core is held up
  }
}

function expiry(budgetMs: number, holdUpMs = 0): Promise<number> {
  const start = performance.now();
  return new Promise((resolve) => {
    startOwnTimeDeadline(budgetMs, () => resolve(performance.now() - start));
    if (holdUpMs > 0) setTimeout(() => busy(holdUpMs), 50);
  });
}

describe('startOwnTimeDeadline', () => {
  it('expires after the budget when the process runs freely', async () => {
    const elapsed = await expiry(300);
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(900);
  });

  it('does not count the time the process was held up', async () => {
    // Held up for 1 s inside a 300 ms budget: a wall-clock deadline would expire at once.
    const elapsed = await expiry(300, 1000);
    expect(elapsed).toBeGreaterThanOrEqual(1250);
  });

  it('tells what is left, and stops when cancelled', async () => {
    let expired = false;
    const deadline = startOwnTimeDeadline(400, () => (expired = true));
    await new Promise((r) => setTimeout(r, 150));
    expect(deadline.remainingMs()).toBeGreaterThan(100);
    expect(deadline.remainingMs()).toBeLessThanOrEqual(260);
    deadline.cancel();
    deadline.cancel();
    await new Promise((r) => setTimeout(r, 400));
    expect(expired).toBe(false);
  });
});
