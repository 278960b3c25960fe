/** The deadline and host grace of a step, from the environment. */
import { stepDeadlineMs, type TimedStep } from '../../lifecycle/deadlines';
import { hostGraceFromEnv, type WaitOptions } from '../../lifecycle/wait-for-phase';
import type { CliContext } from '../context';

export function waitOptions(context: CliContext, step: TimedStep): WaitOptions {
  return {
    deadlineMs: stepDeadlineMs(step, context.env),
    hostGraceMs: hostGraceFromEnv(context.env),
  };
}
