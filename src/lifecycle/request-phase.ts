/** Ask for a step and wait until dacd has done it (see phases.ts and wait-for-phase.ts). */
import { NoMatchingSessionError, NotFoundError } from '../errors/errors';
import type { Phase, SessionRecord } from '../registry/model';
import type { Registry } from '../registry/registry';
import { planPhaseRequest } from './phases';
import { waitForPhase, type WaitOptions } from './wait-for-phase';

export interface PhaseRequestOptions extends WaitOptions {
  /** Step data to record with the request (e.g. compute hosts, hurry). */
  change?: (session: SessionRecord) => SessionRecord;
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number;
}

/**
 * Set the session's desired step to `phase` (unless it is done or under way already) and wait
 * for it. Idempotent: a repeated request for a finished step returns at once.
 */
export async function requestPhase(
  registry: Registry,
  token: string,
  phase: Phase,
  options: PhaseRequestOptions,
): Promise<SessionRecord> {
  const now = options.now ?? Date.now;
  // One read and one write (updateSession): the plan is made on the record as read, and a
  // step that needs no write writes nothing.
  let done: SessionRecord | undefined;
  try {
    await registry.updateSession(token, (current) => {
      const plan = planPhaseRequest(current, phase, now(), options.change);
      done = plan.action === 'done' ? current : undefined;
      return plan.action === 'write' ? plan.next : current;
    });
  } catch (error) {
    if (error instanceof NotFoundError) throw new NoMatchingSessionError(token);
    throw error;
  }
  return done ?? waitForPhase(registry, token, phase, options);
}
