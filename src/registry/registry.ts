/**
 * The registry: pools, hosts, bricks and sessions on top of a Keystore.
 *
 * Every state change is one compare-and-swap transaction; there is no global lock. Allocation
 * compares every chosen brick's allocation key (must be absent), each chosen host's usage
 * record (no other allocation, drain or re-registration meanwhile) and liveness key (same lease
 * still present) and the session's summary bucket, and writes the session, its summary bucket,
 * its allocations and the hosts' new usage records in the same transaction. On conflict it
 * re-reads and tries again.
 */
import { isDeepStrictEqual } from 'node:util';
import { ConflictError, ContentionError, NotFoundError, ValidationError } from '../errors/errors';
import type { Compare, KeyValue, Keystore, LeaseId, TxnOp, Watch } from '../keystore/keystore';
import { ceilDiv, formatBytes } from '../units/bytes';
import type { KeyLayout } from './keys';
import {
  AliveRecord,
  AllocationRecord,
  HostRecord,
  HostUsageRecord,
  PoolRecord,
  SCHEMA_VERSION,
  SessionRecord,
  SummaryBucketRecord,
  type AccessMode,
  SessionSummary,
  type BrickRef,
  type Brick,
  type StageRequest,
} from './model';
import { claimAlive, type AliveHolder } from './alive-claim';
import { allocatedDevices, hostUsage } from './inventory';
import { chooseBricks } from './placement';
import {
  byToken,
  sameSummary,
  summariseSession,
  summaryBucketNames,
  summaryBucketOf,
  withoutSummary,
  withSummary,
} from './session-summary';
import { RegistryReader, type StoredSession } from './registry-reader';

export type { StoredSession } from './registry-reader';
import { decodeOrUndefined, decodeRecord, encodeRecord } from './record-codec';
import { MAX_TXN_OPS } from '../keystore/txn-limits';

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

export interface RegistryOptions {
  /** Milliseconds since the epoch; injectable for tests. Default `Date.now`. */
  now?: () => number;
  /** Attempts of a compare-and-swap loop before giving up with ContentionError. Default 200. */
  maxAttempts?: number;
}

export interface HostRegistration {
  name: string;
  bricks: Brick[];
  /** Only used when the host is first registered; an operator's drain survives restarts. */
  enabled?: boolean;
}

/**
 * The summary of a session whose record cannot be read and whose stored summary is lost too:
 * its token, and its id (the session key was created by the transaction that took the id, so
 * its create revision is the id); owner, size and nodes unknown (0). Slurm then still sees the
 * session, and its teardown frees it. Undefined if the key does not end in a valid token.
 */
