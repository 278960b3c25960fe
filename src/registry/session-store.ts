/**
 * The session store: sessions and their bricks. Every change is one compare-and-swap
 * transaction, with the session's summary (summary-index.ts) in the same transaction. Creating
 * a session allocates its bricks (allocation-plan.ts) and compares the session's summary
 * bucket; releasing it deletes the session, its allocations and its summary and rewrites the
 * hosts' usage records. On conflict each re-reads and tries again (cas-loop.ts). The history
 * entries of each change (session-events.ts) are written in its transaction.
 */
import { NotFoundError } from '../errors/errors';
import type { Compare, KeyValue, Keystore, TxnOp, Watch } from '../keystore/keystore';
import { AGAIN, casLoop } from './cas-loop';
import type { EventLog } from './event-log';
import type { HostRegistry } from './host-registry';
import { hostUsage } from './inventory';
import type { KeyLayout } from './keys';
import { HostRecord, HostUsageRecord, SessionRecord } from './record-codecs';
import { decodeOrUndefined, encodeRecord } from './record-codec';
import { exactly, SessionCreation, type CreatedSession, type NewSession } from './session-creation';
import { sessionEvents } from './session-events';
import {
  decodeSession,
  decodeStoredSession,
  encodeSession,
  type StoredSession,
} from './session-codec';
import { sameSummary, summariseSession } from './session-summary';
import type { SummaryIndex } from './summary-index';
import type { WaitPoint } from './wait-point';

export type { CreatedSession, NewSession } from './session-creation';

/** What `watchSessions` reports. */
export interface SessionsListener {
  /** A session was created or changed. */
  changed(session: StoredSession): void;
  /** The session of `token` was deleted. */
  removed(token: string): void;
  /** A record was written at `key` that does not validate (`error` is a RecordError naming it). */
  damaged(key: string, error: unknown): void;
}

export class SessionStore {
  private readonly creation: SessionCreation;

  constructor(
    private readonly store: Keystore,
    private readonly keys: KeyLayout,
    private readonly hosts: HostRegistry,
    private readonly summaries: SummaryIndex,
    private readonly history: EventLog,
    private readonly options: { attempts: number; seconds: () => number; nowMs: () => number },
  ) {
    this.creation = new SessionCreation(store, keys, summaries, history, options);
  }

  /**
   * Call `onChange` with every new version of a session from `fromRevision` on (undefined when
   * it is deleted). A record that does not validate is passed to `onError`.
   */
  async watchSession(
    token: string,
    fromRevision: number,
    onChange: (session: StoredSession | undefined) => void,
    onError: (error: unknown) => void,
  ): Promise<Watch> {
    const key = this.keys.session(token);
    return this.store.watchPrefix(
      key,
      (event) => {
        if (event.kv.key !== key) return; // a longer token sharing the prefix
        if (event.type === 'delete') return onChange(undefined);
        try {
          onChange(decodeStoredSession(event.kv));
        } catch (error) {
          onError(error);
        }
      },
      { fromRevision },
    );
  }

  /**
   * Tell `listener` of every change of any session from `fromRevision` on, each record decoded
   * here: dacd follows the sessions through this watch, after a `readableSessions` read.
   */
  async watchSessions(fromRevision: number, listener: SessionsListener): Promise<Watch> {
    const prefix = this.keys.sessions();
    return this.store.watchPrefix(
      prefix,
      (event) => {
        if (event.type === 'delete') return listener.removed(event.kv.key.slice(prefix.length));
        let stored: StoredSession;
        try {
          stored = decodeStoredSession(event.kv);
        } catch (error) {
          return listener.damaged(event.kv.key, error);
        }
        listener.changed(stored);
      },
      { fromRevision },
    );
  }

  /**
   * Allocate bricks for a new session and record it, atomically (session-creation.ts: three
   * requests to etcd without contention, however many hosts there are). Idempotent per token:
   * if the session exists already it is returned unchanged with `created: false`.
   * A zero-capacity session takes no bricks and works even when the pool is full.
   */
  createSession(request: NewSession): Promise<CreatedSession> {
    return this.creation.create(request);
  }

