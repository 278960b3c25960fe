/**
 * `data_in`, `pre_run`, `post_run`, `data_out`: ask dacd for the step and wait for it.
 * For an unknown token, `data_in` and `data_out` answer `No matching session`, which Slurm
 * counts as success (the buffer was torn down already).
 */
import type { Phase } from '../../registry/model';
import type { SessionRecord } from '../../registry/model';
import { NoMatchingSessionError } from '../../errors/errors';
import { requestPhase } from '../../lifecycle/request-phase';
import type { TimedStep } from '../../lifecycle/deadlines';
import type { CliContext } from '../context';
import type { FunctionArgs } from '../flags';
import type { CommandResult } from '../run';
import { readNodeNames, tokenArg } from '../slurm-args';
import { waitOptions } from './wait-options';

async function runStep(
  context: CliContext,
  args: FunctionArgs,
  step: TimedStep,
  phase: Phase,
  options: { unknownIsSuccess: boolean; change?: (s: SessionRecord) => SessionRecord },
): Promise<CommandResult> {
  const token = tokenArg(args.token, false);
  const registry = await context.registry();
  try {
    await requestPhase(registry, token, phase, {
      ...waitOptions(context, step),
      ...(options.change ? { change: options.change } : {}),
    });
    return undefined;
  } catch (error) {
    if (options.unknownIsSuccess && error instanceof NoMatchingSessionError) return error.message;
    throw error;
  }
}

export function dataInCommand(context: CliContext, args: FunctionArgs): Promise<CommandResult> {
  return runStep(context, args, 'data_in', 'DataIn', { unknownIsSuccess: true });
}

export async function preRunCommand(
  context: CliContext,
  args: FunctionArgs,
): Promise<CommandResult> {
  const hosts = args.nodehostnamefile ? await readNodeNames(args.nodehostnamefile) : undefined;
  return runStep(context, args, 'pre_run', 'PreRun', {
    unknownIsSuccess: false,
    ...(hosts ? { change: (s: SessionRecord) => ({ ...s, computeHosts: hosts }) } : {}),
  });
}

export function postRunCommand(context: CliContext, args: FunctionArgs): Promise<CommandResult> {
  return runStep(context, args, 'post_run', 'PostRun', { unknownIsSuccess: false });
}

export function dataOutCommand(context: CliContext, args: FunctionArgs): Promise<CommandResult> {
  return runStep(context, args, 'data_out', 'DataOut', { unknownIsSuccess: true });
}
