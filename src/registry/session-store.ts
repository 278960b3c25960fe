/**
 * The session store: sessions and their bricks. Every change is one compare-and-swap
 * transaction, with the session's summary (summary-index.ts) in the same transaction. Creating
 * a session allocates its bricks (allocation-plan.ts) and compares the session's summary
 * bucket; releasing it deletes the session, its allocations and its summary and rewrites the
 * hosts' usage records. On conflict each re-reads and tries again (cas-loop.ts).
 */
import { ExponentialBackoff } from 'cockatiel';
import { NotFoundError } from '../errors/errors';
import type { Compare, Keystore, TxnOp, Watch } from '../keystore/keystore';
import { planAllocation } from './allocation-plan';
import { AGAIN, casLoop } from './cas-loop';
import type { HostRegistry } from './host-registry';
import { hostUsage } from './inventory';
import type { KeyLayout } from './keys';
import type { AccessMode, StageRequest } from './model';
import { HostRecord, HostUsageRecord, SCHEMA_VERSION, SessionRecord } from './record-codecs';
import { decodeOrUndefined, encodeRecord } from './record-codec';
import type { RegistryReader } from './registry-reader';
import {
  decodeSession,
  decodeStoredSession,
  encodeSession,
  type StoredSession,
} from './session-codec';
import { sameSummary, summariseSession } from './session-summary';
import type { SummaryIndex } from './summary-index';

/** What `watchSessions` reports. */
export interface SessionsListener {
  /** A session was created or changed. */
  changed(session: StoredSession): void;
  /** The session of `token` was deleted. */
  removed(token: string): void;
  /** A record was written at `key` that does not validate (`error` is a RecordError naming it). */
  damaged(key: string, error: unknown): void;
}

/** What `createSession` needs to know. */
export interface NewSession {
  token: string;
  kind: 'job' | 'persistent';
  owner: { uid: number; gid: number };
  pool: string;
  /** Requested capacity; 0 for a session with no buffer of its own. */
  requestedBytes: bigint;
  accessMode?: AccessMode;
  type?: 'scratch' | 'cache';
  stageIn?: StageRequest[];
  stageOut?: StageRequest[];
  persistentAttachments?: string[];
  /** Host that reconciles a session without bricks (see SessionRecord.reconciler). */
  reconciler?: string | null;
  /** Slurm node names, when known at creation. */
  computeHosts?: string[];
}

export class SessionStore {
  constructor(
    private readonly store: Keystore,
    private readonly keys: KeyLayout,
    private readonly reader: RegistryReader,
    private readonly hosts: HostRegistry,
    private readonly summaries: SummaryIndex,
    private readonly options: { attempts: number; seconds: () => number; nowMs: () => number },
  ) {}

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
   * Allocate bricks for a new session and record it, atomically. Idempotent per token: if the
   * session exists already it is returned unchanged with `created: false`.
   * A zero-capacity session takes no bricks and works even when the pool is full.
   */
  async createSession(request: NewSession): Promise<{ session: SessionRecord; created: boolean }> {
    const sessionKey = this.keys.session(request.token);
    const existing = await this.reader.getSession(request.token);
    if (existing) return { session: existing.record, created: false };
    const id = await this.store.put(this.keys.sessionIdCounter(), request.token);

    const contention = `could not allocate bricks for ${request.token}: too many concurrent requests; try again`;
    // Concurrent setups clash on the same bricks: tries are spread by a short random pause.
    const backoff = new ExponentialBackoff({ initialDelay: 5, maxDelay: 100 });
    return casLoop({ attempts: this.options.attempts, contention, backoff }, async (attempt) => {
      const plan =
        request.requestedBytes > 0n
          ? planAllocation(this.keys, await this.reader.readInventory(), {
              token: request.token,
              sessionId: id,
              pool: request.pool,
              requestedBytes: request.requestedBytes,
              attempt,
            })
          : { granularityBytes: 0n, bricks: [], compares: [], ops: [] };
      const session = this.newSessionRecord(request, id, plan.granularityBytes, plan.bricks);
      const summary = await this.summaries.write(session.token, session);
      const compares: Compare[] = [
        { key: sessionKey, target: 'createRevision', op: '==', value: 0 },
        ...plan.compares,
        summary.compare,
      ];
      const ops: TxnOp[] = [
        { type: 'put', key: sessionKey, value: encodeSession(session) },
        summary.op,
        ...plan.ops,
      ];
      const result = await this.store.txn(compares, ops);
      if (result.succeeded) return { session, created: true };
      const raced = await this.reader.getSession(request.token);
      return raced ? { session: raced.record, created: false } : AGAIN;
    });
  }

