/**
 * What dacd does for a step, as a pure function of the session: which filesystem provider
 * calls the desired phase means, in order. dacd carries the plan out (dacd/step-runner.ts) and
 * may carry it out again after a restart or a transient failure: every call is idempotent.
 */
import type { Phase, SessionRecord } from '../registry/model';
import { isPhaseDone } from './phases';

/** The stages that copy data, and report counts. */
export type StagePhase = 'DataIn' | 'DataOut';

/** One call of the filesystem provider. */
export type StepCall =
  | { op: 'create' }
  | { op: 'mount'; hosts: string[] }
  | { op: 'unmount'; hosts: string[] }
  /** Copy the session's stage requests of this phase; the copy's counts are the step's. */
  | { op: 'stage'; phase: StagePhase }
  | { op: 'delete' };

export interface StepPlan {
  phase: Phase;
  calls: StepCall[];
  /**
   * The step is a stage: it reports counts, zero when it has nothing to copy (then `calls`
   * has no stage).
   */
  transfer?: StagePhase;
  /** Said in the outcome of a step that completes (why nothing was done). */
  message?: string;
}

/** The provider calls that carry out `session.desired`. */
export function planStep(session: SessionRecord): StepPlan {
  const phase = session.desired;
  const hosts = session.computeHosts;
  // A later step may be asked for before Setup was seen through (Slurm moved on, or the
  // daemon restarted): the filesystem is made to exist first; `create` is idempotent.
  const calls: StepCall[] =
    phase !== 'Setup' && phase !== 'Teardown' && !isPhaseDone(session, 'Setup')
      ? [{ op: 'create' }]
      : [];
  switch (phase) {
    case 'Setup':
      return { phase, calls: [...calls, { op: 'create' }] };
    case 'DataIn':
      return { phase, ...stage(session, 'DataIn', calls) };
    case 'PreRun':
      return { phase, calls: [...calls, { op: 'mount', hosts }] };
    case 'PostRun':
      return { phase, calls: [...calls, { op: 'unmount', hosts }] };
    case 'DataOut':
      if (session.hurry) {
        return { phase, calls, message: 'stage-out skipped (teardown with --hurry)' };
      }
      return { phase, ...stage(session, 'DataOut', calls) };
    case 'Teardown':
      return { phase, calls: [{ op: 'unmount', hosts }, { op: 'delete' }] };
  }
}

/** A stage's calls: the copy, unless the session asks for none. */
function stage(
  session: SessionRecord,
  phase: StagePhase,
  before: StepCall[],
): { calls: StepCall[]; transfer: StagePhase } {
  const requests = phase === 'DataIn' ? session.stageIn : session.stageOut;
  const copy: StepCall[] = requests.length > 0 ? [{ op: 'stage', phase }] : [];
  return { calls: [...before, ...copy], transfer: phase };
}