function placeholderSummary(token: string, kv: KeyValue): SessionSummary | undefined {
  const summary = SessionSummary.safeParse({
    id: kv.createRevision,
    token,
    uid: 0,
    createdAt: 0,
    bytes: '0',
    nodes: 0,
  });
  return summary.success ? summary.data : undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Registry extends RegistryReader {
  private readonly now: () => number;
  private readonly maxAttempts: number;

  constructor(
    private readonly store: Keystore,
    keys: KeyLayout,
    options: RegistryOptions = {},
  ) {
    super(store, keys);
    this.now = options.now ?? Date.now;
    this.maxAttempts = options.maxAttempts ?? 200;
  }

  /**
   * Create a pool, or check that the existing one has this granularity. Idempotent.
   * Throws ConflictError if the pool exists with another granularity.
   */
  async ensurePool(name: string, granularityBytes: bigint): Promise<PoolRecord> {
    const record: PoolRecord = { schemaVersion: SCHEMA_VERSION, name, granularityBytes };
    const key = this.keys.pool(name);
    const value = encodeRecord(PoolRecord, record);
    const result = await this.store.txn(
      [{ key, target: 'createRevision', op: '==', value: 0 }],
      [{ type: 'put', key, value }],
    );
    if (result.succeeded) return record;
    const existing = await this.getPool(name);
    if (existing.granularityBytes !== granularityBytes) {
      throw new ConflictError(
        `pool "${name}" exists with granularity ${formatBytes(existing.granularityBytes)}, ` +
          `not ${formatBytes(granularityBytes)}`,
      );
    }
    return existing;
  }

  /**
   * Register a host and its bricks. Idempotent: the same registration again changes nothing.
   * Refuses (ConflictError) to remove or re-pool a brick that holds an allocation.
   * Resolves true if the stored record changed.
   */
  async registerHost(registration: HostRegistration): Promise<boolean> {
    const devices = new Set<string>();
    const pools = new Map<string, PoolRecord>();
    for (const brick of registration.bricks) {
      if (devices.has(brick.device)) {
        throw new ValidationError(
          `host ${registration.name}: brick ${brick.device} is listed twice`,
        );
      }
      devices.add(brick.device);
      const pool = pools.get(brick.pool) ?? (await this.getPool(brick.pool));
      pools.set(pool.name, pool);
      if (brick.capacityBytes !== pool.granularityBytes) {
        throw new ValidationError(
          `host ${registration.name}: brick ${brick.device} has ${formatBytes(brick.capacityBytes)}` +
            `, but pool "${pool.name}" bricks must be ${formatBytes(pool.granularityBytes)}`,
        );
      }
    }
    const key = this.keys.host(registration.name);
    const usageKey = this.keys.usage(registration.name);
    for (let attempt = 0; attempt < this.maxAttempts; attempt += 1) {
      const [kv, usageKv] = await Promise.all([this.store.get(key), this.store.get(usageKey)]);
      // The registering dacd owns both records: one it cannot read is written anew.
      const existing = kv ? decodeOrUndefined(HostRecord, key, kv.value) : undefined;
      const usageReadable =
        usageKv !== undefined &&
        decodeOrUndefined(HostUsageRecord, usageKey, usageKv.value)?.host === registration.name;
      const record: HostRecord = {
        schemaVersion: SCHEMA_VERSION,
        name: registration.name,
        enabled: existing?.enabled ?? registration.enabled ?? true,
        ...(existing?.drainReason !== undefined ? { drainReason: existing.drainReason } : {}),
        bricks: registration.bricks,
        updatedAt: existing?.updatedAt ?? this.seconds(),
      };
      const unchanged = existing !== undefined && isDeepStrictEqual(existing, record);
      if (unchanged && usageReadable) return false;
      if (!unchanged) record.updatedAt = this.seconds();
      const removed = (existing?.bricks ?? []).filter(
        (old) => !registration.bricks.some((b) => b.device === old.device && b.pool === old.pool),
      );
      // Bricks that hold an allocation are never removed or re-pooled (compared below), so
      // the allocated devices are the same before and after.
      const usage = hostUsage(record, await this.allocatedDevicesOf(registration.name));
      const compares: Compare[] = [
        { key, target: 'modRevision', op: '==', value: kv?.modRevision ?? 0 },
        { key: usageKey, target: 'modRevision', op: '==', value: usageKv?.modRevision ?? 0 },
        ...removed.map((b): Compare => ({
          key: this.keys.allocation(registration.name, b.device),
          target: 'createRevision',
          op: '==',
          value: 0,
        })),
      ];
      const result = await this.store.txn(compares, [
        { type: 'put', key, value: encodeRecord(HostRecord, record) },
        { type: 'put', key: usageKey, value: encodeRecord(HostUsageRecord, usage) },
      ]);
      if (result.succeeded) return true;
      for (const brick of removed) {
        const allocationKey = this.keys.allocation(registration.name, brick.device);
        const allocation = await this.store.get(allocationKey);
        if (allocation) {
          const owner = decodeRecord(AllocationRecord, allocationKey, allocation.value);
          throw new ConflictError(
            `cannot remove brick ${brick.device} from host ${registration.name}: ` +
              `it is allocated to session ${owner.token}`,
          );
        }
      }
    }
    throw new ContentionError(`host ${registration.name}: too many concurrent updates`);
  }

  /** Enable a host, or drain it (no new allocations) with a reason. */
  async setHostEnabled(name: string, enabled: boolean, reason?: string): Promise<HostRecord> {
    const key = this.keys.host(name);
    const usageKey = this.keys.usage(name);
    for (let attempt = 0; attempt < this.maxAttempts; attempt += 1) {
      const [kv, usageKv] = await Promise.all([this.store.get(key), this.store.get(usageKey)]);
      if (!kv) throw new NotFoundError(`host ${name} does not exist`);
      const { drainReason: _old, ...rest } = decodeRecord(HostRecord, key, kv.value);
      const next: HostRecord = {
        ...rest,
        enabled,
        ...(!enabled && reason ? { drainReason: reason } : {}),
        updatedAt: this.seconds(),
      };
      // Allocations on this host also rewrite its usage record, so comparing that record's
      // revision makes the count read here current at the time of the write.
      const usage = hostUsage(next, await this.allocatedDevicesOf(name));
      const result = await this.store.txn(
        [
          { key, target: 'modRevision', op: '==', value: kv.modRevision },
          { key: usageKey, target: 'modRevision', op: '==', value: usageKv?.modRevision ?? 0 },
        ],
        [
          { type: 'put', key, value: encodeRecord(HostRecord, next) },
          { type: 'put', key: usageKey, value: encodeRecord(HostUsageRecord, usage) },
        ],
      );
      if (result.succeeded) return next;
    }
    throw new ContentionError(`host ${name}: too many concurrent updates`);
  }

  /** The devices of a host that hold an allocation now (one range read). */
  private async allocatedDevicesOf(host: string): Promise<Set<string>> {
    const prefix = this.keys.allocationsOf(host);
    const { kvs } = await this.store.range(prefix);
    return new Set(kvs.map((kv) => kv.key.slice(prefix.length)));
  }

  /**
   * Claim the host's liveness key for `lease` (see alive-claim.ts): the host is live while the
   * lease is. Throws HostOwnedError when another daemon holds it.
   */
  async markAlive(
    host: string,
    lease: LeaseId,
    holder?: AliveHolder,
    mayReplace?: (current: AliveRecord) => boolean,
  ): Promise<void> {
    await claimAlive(this.store, this.keys, {
      host,
      lease,
      nowSeconds: this.seconds(),
      ...(holder ? { holder } : {}),
      ...(mayReplace ? { mayReplace } : {}),
    });
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
          onChange(this.decodeSession(event.kv));
        } catch (error) {
          onError(error);
        }
      },
      { fromRevision },
    );
  }

  /** Call `onChange(alive)` whenever the host's liveness key appears or disappears. */
  async watchHostLiveness(
    host: string,
    fromRevision: number,
    onChange: (alive: boolean) => void,
  ): Promise<Watch> {
    const key = this.keys.alive(host);
    return this.store.watchPrefix(
      key,
      (event) => {
        if (event.kv.key === key) onChange(event.type === 'put');
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
    const existing = await this.getSession(request.token);
    if (existing) return { session: existing.record, created: false };
    const id = await this.store.put(this.keys.sessionIdCounter(), request.token);

    for (let attempt = 0; attempt < this.maxAttempts; attempt += 1) {
      const compares: Compare[] = [
        { key: sessionKey, target: 'createRevision', op: '==', value: 0 },
      ];
      const ops: TxnOp[] = [];
      let granularity = 0n;
      let bricks: BrickRef[] = [];
      if (request.requestedBytes > 0n) {
        const inventory = await this.readInventory();
        const pool = inventory.pools.get(request.pool);
        granularity = pool?.granularityBytes ?? 1n;
        const count = Number(ceilDiv(request.requestedBytes, granularity));
        bricks = chooseBricks(inventory, request.pool, count, `${request.token}#${attempt}`);
        bricks.forEach((brick, index) => {
          const key = this.keys.allocation(brick.host, brick.device);
          compares.push({ key, target: 'createRevision', op: '==', value: 0 });
          const allocation: AllocationRecord = {
            schemaVersion: SCHEMA_VERSION,
            sessionId: id,
            token: request.token,
            index,
          };
          ops.push({ type: 'put', key, value: encodeRecord(AllocationRecord, allocation) });
        });
        for (const host of new Set(bricks.map((b) => b.host))) {
          const state = inventory.hosts.get(host)!;
          const taken = allocatedDevices(inventory, state.record);
          for (const brick of bricks) if (brick.host === host) taken.add(brick.device);
          ops.push({
            type: 'put',
            key: this.keys.usage(host),
            value: encodeRecord(HostUsageRecord, hostUsage(state.record, taken)),
          });
          // Every write of the host record (a drain, new bricks) rewrites the usage record in
          // the same transaction, so its revision also guards the host record: one compare per
          // host fewer keeps big sessions within etcd's 128 compares per transaction.
          compares.push(
            {
              key: this.keys.usage(host),
              target: 'modRevision',
              op: '==',
              value: state.usageModRevision,
            },
            {
              key: this.keys.alive(host),
              target: 'createRevision',
              op: '==',
              value: state.aliveCreateRevision ?? 0,
            },
          );
        }
      }
      const session = this.newSessionRecord(request, id, granularity, bricks);
      const summary = await this.summaryWrite(session.token, session);
      compares.push(summary.compare);
      ops.unshift(
        { type: 'put', key: sessionKey, value: encodeRecord(SessionRecord, session) },
        summary.op,
      );
      const result = await this.store.txn(compares, ops);
      if (result.succeeded) return { session, created: true };
      const raced = await this.getSession(request.token);
      if (raced) return { session: raced.record, created: false };
      await sleep(Math.random() * Math.min(100, 5 * (attempt + 1)));
    }
    throw new ContentionError(
      `could not allocate bricks for ${request.token}: too many concurrent requests; try again`,
    );
  }

  private newSessionRecord(
    request: NewSession,
    id: number,
    granularityBytes: bigint,
    bricks: SessionRecord['bricks'],
  ): SessionRecord {
    const reconciler = bricks[0]?.host ?? request.reconciler ?? null;
    return {
      schemaVersion: SCHEMA_VERSION,
      id,
      token: request.token,
      kind: request.kind,
      owner: request.owner,
      createdAt: this.seconds(),
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
          ? { phase: 'Setup', status: 'Completed', updatedAt: this.seconds() }
          : null,
      timings: {},
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
    for (let attempt = 0; attempt < this.maxAttempts; attempt += 1) {
      const kv = await this.store.get(key);
      if (!kv) throw new NotFoundError(`session ${token} does not exist`);
      const current = decodeRecord(SessionRecord, key, kv.value);
      const next = change(current);
      const compares: Compare[] = [{ key, target: 'modRevision', op: '==', value: kv.modRevision }];
      const ops: TxnOp[] = [{ type: 'put', key, value: encodeRecord(SessionRecord, next) }];
      if (!sameSummary(summariseSession(current), summariseSession(next))) {
        const summary = await this.summaryWrite(token, next);
        compares.push(summary.compare);
        ops.push(summary.op);
      }
      const result = await this.store.txn(compares, ops);
      if (result.succeeded) return next;
    }
    throw new ContentionError(`session ${token}: too many concurrent updates`);
  }

  /**
   * The write of session `token`'s summary bucket with its summary replaced by `session`'s (or
   * removed, without `session`), and the compare that the bucket is still as read.
   */
  private async summaryWrite(
    token: string,
    session: SessionRecord | undefined,
  ): Promise<{ compare: Compare; op: TxnOp }> {
    const bucket = summaryBucketOf(token);
    const key = this.keys.summaryBucket(bucket);
    const kv = await this.store.get(key);
    // A bucket that cannot be read (damaged by hand) is rebuilt from the session records, so
    // that it never blocks a setup or a teardown.
    const stored = kv ? (this.readableBucket(kv) ?? (await this.bucketFromSessions(bucket))) : [];
    const summaries = session
      ? withSummary(stored, summariseSession(session))
      : withoutSummary(stored, token);
    return {
      compare: kv
        ? { key, target: 'modRevision', op: '==', value: kv.modRevision }
        : { key, target: 'createRevision', op: '==', value: 0 },
      op: { type: 'put', key, value: this.encodeBucket(summaries) },
    };
  }

  private encodeBucket(summaries: SummaryBucketRecord['summaries']): string {
    return encodeRecord(SummaryBucketRecord, { schemaVersion: SCHEMA_VERSION, summaries });
  }

  /**
   * Rewrite every summary bucket that does not match the sessions (sessions recorded by a
   * version without buckets, or a bucket damaged by hand), delete keys under the buckets'
   * prefix that are no bucket, and delete the per-session summaries of the previous layout.
   * dacd calls it at start. Each bucket is written guarded by its revision in the snapshot it
   * was computed from: a session written meanwhile rewrote its bucket, so that write fails and
   * the repair looks again. Resolves with the tokens whose summary was added, changed or
   * removed, sorted.
   */
  async writeMissingSummaries(): Promise<string[]> {
    const repaired = new Set<string>();
    const names = summaryBucketNames();
    for (let attempt = 0; attempt < this.maxAttempts; attempt += 1) {
      const snapshot = await this.store.snapshot([
        { prefix: this.keys.sessions() },
        { prefix: this.keys.summaryBuckets() },
        { prefix: this.keys.legacySessionSummaries(), keysOnly: true },
      ]);
      const [sessionKvs = [], bucketKvs = []] = snapshot.ranges;
      const stored = new Map(bucketKvs.map((kv) => [kv.key, kv]));
      const expected = new Map(names.map((name) => [name, [] as SessionSummary[]]));
      const sessionsPrefix = this.keys.sessions();
      for (const kv of sessionKvs) {
        const session = decodeOrUndefined(SessionRecord, kv.key, kv.value);
        // A session record that cannot be read keeps the summary it had (or, with its bucket
        // damaged too, gets a placeholder), so that Slurm still sees the session (and tears it
        // down); it never stops a dacd from starting.
        const token = kv.key.slice(sessionsPrefix.length);
        const summary = session
          ? summariseSession(session)
          : (this.storedSummary(stored, token) ?? placeholderSummary(token, kv));
        if (summary) expected.get(summaryBucketOf(summary.token))!.push(summary);
      }
      let settled = true;
      for (const [name, summaries] of expected) {
        summaries.sort(byToken);
        const key = this.keys.summaryBucket(name);
        const kv = stored.get(key);
        stored.delete(key);
        const current = kv ? this.readableBucket(kv) : [];
        if (current && sameSummaries(current, summaries) && (kv || summaries.length === 0)) {
          continue;
        }
        const result = await this.store.txn(
          [
            kv
              ? { key, target: 'modRevision', op: '==', value: kv.modRevision }
              : { key, target: 'createRevision', op: '==', value: 0 },
          ],
          [{ type: 'put', key, value: this.encodeBucket(summaries) }],
        );
        if (!result.succeeded) {
          settled = false;
          continue;
        }
        for (const token of changedTokens(current ?? [], summaries)) repaired.add(token);
      }
      // What is left under the prefix is no bucket (written by hand): the reader would fail on it.
      await this.deleteKeys([...stored.keys(), ...(snapshot.keys[2] ?? [])]);
      if (settled) return [...repaired].sort();
    }
    throw new ContentionError('session summaries: too many concurrent updates; restart dacd');
  }

  /** The summary of `token` in its stored bucket, if the bucket can be read and lists it. */
  private storedSummary(
    buckets: ReadonlyMap<string, KeyValue>,
    token: string,
  ): SessionSummary | undefined {
    const kv = buckets.get(this.keys.summaryBucket(summaryBucketOf(token)));
    return (kv && this.readableBucket(kv))?.find((summary) => summary.token === token);
  }

  /**
   * The summaries of the sessions recorded now whose tokens fall in `bucket`, by token. A
   * session record that cannot be read gets a placeholder (its bucket could not be read
   * either), so that the bucket still lists every session.
   */
  private async bucketFromSessions(bucket: string): Promise<SessionSummary[]> {
    const prefix = this.keys.sessions();
    const { kvs } = await this.store.range(prefix);
    return kvs
      .filter((kv) => summaryBucketOf(kv.key.slice(prefix.length)) === bucket)
      .flatMap((kv) => {
        const session = decodeOrUndefined(SessionRecord, kv.key, kv.value);
        const summary = session
          ? summariseSession(session)
          : placeholderSummary(kv.key.slice(prefix.length), kv);
        return summary ? [summary] : [];
      })
      .sort(byToken);
  }

  /** The summaries of a stored bucket, or undefined if it cannot be read (it is rewritten). */
  private readableBucket(kv: KeyValue): SessionSummary[] | undefined {
    return decodeOrUndefined(SummaryBucketRecord, kv.key, kv.value)?.summaries;
  }

  /** Delete `keys`, in transactions etcd accepts (at most 128 operations each). */
  private async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += MAX_TXN_OPS) {
      const ops = keys
        .slice(start, start + MAX_TXN_OPS)
        .map((key): TxnOp => ({ type: 'delete', key }));
      await this.store.txn([], ops);
    }
  }

  /**
   * Delete a session and free its bricks in one transaction. Idempotent: resolves with the
   * deleted record, or undefined if there was none.
   */
  async releaseSession(token: string): Promise<SessionRecord | undefined> {
    for (let attempt = 0; attempt < this.maxAttempts; attempt += 1) {
      const stored = await this.getSession(token);
      if (!stored) return undefined;
      const sessionKey = this.keys.session(token);
      const compares: Compare[] = [
        { key: sessionKey, target: 'modRevision', op: '==', value: stored.modRevision },
      ];
      const summary = await this.summaryWrite(token, undefined);
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
      if (result.succeeded) return stored.record;
    }
    throw new ContentionError(`session ${token}: too many concurrent updates`);
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
    const allocated = await this.allocatedDevicesOf(host);
    for (const brick of session.record.bricks)
      if (brick.host === host) allocated.delete(brick.device);
    return hostUsage(record, allocated);
  }

  private seconds(): number {
    return Math.floor(this.now() / 1000);
  }
}

/** True if two lists of summaries say the same, in the same order. */
function sameSummaries(a: readonly SessionSummary[], b: readonly SessionSummary[]): boolean {
  return a.length === b.length && a.every((summary, i) => sameSummary(summary, b[i]!));
}

/**
 * The tokens whose summary is in one list and not the other, differs between them, or is
 * listed more than once before.
 */
function changedTokens(before: readonly SessionSummary[], after: readonly SessionSummary[]) {
  const old = new Map<string, SessionSummary>();
  const changed = new Set<string>();
  for (const summary of before) {
    if (old.has(summary.token)) changed.add(summary.token);
    old.set(summary.token, summary);
  }
  for (const summary of after) {
    const previous = old.get(summary.token);
    if (!previous || !sameSummary(previous, summary)) changed.add(summary.token);
    old.delete(summary.token);
  }
  for (const token of old.keys()) changed.add(token);
  return changed;
}