  private newSessionRecord(
    request: NewSession,
    id: number,
    granularityBytes: bigint,
    bricks: SessionRecord['bricks'],
  ): SessionRecord {
    const reconciler = bricks[0]?.host ?? request.reconciler ?? null;
    const nowMs = this.options.nowMs();
    return {
      schemaVersion: SCHEMA_VERSION,
      id,
      token: request.token,
      kind: request.kind,
      owner: request.owner,
      createdAt: this.options.seconds(),
      pool: request.pool,
      requestedBytes: request.requestedBytes,
      granularityBytes,
      accessMode: request.accessMode ?? 'striped',
      type: request.type ?? 'scratch',
      stageIn: request.stageIn ?? [],
      stageOut: request.stageOut ?? [],
      persistentAttachments: request.persistentAttachments ?? [],
      bricks,
      reconciler,
      computeHosts: request.computeHosts ?? [],
      desired: 'Setup',
      // Nobody else will report on a session no daemon serves: it is set up once recorded.
      observed:
        reconciler === null
          ? { phase: 'Setup', status: 'Completed', updatedAt: this.options.seconds() }
          : null,
      // Creating the session asks for Setup: its start is now (and its end, with no daemon).
      timings: {
        Setup: { startedAt: nowMs, ...(reconciler === null ? { finishedAt: nowMs } : {}) },
      },
      lastError: null,
      hurry: false,
    };
  }

  /**
   * Change a session with a compare-and-swap loop, and its summary in the same transaction if
   * the change shows in it. NotFoundError if the session does not exist.
   */
  async updateSession(
    token: string,
    change: (session: SessionRecord) => SessionRecord,
  ): Promise<SessionRecord> {
    const key = this.keys.session(token);
    const contention = `session ${token}: too many concurrent updates`;
    return casLoop({ attempts: this.options.attempts, contention }, async () => {
      const kv = await this.store.get(key);
      if (!kv) throw new NotFoundError(`session ${token} does not exist`);
      const current = decodeSession(kv);
      const next = change(current);
      const compares: Compare[] = [{ key, target: 'modRevision', op: '==', value: kv.modRevision }];
      const ops: TxnOp[] = [{ type: 'put', key, value: encodeSession(next) }];
      if (!sameSummary(summariseSession(current), summariseSession(next))) {
        const summary = await this.summaries.write(token, next);
        compares.push(summary.compare);
        ops.push(summary.op);
      }
      const result = await this.store.txn(compares, ops);
      return result.succeeded ? next : AGAIN;
    });
  }

  /**
   * Delete a session and free its bricks in one transaction. Idempotent: resolves with the
   * deleted record, or undefined if there was none.
   */
  async releaseSession(token: string): Promise<SessionRecord | undefined> {
    const contention = `session ${token}: too many concurrent updates`;
    return casLoop({ attempts: this.options.attempts, contention }, async () => {
      const stored = await this.reader.getSession(token);
      if (!stored) return undefined;
      const sessionKey = this.keys.session(token);
      const compares: Compare[] = [
        { key: sessionKey, target: 'modRevision', op: '==', value: stored.modRevision },
      ];
      const summary = await this.summaries.write(token, undefined);
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
      const usages = await Promise.all(hosts.map((host) => this.releasedUsage(host, stored)));
      for (const { key, modRevision, next } of usages) {
        compares.push({ key, target: 'modRevision', op: '==', value: modRevision });
        if (next) ops.push({ type: 'put', key, value: encodeRecord(HostUsageRecord, next) });
      }
      const result = await this.store.txn(compares, ops);
      return result.succeeded ? stored.record : AGAIN;
    });
  }

  /**
   * A host's usage record once `session` has released its bricks there: the stored record with
   * those bricks no longer counted (undefined `next` if the host has no usage record).
   */
  private async releasedUsage(
    host: string,
    session: StoredSession,
  ): Promise<{ key: string; modRevision: number; next?: HostUsageRecord }> {
    const key = this.keys.usage(host);
    const kv = await this.store.get(key);
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
