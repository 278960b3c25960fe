/**
 * The history `dacctl events` shows: one key per event under `<prefix>events/<hour>/`, where
 * `<hour>` is the UTC hour `YYYYMMDDHH`, so that keys sort by time and old events are deleted
 * an hour at a time (`trim`, run by every dacd). Nothing grows without bound: events are kept
 * for the configured retention, and up to an hour longer.
 *
 * The history must not be able to stop a step. An event of a session is written in the
 * transaction of the change it reports (`withEvents`: puts that compare nothing, so the step
 * costs no request more); the others are written after the change, in a transaction of their
 * own (`record`), and a write that fails is reported to `onLost` (dacd and the CLI log it) and
 * the change stands.
 */
import { randomBytes } from 'node:crypto';
import { RecordError } from '../errors/errors';
import type { KeyReader, Keystore, TxnOp, Watch } from '../keystore/keystore';
import { MAX_TXN_OPS } from '../keystore/txn-limits';
import type { KeyLayout } from './keys';
import { EventRecord } from './record-codecs';
import { decodeRecord, encodeRecord } from './record-codec';

const HOUR_MS = 3600 * 1000;
/** Most operations of one etcd transaction, with room to spare (etcd allows 128). */
const OPS_PER_TXN = 100;

/** The UTC hour of `ms` as `YYYYMMDDHH`. */
export function hourOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13).replace(/[-T]/g, '');
}

/** The hours from the one holding `fromMs` to the one holding `toMs`, oldest first. */
export function hoursBetween(fromMs: number, toMs: number): string[] {
  const hours: string[] = [];
  for (let t = Math.floor(fromMs / HOUR_MS) * HOUR_MS; t <= toMs; t += HOUR_MS) {
    hours.push(hourOf(t));
  }
  return hours;
}

export interface EventRead {
  events: EventRecord[];
  damaged: RecordError[];
  /** The store revision of the last read, for a watch that follows on (`watchEvents`). */
  revision: number;
}

/** The events from `sinceMs` to `nowMs`, oldest first; unreadable ones in `damaged`. */
export async function readEvents(
  reader: KeyReader,
  keys: KeyLayout,
  sinceMs: number,
  nowMs: number,
): Promise<EventRead> {
  const hours = hoursBetween(sinceMs, nowMs);
  const result: EventRead = { events: [], damaged: [], revision: 0 };
  // Keys sort by time in ms, then by a random suffix: events of the same millisecond are put
  // in the order they were written (their revisions).
  const written: { event: EventRecord; revision: number }[] = [];
  for (let i = 0; i < hours.length; i += OPS_PER_TXN) {
    const ranges = hours
      .slice(i, i + OPS_PER_TXN)
      .map((hour) => ({ prefix: keys.eventHour(hour) }));
    const snapshot = await reader.snapshot(ranges);
    result.revision = snapshot.revision;
    for (const kv of snapshot.ranges.flat()) {
      try {
        const event = decodeRecord(EventRecord, kv.key, kv.value);
        if (event.at >= sinceMs) written.push({ event, revision: kv.modRevision });
      } catch (error) {
        if (!(error instanceof RecordError)) throw error;
        result.damaged.push(error);
      }
    }
  }
  written.sort((a, b) => a.event.at - b.event.at || a.revision - b.revision);
  result.events = written.map((entry) => entry.event);
  return result;
}

export class EventLog {
  constructor(
    private readonly store: Keystore,
    private readonly keys: KeyLayout,
    private readonly onLost: (error: unknown, events: readonly EventRecord[]) => void = () =>
      undefined,
  ) {}

  /** The puts that write `events`, each under a key of its own. */
  private puts(events: readonly EventRecord[]): TxnOp[] {
    return events.map((event) => ({
      type: 'put',
      key: this.keys.event(hourOf(event.at), event.at, randomBytes(4).toString('hex')),
      value: encodeRecord(EventRecord, event),
    }));
  }

  /**
   * The ops of a transaction with the puts of `events` added, when the transaction has room
   * for them (it has, for every session write: see session-limits.ts). The puts compare
   * nothing, so they cannot make the transaction fail: the history still cannot stop a step,
   * and is written with the change, or not at all when the change is not made. `later` are
   * the events that did not fit, for `record` once the transaction succeeded.
   */
  withEvents(
    ops: readonly TxnOp[],
    events: readonly EventRecord[],
  ): { ops: TxnOp[]; later: EventRecord[] } {
    if (ops.length + events.length > MAX_TXN_OPS) return { ops: [...ops], later: [...events] };
    return { ops: [...ops, ...this.puts(events)], later: [] };
  }

  /** Write `events` (best effort: a failure goes to `onLost`, never to the caller). */
  async record(events: readonly EventRecord[]): Promise<void> {
    if (events.length === 0) return;
    try {
      const ops = this.puts(events);
      for (let i = 0; i < ops.length; i += OPS_PER_TXN) {
        await this.store.txn([], ops.slice(i, i + OPS_PER_TXN));
      }
    } catch (error) {
      this.onLost(error, events);
    }
  }

  /** Each event written from `fromRevision` on; an unreadable one goes to `onDamaged`. */
  watch(
    fromRevision: number,
    onEvent: (event: EventRecord) => void,
    onDamaged: (error: RecordError) => void,
  ): Promise<Watch> {
    return this.store.watchPrefix(
      this.keys.events(),
      (change) => {
        if (change.type !== 'put') return;
        try {
          onEvent(decodeRecord(EventRecord, change.kv.key, change.kv.value));
        } catch (error) {
          if (!(error instanceof RecordError)) throw error;
          onDamaged(error);
        }
      },
      { fromRevision },
    );
  }

  /**
   * Delete the hours wholly older than `retentionMs` before `nowMs`. By default only the last
   * three days of such hours are looked at (cheap, for a timer); `everything` lists every hour
   * stored first (at start, after the daemons may have been down for long).
   */
  async trim(retentionMs: number, nowMs: number, everything = false): Promise<number> {
    const cutoff = hourOf(nowMs - retentionMs);
    let hours: string[];
    if (everything) {
      const prefix = this.keys.events();
      const snapshot = await this.store.snapshot([{ prefix, keysOnly: true }]);
      const stored = (snapshot.keys[0] ?? []).map((key) => key.slice(prefix.length).split('/')[0]!);
      hours = [...new Set(stored)];
    } else {
      hours = hoursBetween(nowMs - retentionMs - 72 * HOUR_MS, nowMs - retentionMs);
    }
    const old = hours.filter((hour) => hour < cutoff);
    for (let i = 0; i < old.length; i += OPS_PER_TXN) {
      await this.store.txn(
        [],
        old
          .slice(i, i + OPS_PER_TXN)
          .map((hour) => ({ type: 'deletePrefix', prefix: this.keys.eventHour(hour) })),
      );
    }
    return old.length;
  }
}
