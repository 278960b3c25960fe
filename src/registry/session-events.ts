/**
 * The history entries a change of a session makes: created, a step asked for, a state dacd
 * reported, released. Pure; transfer counts and other updates within a state make none.
 */
import { formatBytes } from '../units/bytes';
import { SCHEMA_VERSION, type EventRecord, type SessionRecord } from './record-codecs';

function about(session: SessionRecord, atMs: number) {
  return {
    schemaVersion: SCHEMA_VERSION,
    at: atMs,
    token: session.token,
    uid: session.owner.uid,
    ...(session.reconciler !== null ? { host: session.reconciler } : {}),
  } as const;
}

/** The events between two records of one session (undefined: it did not exist / no longer does). */
export function sessionEvents(
  before: SessionRecord | undefined,
  after: SessionRecord | undefined,
  atMs: number,
): EventRecord[] {
  if (!before && after) {
    const bytes = BigInt(after.bricks.length) * after.granularityBytes;
    const hosts = [...new Set(after.bricks.map((brick) => brick.host))];
    const where = hosts.length > 0 ? ` on ${hosts.join(', ')}` : '';
    return [
      {
        ...about(after, atMs),
        kind: 'session-created',
        message:
          `${after.kind} buffer of ${formatBytes(bytes)} (${after.bricks.length} bricks) ` +
          `in pool ${after.pool}${where}`,
      },
    ];
  }
  if (before && !after) {
    return [{ ...about(before, atMs), kind: 'session-released', message: 'released' }];
  }
  if (!before || !after) return [];
  const events: EventRecord[] = [];
  if (before.desired !== after.desired) {
    events.push({
      ...about(after, atMs),
      kind: 'session-step',
      message: `${after.desired} asked for${after.hurry && !before.hurry ? ' (hurry)' : ''}`,
    });
  }
  const was = before.observed;
  const now = after.observed;
  if (now && (was?.phase !== now.phase || was.status !== now.status)) {
    events.push({
      ...about(after, atMs),
      kind: 'session-state',
      message: `${now.phase} ${now.status}${now.message ? `: ${now.message}` : ''}`.slice(0, 2000),
    });
  }
  return events;
}
