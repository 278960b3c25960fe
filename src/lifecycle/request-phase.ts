/** Ask for a step and wait until dacd has done it (see phases.ts and wait-for-phase.ts). */
import { NoMatchingSessionError, NotFoundError } from '../errors/errors';
import type { Phase, SessionRecord } from '../registry/model';
import type { Registry, WaitPoint } from '../registry/registry';
import { planPhaseRequest } from './phases';
import { waitForPhase, type WaitOptions } from './wait-for-phase';

export interface PhaseRequestOptions extends WaitOptions {
  /** Step data to record with the request (e.g. compute hosts, hurry). */
  change?: (session: SessionRecord) => SessionRecord;
  /**
   * Called with the session as read, before anything is written; what it throws ends the
   * request with nothing written (teardown refuses a persistent buffer still in use).
   */
  check?: (session: SessionRecord) => Promise<void>;
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number;
}

/**
 * Set the session's desired step to `phase` (unless it is done or under way already) and wait
 * for it. Idempotent: a repeated request for a finished step returns at once.
 *
 * Before it waits: one read of the session, and one transaction that writes the request and
 * reads the serving host's liveness key; the watches on both start from that transaction's
 * revision (wait-for-phase.ts). A step that needs no write reads the liveness key instead.
 */
export async function requestPhase(
  registry: Registry,
  token: string,
  phase: Phase,
  options: PhaseRequestOptions,
): Promise<SessionRecord> {
  const now = options.now ?? Date.now;
  let done: SessionRecord | undefined;
  let point: WaitPoint;
  try {
    point = await registry.changeSessionForWait(token, async (current) => {
      await options.check?.(current);
      const plan = planPhaseRequest(current, phase, now(), options.change);
      done = plan.action === 'done' ? current : undefined;
      return plan.action === 'write' ? plan.next : current;
    });
  } catch (error) {
    if (error instanceof NotFoundError) throw new NoMatchingSessionError(token);
    throw error;
  }
  return done ?? waitForPhase(registry, token, phase, options, point);
}
