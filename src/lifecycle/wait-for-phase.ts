/**
 * Waiting for dacd: an etcd watch on the session (no polling), a watch on the serving host's
 * liveness key, and a deadline below Slurm's timeout. It ends in one of four ways: the phase
 * completed; dacd reported an error; the host stayed down for the grace period; the deadline
 * passed. Each failure is one line the job's owner can act on.
 */
import {
  ConfigError,
  DeadlineError,
  HostDownError,
  NotFoundError,
  StepFailedError,
} from '../errors/errors';
import type { Watch } from '../keystore/keystore';
import type { Phase, SessionRecord } from '../registry/model';
import type { Registry, StoredSession } from '../registry/registry';
import { isPhaseDone, PHASE_ACTION } from './phases';

export interface WaitOptions {
  /** Give up after this many milliseconds. */
  deadlineMs: number;
  /** How long the serving host may be without its liveness lease before we give up. */
  hostGraceMs: number;
}

/** Default of `DAC_HOST_GRACE_SECONDS`: dacd restarts well within it. */
export const DEFAULT_HOST_GRACE_MS = 30000;

/** `DAC_HOST_GRACE_SECONDS` from the environment, in milliseconds. */
export function hostGraceFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.DAC_HOST_GRACE_SECONDS;
  if (text === undefined) return DEFAULT_HOST_GRACE_MS;
  if (!/^[0-9]{1,6}$/.test(text)) {
    throw new ConfigError(`DAC_HOST_GRACE_SECONDS="${text}" must be a whole number of seconds`);
  }
  return Number(text) * 1000;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * Resolve with the session once `phase` is done. Rejects with StepFailedError (dacd's
 * message), HostDownError, DeadlineError, or NotFoundError if the session disappears.
 */
export async function waitForPhase(
  registry: Registry,
  token: string,
  phase: Phase,
  options: WaitOptions,
): Promise<SessionRecord> {
  const first = await registry.getSession(token);
  if (!first) throw new NotFoundError(`session ${token} disappeared while ${PHASE_ACTION[phase]}`);
  const verdict = judge(first.record, phase);
  if (verdict === 'done') return first.record;
  if (verdict instanceof Error) throw verdict;
  const host = first.record.reconciler;

  const watches: Watch[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    return await new Promise<SessionRecord>((resolve, reject) => {
      const fail = (error: unknown) => reject(error);
      timers.push(
        setTimeout(
          () =>
            fail(
              new DeadlineError(
                `${PHASE_ACTION[phase]} did not finish within ${seconds(options.deadlineMs)}` +
                  (host ? ` (storage host ${host} is still working on it)` : ''),
              ),
            ),
          options.deadlineMs,
        ),
      );
      const onSession = (stored: StoredSession | undefined) => {
        if (!stored) {
          fail(new NotFoundError(`session ${token} was removed while ${PHASE_ACTION[phase]}`));
          return;
        }
        const result = judge(stored.record, phase);
        if (result === 'done') resolve(stored.record);
        else if (result instanceof Error) fail(result);
      };
      let graceTimer: NodeJS.Timeout | undefined;
      const onLiveness = (alive: boolean) => {
        clearTimeout(graceTimer);
        if (alive) return;
        graceTimer = setTimeout(
          () =>
            fail(
              new HostDownError(
                `storage host ${host} is down (no liveness lease for ${seconds(options.hostGraceMs)}), ` +
                  `so ${PHASE_ACTION[phase]} cannot finish`,
              ),
            ),
          options.hostGraceMs,
        );
        timers.push(graceTimer);
      };
      const start = async () => {
        watches.push(await registry.watchSession(token, first.modRevision + 1, onSession, fail));
        if (host) {
          const { alive, revision } = await registry.hostAlive(host);
          watches.push(await registry.watchHostLiveness(host, revision + 1, onLiveness));
          onLiveness(alive);
        }
      };
      start().catch(fail);
    });
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await Promise.all(watches.map((watch) => watch.close()));
  }
}

/** 'done', an error to report, or 'pending'. */
function judge(session: SessionRecord, phase: Phase): 'done' | 'pending' | Error {
  if (isPhaseDone(session, phase)) return 'done';
  const observed = session.observed;
  if (observed?.phase === phase && observed.status === 'Error' && session.desired === phase) {
    const where = session.reconciler ? ` on ${session.reconciler}` : '';
    return new StepFailedError(
      `${PHASE_ACTION[phase]} failed${where}: ${observed.message ?? 'no reason given'}`,
    );
  }
  return 'pending';
}
