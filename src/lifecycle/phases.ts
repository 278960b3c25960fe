/**
 * The session state machine, as pure functions. The CLI moves `desired` forward through the
 * steps Slurm drives; dacd reports `observed`. Every request is idempotent: Slurm retries
 * steps, and a repeated call must neither redo finished work nor fail.
 */
import type { Phase, SessionRecord } from '../registry/model';

/** The steps in the order Slurm drives them. */
export const PHASE_ORDER: readonly Phase[] = [
  'Setup',
  'DataIn',
  'PreRun',
  'PostRun',
  'DataOut',
  'Teardown',
];

/** What each step does, for messages to the job's owner. */
export const PHASE_ACTION: Record<Phase, string> = {
  Setup: 'creating the buffer',
  DataIn: 'stage-in',
  PreRun: 'mounting the buffer on the compute nodes',
  PostRun: 'unmounting the buffer from the compute nodes',
  DataOut: 'stage-out',
  Teardown: 'removing the buffer',
};

/** Negative if `a` comes before `b`. */
export function comparePhases(a: Phase, b: Phase): number {
  return PHASE_ORDER.indexOf(a) - PHASE_ORDER.indexOf(b);
}

/** True once dacd (or the CLI, for a session no daemon serves) finished `phase`. */
export function isPhaseDone(session: SessionRecord, phase: Phase): boolean {
  const observed = session.observed;
  if (!observed) return false;
  if (observed.phase === phase) return observed.status === 'Completed';
  // A later phase observed means this one is long done (e.g. a retried data_in).
  return comparePhases(observed.phase, phase) > 0;
}

/**
 * The state of the step the session asks for, as its metrics label it: what dacd last reported
 * of it (`InProgress`, `Completed`, `Error`), or `Requested` before dacd has reported on it.
 */
export function stepState(session: SessionRecord): string {
  const observed = session.observed;
  return observed?.phase === session.desired ? observed.status : 'Requested';
}

export type PhaseRequestPlan =
  /** Nothing to change: the phase is done, or a later one was already requested. */
  | { action: 'done' }
  /** Nothing to change: the phase is under way; wait for it. */
  | { action: 'wait' }
  /** Write this record, then wait. */
  | { action: 'write'; next: SessionRecord };

/**
 * Decide what a request for `phase` does to a session. `change` adds step data (e.g. the
 * compute hosts for PreRun); `nowMs` stamps the start of the phase.
 */
export function planPhaseRequest(
  session: SessionRecord,
  phase: Phase,
  nowMs: number,
  change: (session: SessionRecord) => SessionRecord = (s) => s,
): PhaseRequestPlan {
  const order = comparePhases(phase, session.desired);
  if (order < 0 || isPhaseDone(session, phase)) return { action: 'done' };
  const failedBefore =
    order === 0 && session.observed?.phase === phase && session.observed.status === 'Error';
  if (order === 0 && !failedBefore) return { action: 'wait' };
  // A new phase, or a retry of one that failed: (re)start it.
  const next = change({
    ...session,
    desired: phase,
    timings: { ...session.timings, [phase]: { startedAt: nowMs } },
    observed:
      session.reconciler === null
        ? { phase, status: 'Completed', updatedAt: Math.floor(nowMs / 1000) }
        : failedBefore
          ? null
          : session.observed,
  });
  return { action: 'write', next };
}
