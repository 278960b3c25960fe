/**
 * dacd's reconcile loop: it watches the sessions this host serves (`reconciler` == this host),
 * carries out the step each session's `desired` asks for through the filesystem provider, and
 * writes what it observed (status, message, transfer counts, finish time) back to etcd.
 *
 * Restart-safe by construction: dacd writes a result only after the step's work is done, and
 * every provider operation is idempotent, so after a crash (or SIGTERM) the next start simply
 * does the desired step again. One worker per session runs steps one after another; a newer
 * request that supersedes a running step (teardown, typically with --hurry, during a
 * stage-in/out) aborts it.
 */
import { AbortedError, DacError, NotFoundError } from '../errors/errors';
import type { Keystore, Watch } from '../keystore/keystore';
import type { Logger } from '../logging/logger';
import { isPhaseDone } from '../lifecycle/phases';
import type { Phase, SessionRecord } from '../registry/model';
import { SessionRecord as SessionSchema } from '../registry/model';
import { decodeRecord } from '../registry/record-codec';
import type { Registry } from '../registry/registry';
import type {
  FilesystemProvider,
  OperationContext,
  TransferProgress,
} from '../pfsprovider/provider';

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
  private watch: Watch | undefined;
  private stopping = false;
  private readonly progressIntervalMs: number;
  private readonly attempts: number;
  private readonly retryDelayMs: number;

  constructor(
    private readonly store: Keystore,
    private readonly registry: Registry,
    private readonly provider: FilesystemProvider,
    private readonly host: string,
    private readonly log: Logger,
    private readonly options: ReconcilerOptions = {},
  ) {
    this.progressIntervalMs = options.progressIntervalMs ?? 1000;
    this.attempts = options.attempts ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
  }

  /** Read every session, clean up leftovers of sessions that are gone, then follow changes. */
  async start(): Promise<void> {
    const prefix = this.registry.keys.sessions();
    const { kvs, revision } = await this.store.range(prefix);
    const mine = new Set<string>();
    const sessions: SessionRecord[] = [];
    for (const kv of kvs) {
      const session = this.decode(kv.key, kv.value);
      if (session && session.reconciler === this.host) {
        mine.add(session.token);
        sessions.push(session);
      }
    }
    await this.sweep(mine);
    this.watch = await this.store.watchPrefix(
      prefix,
      (event) => {
        const token = event.kv.key.slice(prefix.length);
        if (event.type === 'delete') this.onGone(token);
        else {
          const session = this.decode(event.kv.key, event.kv.value);
          if (session) this.onChange(session);
        }
      },
      { fromRevision: revision + 1 },
    );
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

  private decode(key: string, value: string): SessionRecord | undefined {
    try {
      return decodeRecord(SessionSchema, key, value);
    } catch (error) {
      // Not ours to repair: the CLI reports the same record error to whoever uses it.
      this.log.error({ err: error, key }, 'cannot read session record');
      return undefined;
    }
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
      await this.step(session, worker.controller.signal);
      worker.phase = undefined;
    }
  }

  /** Carry out the session's desired step and record the outcome. */
  private async step(session: SessionRecord, signal: AbortSignal): Promise<void> {
    const phase = session.desired;
    const log = this.log.child({ token: session.token, session: session.id, phase });
    const context: OperationContext = { session, signal, log };
    log.info('step started');
    try {
      const result = await this.withRetries(log, signal, () => this.perform(phase, context));
      await this.report(session, phase, { status: 'Completed', ...result });
      log.info({ ...result }, 'step completed');
    } catch (error) {
      if (error instanceof AbortedError || signal.aborted) {
        log.info({ reason: error instanceof Error ? error.message : String(error) }, 'aborted');
        return;
      }
      if (phase === 'Teardown') {
        await this.teardownFailed(session, error, log);
        return;
      }
      const message = error instanceof DacError ? error.message : 'internal error in dacd';
      log.error({ err: error }, 'step failed');
      await this.report(session, phase, { status: 'Error', message });
    }
  }

  private async perform(
    phase: Phase,
    context: OperationContext,
  ): Promise<{ message?: string; transfer?: TransferProgress }> {
    const { session } = context;
    const provider = this.provider;
    // A later step may be asked for before Setup was seen through (Slurm moved on, or this
    // daemon restarted): make sure the filesystem exists first; `create` is idempotent.
    if (phase !== 'Setup' && phase !== 'Teardown' && !isPhaseDone(session, 'Setup')) {
      await provider.create(context);
    }
    switch (phase) {
      case 'Setup':
        await provider.create(context);
        return {};
      case 'DataIn':
        return { transfer: await this.transfer(context, 'DataIn') };
      case 'PreRun':
        await provider.mount(context, session.computeHosts);
        return {};
      case 'PostRun':
        await provider.unmount(context, session.computeHosts);
        return {};
      case 'DataOut':
        if (session.hurry) return { message: 'stage-out skipped (teardown with --hurry)' };
        return { transfer: await this.transfer(context, 'DataOut') };
      case 'Teardown':
        await provider.unmount(context, session.computeHosts);
        await provider.delete(context);
        return {};
    }
  }

  private async transfer(
    context: OperationContext,
    phase: 'DataIn' | 'DataOut',
  ): Promise<TransferProgress> {
    const requests = phase === 'DataIn' ? context.session.stageIn : context.session.stageOut;
    if (requests.length === 0) return { bytes: 0, files: 0 };
    let lastWrite = 0;
    let writing: Promise<void> = Promise.resolve();
    let latest: TransferProgress | undefined;
    const onProgress = (progress: TransferProgress) => {
      latest = progress;
      const now = Date.now();
      if (now - lastWrite < this.progressIntervalMs) return;
      lastWrite = now;
      writing = writing.then(() => this.writeTransfer(context.session, phase, progress, false));
    };
    const stage = phase === 'DataIn' ? this.provider.stageIn : this.provider.stageOut;
    try {
      const totals = await stage.call(this.provider, { ...context, onProgress });
      await writing;
      return totals;
    } catch (error) {
      // The throttled writes may be far behind what was copied before the failure (a full
      // buffer fills in well under a second): record the last counts as final, after the
      // writes still on their way.
      await writing;
      if (latest && !context.signal.aborted) {
        await this.writeTransfer(context.session, phase, latest, true);
      }
      throw error;
    }
  }

  private async writeTransfer(
    session: SessionRecord,
    phase: 'DataIn' | 'DataOut',
    progress: TransferProgress,
    done: boolean,
  ): Promise<void> {
    await this.registry
      .updateSession(session.token, (current) =>
        current.desired === phase && current.id === session.id
          ? { ...current, transfer: this.transferRecord(phase, progress, done) }
          : current,
      )
      .catch((error: unknown) => this.log.warn({ err: error }, 'progress not recorded'));
  }

  private transferRecord(
    phase: 'DataIn' | 'DataOut',
    progress: TransferProgress,
    done: boolean,
  ): NonNullable<SessionRecord['transfer']> {
    return {
      phase,
      bytes: BigInt(progress.bytes),
      files: progress.files,
      done,
      updatedAt: Math.floor(Date.now() / 1000),
    };
  }

  private async withRetries<T>(
    log: Logger,
    signal: AbortSignal,
    run: () => Promise<T>,
  ): Promise<T> {
    let delay = this.retryDelayMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await run();
      } catch (error) {
        const transient = error instanceof DacError && error.kind === 'transient';
        if (!transient || error instanceof AbortedError || attempt >= this.attempts) throw error;
        log.warn({ err: error, attempt }, 'step failed; retrying');
        await abortableSleep(delay, signal);
        delay *= 2;
      }
    }
  }

  /** Write the outcome, unless the session moved on meanwhile (then the loop looks again). */
  private async report(
    session: SessionRecord,
    phase: Phase,
    outcome: {
      status: 'Completed' | 'Error';
      message?: string;
      transfer?: TransferProgress;
    },
  ): Promise<void> {
    const nowMs = Date.now();
    await this.registry
      .updateSession(session.token, (current) => {
        if (current.id !== session.id || current.desired !== phase) return current;
        const timing = current.timings[phase] ?? {};
        return {
          ...current,
          observed: {
            phase,
            status: outcome.status,
            ...(outcome.message !== undefined ? { message: outcome.message } : {}),
            updatedAt: Math.floor(nowMs / 1000),
          },
          timings: { ...current.timings, [phase]: { ...timing, finishedAt: nowMs } },
          ...(outcome.transfer
            ? {
                transfer: this.transferRecord(
                  phase as 'DataIn' | 'DataOut',
                  outcome.transfer,
                  true,
                ),
              }
            : {}),
          lastError:
            outcome.status === 'Error'
              ? { message: outcome.message ?? 'failed', at: Math.floor(nowMs / 1000) }
              : current.lastError,
        };
      })
      .catch((error: unknown) => {
        // Gone (torn down meanwhile) is fine; anything else is logged and retried on restart.
        if (!(error instanceof NotFoundError)) {
          this.log.error({ err: error, token: session.token }, 'could not record the outcome');
        }
      });
  }

  /**
   * Teardown must always finish: if the provider cannot clean up, drain this host with the
   * reason (an operator checks the bricks) and report the teardown done, saying so.
   */
  private async teardownFailed(session: SessionRecord, error: unknown, log: Logger): Promise<void> {
    const reason = error instanceof DacError ? error.message : String(error);
    log.error({ err: error }, 'teardown could not clean up; draining this host');
    const drain = `cleanup of session ${session.token} failed: ${reason}`;
    await this.registry
      .setHostEnabled(this.host, false, drain.slice(0, 500))
      .catch((e: unknown) => {
        log.error({ err: e }, 'could not drain this host');
      });
    await this.report(session, 'Teardown', {
      status: 'Completed',
      message: `the buffer was released but not cleaned up (${reason}); storage host ${this.host} is drained`,
    });
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new AbortedError('aborted'));
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
