/**
 * One step of one session, carried out: the provider calls the desired phase means
 * (lifecycle/step-plan.ts), retried when they fail transiently (step-retry.ts), the transfer
 * counts written while a stage copies (progress-throttle.ts), and the outcome written back
 * (lifecycle/observed-transition.ts, lifecycle/step-failure.ts). What the record becomes is
 * decided by those pure functions; this file does the I/O.
 */
import { DacError, NotFoundError } from '../errors/errors';
import type { Logger } from '../logging/logger';
import {
  withStepOutcome,
  withTransferProgress,
  type StepOutcome,
  type TransferCounts,
} from '../lifecycle/observed-transition';
import { judgeFailure } from '../lifecycle/step-failure';
import { planStep, type StagePhase, type StepCall, type StepPlan } from '../lifecycle/step-plan';
import type { SessionRecord } from '../registry/model';
import type { Registry } from '../registry/registry';
import type {
  FilesystemProvider,
  OperationContext,
  TransferProgress,
  TransferTotals,
} from '../pfsprovider/provider';
import type { DacdMetrics } from './metrics';
import { ProgressThrottle } from './progress-throttle';
import { withStepRetries } from './step-retry';

export interface StepRunnerOptions {
  /** Minimum time between two progress writes of one transfer, in milliseconds. */
  progressIntervalMs: number;
  /** Attempts of a step that fails with a transient error. */
  attempts: number;
  /** Pause before the second attempt (doubles each time), in milliseconds. */
  retryDelayMs: number;
  /** Told of each step's end (metrics.ts); default none. */
  metrics?: Pick<DacdMetrics, 'stepFinished' | 'staged'>;
}

export class StepRunner {
  constructor(
    private readonly registry: Registry,
    private readonly provider: FilesystemProvider,
    private readonly host: string,
    private readonly log: Logger,
    private readonly options: StepRunnerOptions,
  ) {}

  /**
   * Carry out the session's desired step and record the outcome. An aborted step records
   * nothing: whoever looks at the session next does it again.
   */
  async run(session: SessionRecord, signal: AbortSignal): Promise<void> {
    const plan = planStep(session);
    const { phase } = plan;
    const log = this.log.child({ token: session.token, session: session.id, phase });
    const context: OperationContext = { session, signal, log };
    log.info('step started');
    const started = Date.now();
    const seconds = () => (Date.now() - started) / 1000;
    try {
      const retries = {
        attempts: this.options.attempts,
        delayMs: this.options.retryDelayMs,
        onRetry: (error: unknown, attempt: number) =>
          log.warn({ err: error, attempt }, 'step failed; retrying'),
      };
      const result = await withStepRetries(retries, signal, () => this.perform(plan, context));
      await this.report(session, plan, { status: 'Completed', ...result });
      log.info({ ...result }, 'step completed');
      this.options.metrics?.stepFinished(phase, 'completed', seconds());
      if (result.transfer && (phase === 'DataIn' || phase === 'DataOut')) {
        this.options.metrics?.staged(phase, result.transfer.bytes, result.transfer.files);
      }
    } catch (error) {
      const step = { token: session.token, phase, host: this.host };
      const verdict = judgeFailure(step, error, signal.aborted);
      if (verdict.kind === 'aborted') {
        log.info({ reason: verdict.reason }, 'aborted');
        return;
      }
      if (verdict.drainReason !== undefined) {
        log.error({ err: error }, 'teardown could not clean up; draining this host');
        await this.registry
          .setHostEnabled(this.host, false, verdict.drainReason, `dacd on ${this.host}`)
          .catch((e: unknown) => log.error({ err: e }, 'could not drain this host'));
      } else {
        log.error({ err: error }, 'step failed');
      }
      await this.report(session, plan, verdict.outcome);
      const code = error instanceof DacError ? error.code : 'E_UNKNOWN';
      this.options.metrics?.stepFinished(phase, 'failed', seconds(), code);
    }
  }

  /** The plan's provider calls, in order; a stage's counts (zero if it copies nothing). */
  private async perform(
    plan: StepPlan,
    context: OperationContext,
  ): Promise<{ message?: string; transfer?: TransferCounts }> {
    let transfer: TransferCounts | undefined = plan.transfer
      ? { bytes: 0, files: 0, totalBytes: 0, totalFiles: 0 }
      : undefined;
    for (const call of plan.calls) {
      const counts = await this.call(call, context);
      if (counts) transfer = counts;
    }
    return {
      ...(plan.message !== undefined ? { message: plan.message } : {}),
      ...(transfer ? { transfer } : {}),
    };
  }

  private async call(call: StepCall, context: OperationContext): Promise<TransferCounts | void> {
    const provider = this.provider;
    switch (call.op) {
      case 'create':
        return provider.create(context);
      case 'mount':
        return provider.mount(context, call.hosts);
      case 'unmount':
        return provider.unmount(context, call.hosts);
      case 'stage':
        return this.stage(context, call.phase);
      case 'delete':
        return provider.delete(context);
    }
  }

  /**
   * A stage, with its counts written as it goes, and the totals the provider measured and the
   * time the stage started with them.
   */
  private async stage(context: OperationContext, phase: StagePhase): Promise<TransferCounts> {
    const startedAt = Date.now();
    let totals: TransferTotals | undefined;
    const counts = (progress: TransferProgress): TransferCounts => ({
      bytes: progress.bytes,
      files: progress.files,
      ...totals,
      startedAt,
    });
    const throttle = new ProgressThrottle<TransferCounts>({
      intervalMs: this.options.progressIntervalMs,
      write: (progress) => this.writeTransfer(context.session, phase, progress, false),
    });
    const onProgress = (progress: TransferProgress, known?: TransferTotals) => {
      if (known) totals = { totalBytes: known.totalBytes, totalFiles: known.totalFiles };
      throttle.offer(counts(progress));
    };
    const stage = phase === 'DataIn' ? this.provider.stageIn : this.provider.stageOut;
    try {
      const final = await stage.call(this.provider, { ...context, onProgress });
      await throttle.settled();
      return counts(final);
    } catch (error) {
      // The throttled writes may be far behind what was copied before the failure (a full
      // buffer fills in well under a second): record the last counts as final, after the
      // writes still on their way.
      await throttle.settled();
      const latest = throttle.latest;
      if (latest && !context.signal.aborted) {
        await this.writeTransfer(context.session, phase, latest, true);
      }
      throw error;
    }
  }

  /** Best effort: a count that is not written is followed by the next, or by the outcome. */
  private async writeTransfer(
    session: SessionRecord,
    phase: StagePhase,
    progress: TransferCounts,
    done: boolean,
  ): Promise<void> {
    const step = { id: session.id, phase };
    await this.registry
      .updateSession(session.token, (current) =>
        withTransferProgress(current, step, progress, done, Date.now()),
      )
      .catch((error: unknown) => this.log.warn({ err: error }, 'progress not recorded'));
  }

  /** Write the outcome, unless the session moved on meanwhile (then the loop looks again). */
  private async report(session: SessionRecord, plan: StepPlan, outcome: StepOutcome) {
    const nowMs = Date.now();
    const step = { id: session.id, phase: plan.phase };
    await this.registry
      .updateSession(session.token, (current) => withStepOutcome(current, step, outcome, nowMs))
      .catch((error: unknown) => {
        // Gone (torn down meanwhile) is fine; anything else is logged and retried on restart.
        if (!(error instanceof NotFoundError)) {
          this.log.error({ err: error, token: session.token }, 'could not record the outcome');
        }
      });
  }
}
