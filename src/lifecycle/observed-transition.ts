/**
 * What dacd writes into a session record as a step goes on, as pure functions of the record
 * read in the compare-and-swap loop: the transfer counts while a stage copies, and the
 * observed outcome when the step ends. Starting a step writes nothing: the CLI's request
 * stamped its start (phases.ts), and a step that never reports is done again after a restart.
 *
 * Every change applies only while the session is still the one the step was for (same id)
 * and still asks for the step's phase; otherwise the record is returned as it is, for the
 * reconcile loop to look at again.
 */
import type { Phase, SessionRecord } from '../registry/model';
import type { StagePhase } from './step-plan';

/** Cumulative counts of a stage, with what it will copy in all and when it started. */
export interface TransferCounts {
  bytes: number;
  files: number;
  /** What the stage copies in all, when it was measured before copying. */
  totalBytes?: number;
  totalFiles?: number;
  /** When this attempt of the stage started, in milliseconds since the epoch. */
  startedAt?: number;
}

/** The step a change is for: the session (by id, not only token) and the phase. */
export interface StepRef {
  id: number;
  phase: Phase;
}

/** How a step ended, as dacd reports it. */
export interface StepOutcome {
  status: 'Completed' | 'Error';
  message?: string;
  /** The final counts of a stage. */
  transfer?: TransferCounts;
}

/** Whether `current` is still the session `step` is for, asking for the step's phase. */
function stillWanted(current: SessionRecord, step: StepRef): boolean {
  return current.id === step.id && current.desired === step.phase;
}

/** A session's `transfer` field. */
export function transferRecord(
  phase: StagePhase,
  counts: TransferCounts,
  done: boolean,
  nowMs: number,
): NonNullable<SessionRecord['transfer']> {
  return {
    phase,
    bytes: BigInt(counts.bytes),
    files: counts.files,
    ...(counts.totalBytes !== undefined ? { totalBytes: BigInt(counts.totalBytes) } : {}),
    ...(counts.totalFiles !== undefined ? { totalFiles: counts.totalFiles } : {}),
    ...(counts.startedAt !== undefined ? { startedAt: counts.startedAt } : {}),
    done,
    updatedAt: Math.floor(nowMs / 1000),
  };
}

/**
 * The session with a stage's counts so far (`done`: no more counts come, because the stage
 * failed with these).
 */
export function withTransferProgress(
  current: SessionRecord,
  step: StepRef & { phase: StagePhase },
  counts: TransferCounts,
  done: boolean,
  nowMs: number,
): SessionRecord {
  if (!stillWanted(current, step)) return current;
  return { ...current, transfer: transferRecord(step.phase, counts, done, nowMs) };
}

/**
 * The session once the step ended: `observed` says so, the phase's finish time is stamped, a
 * stage's final counts are recorded, and an error is kept as `lastError`.
 */
export function withStepOutcome(
  current: SessionRecord,
  step: StepRef,
  outcome: StepOutcome,
  nowMs: number,
): SessionRecord {
  if (!stillWanted(current, step)) return current;
  const { phase } = step;
  const nowSeconds = Math.floor(nowMs / 1000);
  const timing = current.timings[phase] ?? {};
  const stagePhase = phase === 'DataIn' || phase === 'DataOut' ? phase : undefined;
  return {
    ...current,
    observed: {
      phase,
      status: outcome.status,
      ...(outcome.message !== undefined ? { message: outcome.message } : {}),
      updatedAt: nowSeconds,
    },
    timings: { ...current.timings, [phase]: { ...timing, finishedAt: nowMs } },
    ...(outcome.transfer && stagePhase
      ? { transfer: transferRecord(stagePhase, outcome.transfer, true, nowMs) }
      : {}),
    lastError:
      outcome.status === 'Error'
        ? { message: outcome.message ?? 'failed', at: nowSeconds }
        : current.lastError,
  };
}
