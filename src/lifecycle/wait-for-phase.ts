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
import type { Registry, StoredSession, WaitPoint } from '../registry/registry';
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
 * `from`: the session as just written or read, and what was known then (see WaitPoint);
 * without it the session is read first.
 */
export async function waitForPhase(
  registry: Registry,
  token: string,
  phase: Phase,
  options: WaitOptions,
  from?: WaitPoint,
): Promise<SessionRecord> {
  let point = from;
  if (!point) {
    const first = await registry.getSession(token);
    if (!first) {
      throw new NotFoundError(`session ${token} disappeared while ${PHASE_ACTION[phase]}`);
    }
    point = { session: first.record, revision: first.modRevision };
  }
  const verdict = judge(point.session, phase);
  if (verdict === 'done') return point.session;
  if (verdict instanceof Error) throw verdict;
  const host = point.session.reconciler;
  const { revision, hostAlive } = point;

  const watches: Watch[] = [];
  const timers: NodeJS.Timeout[] = [];
  let finished = false;
  // A watch that is established once the wait has ended is closed at once.
  const track = (watch: Watch): void => {
    if (finished) void watch.close();
    else watches.push(watch);
  };
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
      // Both watches are opened together, from what is known at `revision`.
      const start = async () => {
        const liveness = host === null ? undefined : await livenessFrom(host);
        const opened = await Promise.allSettled([
          registry.watchSession(token, revision + 1, onSession, fail).then(track),
          liveness &&
            registry.watchHostLiveness(host!, liveness.revision + 1, onLiveness).then(track),
        ]);
        for (const result of opened) if (result.status === 'rejected') throw result.reason;
        if (liveness) onLiveness(liveness.alive);
      };
      const livenessFrom = async (name: string) =>
        hostAlive === undefined ? registry.hostAlive(name) : { alive: hostAlive, revision };
      start().catch(fail);
    });
  } finally {
    finished = true;
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
