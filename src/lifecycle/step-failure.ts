/**
 * What a step that failed comes to, as a pure function of the error: nothing at all when it
 * was aborted, the error for the job's owner otherwise; and for a teardown, which must always
 * finish, a drained host and a teardown reported done.
 */
import { AbortedError, DacError } from '../errors/errors';
import type { Phase } from '../registry/model';
import type { StepOutcome } from './observed-transition';

/** The failed step: the session's token, the phase, and the storage host that ran it. */
export interface FailedStep {
  token: string;
  phase: Phase;
  host: string;
}

export type FailureVerdict =
  /**
   * Superseded by a newer request, the session removed, or the daemon stopping: nothing is
   * reported, so the step is done again by whoever looks at the session next.
   */
  | { kind: 'aborted'; reason: string }
  /** Report `outcome`; first drain the host with `drainReason`, when there is one. */
  | { kind: 'report'; outcome: StepOutcome; drainReason?: string };

/** The longest drain reason a host record holds. */
const MAX_DRAIN_REASON = 500;

/**
 * What to do after `step` failed with `error`; `aborted`: the step's signal was aborted
 * (whatever the provider threw then).
 */
export function judgeFailure(step: FailedStep, error: unknown, aborted: boolean): FailureVerdict {
  if (error instanceof AbortedError || aborted) {
    return { kind: 'aborted', reason: error instanceof Error ? error.message : String(error) };
  }
  if (step.phase === 'Teardown') {
    // The bricks are freed whatever happens here; an operator must check them before they
    // are used again, so the host takes no new work until then.
    const reason = error instanceof DacError ? error.message : String(error);
    return {
      kind: 'report',
      drainReason: `cleanup of session ${step.token} failed: ${reason}`.slice(0, MAX_DRAIN_REASON),
      outcome: {
        status: 'Completed',
        message: `the buffer was released but not cleaned up (${reason}); storage host ${step.host} is drained`,
      },
    };
  }
  // Only our own errors are worded for the job's owner; anything else is a bug, in the log.
  const message = error instanceof DacError ? error.message : 'internal error in dacd';
  return { kind: 'report', outcome: { status: 'Error', message } };
}