  /**
   * Change a session with a compare-and-swap loop, and its summary in the same transaction if
   * the change shows in it: two requests to etcd (one snapshot of the session and its bucket,
   * one transaction). A change that returns the session it was given writes nothing.
   * NotFoundError if the session does not exist.
   */
  async updateSession(
    token: string,
    change: (session: SessionRecord) => SessionRecord,
  ): Promise<SessionRecord> {
    return (await this.changeSession(token, change, false)).session;
  }

  /**
   * updateSession for a caller that waits on the session next (request-phase.ts): `change` may
   * be async, and the transaction reads the serving host's liveness key too, so that the wait
   * starts from its revision without reading anything again. When nothing is written,
   * `revision` is that of the read and `hostAlive` is not known.
   */
  changeSessionForWait(
    token: string,
    change: (session: SessionRecord) => SessionRecord | Promise<SessionRecord>,
  ): Promise<WaitPoint> {
    return this.changeSession(token, change, true);
  }

  private changeSession(
    token: string,
    change: (session: SessionRecord) => SessionRecord | Promise<SessionRecord>,
    readLiveness: boolean,
  ): Promise<WaitPoint> {
    const key = this.keys.session(token);
    const bucketKey = this.summaries.bucketKey(token);
    const contention = `session ${token}: too many concurrent updates`;
    return casLoop({ attempts: this.options.attempts, contention }, async () => {
      const snapshot = await this.store.snapshot([{ prefix: key }, { prefix: bucketKey }]);
      const kv = exactly(snapshot.ranges[0], key);
      if (!kv) throw new NotFoundError(`session ${token} does not exist`);
      const current = decodeSession(kv);
      const next = await change(current);
      if (next === current) {
        return { session: current, revision: snapshot.revision };
      }
      const compares: Compare[] = [{ key, target: 'modRevision', op: '==', value: kv.modRevision }];
      const ops: TxnOp[] = [{ type: 'put', key, value: encodeSession(next) }];
      if (!sameSummary(summariseSession(current), summariseSession(next))) {
        const bucket = exactly(snapshot.ranges[1], bucketKey);
        const summary = await this.summaries.writeOn(token, bucket, next);
        compares.push(summary.compare);
        ops.push(summary.op);
      }
      const host = readLiveness ? next.reconciler : null;
      const aliveKey = host === null ? undefined : this.keys.alive(host);
      const result = await this.write(compares, ops, current, next, aliveKey);
      if (!result.succeeded) return AGAIN;
      return {
        session: next,
        revision: result.revision,
        ...(aliveKey !== undefined
          ? { hostAlive: exactly(result.read, aliveKey) !== undefined }
          : {}),
      };
    });
  }

  /**
   * Delete a session and free its bricks in one transaction: three requests to etcd (the
   * session with its bucket, its hosts' usage records, the transaction). Idempotent: resolves
   * with the deleted record, or undefined if there was none.
   */
  async releaseSession(token: string): Promise<SessionRecord | undefined> {
    const sessionKey = this.keys.session(token);
    const bucketKey = this.summaries.bucketKey(token);
    const contention = `session ${token}: too many concurrent updates`;
    return casLoop({ attempts: this.options.attempts, contention }, async () => {
      const snapshot = await this.store.snapshot([{ prefix: sessionKey }, { prefix: bucketKey }]);
      const kv = exactly(snapshot.ranges[0], sessionKey);
      if (!kv) return undefined;
      const stored = decodeStoredSession(kv);
      const compares: Compare[] = [
        { key: sessionKey, target: 'modRevision', op: '==', value: stored.modRevision },
      ];
      const bucket = exactly(snapshot.ranges[1], bucketKey);
      const summary = await this.summaries.writeOn(token, bucket, undefined);
      compares.push(summary.compare);
      const ops: TxnOp[] = [
        { type: 'delete', key: sessionKey },
        summary.op,
        ...stored.record.bricks.map((b): TxnOp => ({
          type: 'delete',
          key: this.keys.allocation(b.host, b.device),
        })),
      ];
      const hosts = [...new Set(stored.record.bricks.map((b) => b.host))];
      const usageKvs =
        hosts.length === 0
          ? []
          : (await this.store.snapshot(hosts.map((host) => ({ prefix: this.keys.usage(host) }))))
              .ranges;
      const usages = await Promise.all(
        hosts.map((host, i) =>
          this.releasedUsage(host, exactly(usageKvs[i], this.keys.usage(host)), stored),
        ),
      );
      for (const { key, modRevision, next } of usages) {
        compares.push({ key, target: 'modRevision', op: '==', value: modRevision });
        if (next) ops.push({ type: 'put', key, value: encodeRecord(HostUsageRecord, next) });
      }
      return (await this.write(compares, ops, stored.record, undefined)).succeeded
        ? stored.record
        : AGAIN;
    });
  }

