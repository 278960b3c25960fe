/**
 * A deadline for an answer from etcd that counts only the time this process could have
 * received it: wall time minus the time the process itself was not running.
 *
 * On a machine with far more runnable processes than cores (200 `setup` calls at once on 2
 * cores), a process can wait seconds for the CPU. When it runs again, the answer is in its
 * socket and the deadline timer is due as well, and timers run before sockets are read: a
 * wall-clock deadline then fails a call that etcd answered in time, and blames etcd. Here the
 * deadline is checked in short ticks; a tick that comes late says how long the process was
 * held up (waiting for a core, or busy with its own work), and that time is not counted.
 */

/** How often the deadline looks at the clock. */
const TICK_MS = 100;
/** Lateness of a tick that is ordinary timer jitter, not a held-up process. */
const JITTER_MS = 20;

export interface OwnTimeDeadline {
  /** Milliseconds of the budget left, as counted so far. */
  remainingMs(): number;
  /** Stop the deadline (the call ended); idempotent. */
  cancel(): void;
}

/**
 * Call `expire` once `budgetMs` of this process's own time has passed without `cancel()`.
 */
export function startOwnTimeDeadline(budgetMs: number, expire: () => void): OwnTimeDeadline {
  const start = performance.now();
  let held = 0;
  let timer: NodeJS.Timeout | undefined;
  const spent = (now: number) => now - start - held;
  const arm = (now: number) => {
    const wait = Math.min(TICK_MS, Math.max(0, budgetMs - spent(now)));
    const due = now + wait;
    timer = setTimeout(() => {
      const at = performance.now();
      const late = at - due;
      if (late > JITTER_MS) held += late;
      if (spent(at) >= budgetMs) {
        timer = undefined;
        expire();
      } else {
        arm(at);
      }
    }, wait);
  };
  arm(start);
  return {
    remainingMs: () => Math.max(0, budgetMs - spent(performance.now())),
    cancel: () => {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
