/**
 * dacd's reconcile loop: it follows the sessions this host serves (`reconciler` == this host)
 * through the registry's watch, and runs one worker per session that carries out the step the
 * session's `desired` asks for (step-runner.ts), one step after another.
 *
 * Restart-safe by construction: dacd writes a result only after the step's work is done, and
 * every provider operation is idempotent, so after a crash (or SIGTERM) the next start simply
 * does the desired step again. A newer request that supersedes a running step (teardown,
 * typically with --hurry, during a stage-in/out) aborts it.
 */
import { AbortedError } from '../errors/errors';
import type { Logger } from '../logging/logger';
import type { Phase, SessionRecord } from '../registry/model';
import type { Registry, Watch } from '../registry/registry';
import type { FilesystemProvider } from '../pfsprovider/provider';
import type { DacdMetrics } from './metrics';
import { StepRunner } from './step-runner';

export interface ReconcilerOptions {
  /** Minimum time between two progress writes of one transfer. Default 1000 ms. */
  progressIntervalMs?: number;
  /** Attempts of a step that fails with a transient error. Default 3. */
  attempts?: number;
  /** Pause before the second attempt (doubles each time). Default 1000 ms. */
  retryDelayMs?: number;
  /**
   * Tokens with leftovers on this host's disks, for the start-up sweep; and how to remove
   * them. Optional: providers that cannot list leftovers skip the sweep.
   */
  leftovers?: { list(): Promise<Set<string>>; remove(token: string): Promise<void> };
  /** Told of every session the watch shows and of each step's end (metrics.ts). */
  metrics?: Pick<DacdMetrics, 'session' | 'stepFinished' | 'staged'>;
}

interface Worker {
  controller: AbortController;
  /** The phase being worked on, if any. */
  phase: Phase | undefined;
  /** Something changed while working: look again when done. */
  again: boolean;
  done: Promise<void>;
}

/** Whether dacd on `host` has something to do for `session`. */
export function needsWork(session: SessionRecord, host: string): boolean {
  if (session.reconciler !== host) return false;
  const observed = session.observed;
  return (
    observed === null || observed.phase !== session.desired || observed.status === 'InProgress'
  );
}

export class Reconciler {
  private readonly workers = new Map<string, Worker>();
  private readonly steps: StepRunner;
  private watch: Watch | undefined;
  private stopping = false;

  constructor(
    private readonly registry: Registry,
    provider: FilesystemProvider,
    private readonly host: string,
    private readonly log: Logger,
    private readonly options: ReconcilerOptions = {},
  ) {
    this.steps = new StepRunner(registry, provider, host, log, {
      progressIntervalMs: options.progressIntervalMs ?? 1000,
      attempts: options.attempts ?? 3,
      retryDelayMs: options.retryDelayMs ?? 1000,
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
  }

  /** Read every session, clean up leftovers of sessions that are gone, then follow changes. */
  async start(): Promise<void> {
    const { sessions: all, damaged, revision } = await this.registry.readableSessions();
    for (const error of damaged) this.damaged(error.key, error);
    for (const session of all) this.options.metrics?.session(session.token, session);
    const sessions = all.filter((session) => session.reconciler === this.host);
    await this.sweep(new Set(sessions.map((session) => session.token)));
    this.watch = await this.registry.watchSessions(revision + 1, {
      changed: (stored) => {
        this.options.metrics?.session(stored.record.token, stored.record);
        this.onChange(stored.record);
      },
      removed: (token) => {
        this.options.metrics?.session(token, undefined);
        this.onGone(token);
      },
      damaged: (key, error) => this.damaged(key, error),
    });
    for (const session of sessions) this.onChange(session);
    this.log.info({ sessions: sessions.length }, 'reconciling');
  }

  /**
   * Stop taking work, abort running steps (they write nothing, so the next start redoes
   * them) and wait up to `graceMs` for them to wind down.
   */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    await this.watch?.close();
    for (const worker of this.workers.values()) {
      worker.controller.abort(new AbortedError('dacd is stopping'));
    }
    const all = Promise.all([...this.workers.values()].map((w) => w.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  /** Resolves when no step is running (for tests and orderly stops). */
  async idle(): Promise<void> {
    while (this.workers.size > 0) {
      await Promise.all([...this.workers.values()].map((w) => w.done));
    }
  }

  /** Resolves when no worker of `token` runs (at once if none does). */
  async settled(token: string): Promise<void> {
    for (let worker = this.workers.get(token); worker; worker = this.workers.get(token)) {
      await worker.done;
    }
  }

  /** A session record that cannot be read: not ours to repair, the CLI reports it too. */
  private damaged(key: string, error: unknown): void {
    this.log.error({ err: error, key }, 'cannot read session record');
  }

  private async sweep(mine: Set<string>): Promise<void> {
    const leftovers = this.options.leftovers;
    if (!leftovers) return;
    for (const token of await leftovers.list()) {
      if (mine.has(token)) continue;
      this.log.warn({ token }, 'removing leftovers of a session that no longer exists');
      await leftovers.remove(token).catch((error: unknown) => {
        this.log.error({ err: error, token }, 'could not remove leftovers');
      });
    }
  }

  private onGone(token: string): void {
    const worker = this.workers.get(token);
    if (!worker) return;
    worker.again = true;
    worker.controller.abort(new AbortedError(`session ${token} was removed`));
  }

  private onChange(session: SessionRecord): void {
    if (this.stopping) return;
    const worker = this.workers.get(session.token);
    if (worker) {
      worker.again = true;
      // A newer request supersedes the running step: abort it, the loop picks the new one.
      if (worker.phase !== undefined && session.desired !== worker.phase) {
        worker.controller.abort(
          new AbortedError(`${worker.phase} superseded by a request for ${session.desired}`),
        );
      }
      return;
    }
    if (!needsWork(session, this.host)) return;
    this.spawn(session.token);
  }

  private spawn(token: string): void {
    const worker: Worker = {
      controller: new AbortController(),
      phase: undefined,
      again: false,
      done: Promise.resolve(),
    };
    this.workers.set(token, worker);
    worker.done = this.work(token, worker)
      .catch((error: unknown) => this.log.error({ err: error, token }, 'session worker failed'))
      .finally(() => {
        this.workers.delete(token);
        // A change that arrived as the worker finished: look once more.
        if (worker.again && !this.stopping) void this.recheck(token);
      });
  }

  private async recheck(token: string): Promise<void> {
    const stored = await this.registry.getSession(token).catch(() => undefined);
    if (stored && !this.workers.has(token)) this.onChange(stored.record);
  }

  private async work(token: string, worker: Worker): Promise<void> {
    for (;;) {
      worker.again = false;
      if (this.stopping) return;
      const stored = await this.registry.getSession(token);
      if (!stored || !needsWork(stored.record, this.host)) return;
      if (worker.controller.signal.aborted) worker.controller = new AbortController();
      const session = stored.record;
      worker.phase = session.desired;
      await this.steps.run(session, worker.controller.signal);
      worker.phase = undefined;
    }
  }
}
