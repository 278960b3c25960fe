/** Ask for a step and wait until dacd has done it (see phases.ts and wait-for-phase.ts). */
import { NoMatchingSessionError } from '../errors/errors';
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
  const stored = await registry.getSession(token);
  if (!stored) throw new NoMatchingSessionError(token);
  const plan = planPhaseRequest(stored.record, phase, now(), options.change);
  if (plan.action === 'done') return stored.record;
  if (plan.action === 'write') {
    await registry.updateSession(token, (current) => {
      const again = planPhaseRequest(current, phase, now(), options.change);
      return again.action === 'write' ? again.next : current;
    });
  }
  return waitForPhase(registry, token, phase, options);
}