  /**
   * The transaction of a change of a session from `before` to `after` (undefined: none), with
   * the history entries it makes; true if it succeeded.
   */
  /** The transaction of a change, its history entries with it; and a read of `readKey`, if any. */
  private async write(
    compares: Compare[],
    ops: TxnOp[],
    before: SessionRecord | undefined,
    after: SessionRecord | undefined,
    readKey?: string,
  ): Promise<{ succeeded: boolean; revision: number; read?: KeyValue[] }> {
    const events = sessionEvents(before, after, this.options.nowMs());
    const withEvents = this.history.withEvents(ops, events);
    if (readKey === undefined) {
      const result = await this.store.txn(compares, withEvents.ops);
      if (result.succeeded) await this.history.record(withEvents.later);
      return result;
    }
    const result = await this.store.txnAndSnapshot(compares, withEvents.ops, [{ prefix: readKey }]);
    if (result.succeeded) await this.history.record(withEvents.later);
    return { succeeded: result.succeeded, revision: result.revision, read: result.ranges[0] ?? [] };
  }

  /**
   * A host's usage record once `session` has released its bricks there: the stored record with
   * those bricks no longer counted (undefined `next` if the host has no usage record).
   */
  private async releasedUsage(
    host: string,
    kv: KeyValue | undefined,
    session: StoredSession,
  ): Promise<{ key: string; modRevision: number; next?: HostUsageRecord }> {
    const key = this.keys.usage(host);
    if (!kv) return { key, modRevision: 0 };
    const usage = decodeOrUndefined(HostUsageRecord, key, kv.value);
    if (usage?.host !== host) {
      // A damaged usage record never holds a teardown: it is rebuilt from the host record and
      // the allocations that remain (or left for the host's dacd to rewrite at its start).
      return { key, modRevision: kv.modRevision, next: await this.rebuiltUsage(host, session) };
    }
    const freed = session.record.bricks.filter((b) => b.host === host).length;
    const pool = usage.pools[session.record.pool];
    const next: HostUsageRecord =
      pool && Object.hasOwn(usage.pools, session.record.pool)
        ? {
            ...usage,
            pools: {
              ...usage.pools,
              [session.record.pool]: { ...pool, allocated: Math.max(0, pool.allocated - freed) },
            },
          }
        : usage;
    return { key, modRevision: kv.modRevision, next };
  }

  /** A host's usage record rebuilt without `session`'s bricks; undefined if it cannot be. */
  private async rebuiltUsage(
    host: string,
    session: StoredSession,
  ): Promise<HostUsageRecord | undefined> {
    const key = this.keys.host(host);
    const kv = await this.store.get(key);
    const record = kv ? decodeOrUndefined(HostRecord, key, kv.value) : undefined;
    if (!record) return undefined;
    const allocated = await this.hosts.allocatedDevicesOf(host);
    for (const brick of session.record.bricks)
      if (brick.host === host) allocated.delete(brick.device);
    return hostUsage(record, allocated);
  }
}
