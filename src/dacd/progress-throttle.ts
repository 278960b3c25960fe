/**
 * Transfer counts arrive several times a second while a stage copies; each written one is an
 * etcd transaction (and a summary check). The throttle writes a count only when the last write
 * is at least `intervalMs` old, one write after another in order, and keeps the latest count
 * so that a stage that fails can record what it had copied.
 */

export interface ProgressThrottleOptions<P> {
  /** Minimum time between two writes, in milliseconds; 0 writes every count. */
  intervalMs: number;
  /** Write one count. Must not reject: progress is best effort, and says so in the log. */
  write(progress: P): Promise<void>;
  /** Milliseconds; injectable for tests. Default `Date.now`. */
  now?: () => number;
}

export class ProgressThrottle<P> {
  private lastWrite = Number.NEGATIVE_INFINITY;
  private writing: Promise<void> = Promise.resolve();
  private newest: P | undefined;
  private readonly now: () => number;

  constructor(private readonly options: ProgressThrottleOptions<P>) {
    this.now = options.now ?? Date.now;
  }

  /** A new count: written now unless the last write was less than `intervalMs` ago. */
  offer(progress: P): void {
    this.newest = progress;
    const now = this.now();
    if (now - this.lastWrite < this.options.intervalMs) return;
    this.lastWrite = now;
    this.writing = this.writing.then(() => this.options.write(progress));
  }

  /** The last count offered, written or not. */
  get latest(): P | undefined {
    return this.newest;
  }

  /** Resolves when every write started so far has finished. */
  settled(): Promise<void> {
    return this.writing;
  }
}
