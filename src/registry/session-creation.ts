/**
 * Creating a session: its bricks taken and the session recorded in one compare-and-swap
 * transaction, in three requests to etcd when nobody competes, whatever the size of the
 * inventory:
 *
 * 1. one transaction (`txnAndSnapshot`) takes the session's id (the revision of the counter's
 *    write) and reads the session key (a repeated setup gets the session that exists), the
 *    session's summary bucket, the pool records, every host's usage record (its bricks and how
 *    many are allocated, per pool: a few dozen bytes) and the keys of the liveness records;
 * 2. placement chooses the hosts from those counts alone (`spreadBricks`), and one snapshot
 *    reads the chosen hosts' records, allocations and liveness records to pick the devices;
 * 3. the transaction of allocation-plan.ts, which compares everything it relied on.
 *
 * The transaction reads, in both of its branches, the serving host's liveness key (the wait
 * for the setup starts from the transaction's revision with no read of its own) and what it
 * compared but the allocation keys: the session key, the bucket, and the chosen hosts' usage
 * records and liveness keys. On conflict those are what the next attempt starts from, with no
 * request of its own (a transaction of etcd's most operations has no room for them: then one
 * snapshot reads them). If only the bucket changed (a session of the same bucket was written
 * meanwhile), the same bricks are tried again with the bucket as it is now; otherwise
 * placement chooses again, with another seed (other bricks), from the usage records known, with
 * the changed hosts' as read now.
 * Nothing reads the whole inventory; every usage record is read again only before a capacity
 * error would be reported from counts read before a conflict, so that the error is about now.
 */
import { ExponentialBackoff } from 'cockatiel';
import { CapacityError, RecordError, RecordIdentityError } from '../errors/errors';
import type { Compare, KeyValue, Keystore, RangeSpec } from '../keystore/keystore';
import {
  bricksFor,
  placementSeed,
  planAllocation,
  type AllocationPlan,
  type AllocationRequest,
} from './allocation-plan';
import { AGAIN, casLoop } from './cas-loop';
import type { EventLog } from './event-log';
import { buildInventory, isHostUsable } from './inventory';
import type { KeyLayout } from './keys';
import type { AccessMode, StageRequest } from './model';
import { HostUsageRecord, PoolRecord, SCHEMA_VERSION, type SessionRecord } from './record-codecs';
import { devicesOn, placementView, spreadBricks, type HostChoice } from './placement';
import { decodeOrUndefined } from './record-codec';
import { decodeSession, encodeSession } from './session-codec';
import { childName } from './pool-table';
import { sessionEvents } from './session-events';
import type { WaitPoint } from './wait-point';
import { MAX_TXN_OPS } from '../keystore/txn-limits';
import type { SummaryIndex } from './summary-index';

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

/** What `create` answers: the session, and where a wait on it starts (see WaitPoint). */
export interface CreatedSession extends WaitPoint {
  /** False if the session existed already (it is returned unchanged). */
  created: boolean;
}

/** The hosts of one pool as the usage records and liveness keys show them. */
interface UsageView {
  pools: Map<string, PoolRecord>;
  /** The pool records as read, for the inventory of the chosen hosts. */
  poolKvs: KeyValue[];
  /** Each host's usage record as read (those that can be read). */
  usageKvs: Map<string, KeyValue>;
  hosts: Map<string, HostChoice>;
  damagedHosts: Set<string>;
  /**
   * True if every count comes from one read made since the last conflict (or is newer): a
   * capacity error from it is reported, not a stale one.
   */
  fresh: boolean;
}

/** A plan whose bricks were free when last looked at, and what it compared them with. */
interface Pending {
  plan: Pick<AllocationPlan, 'granularityBytes' | 'bricks' | 'compares' | 'ops'>;
  /** Per chosen host, the usage record's mod revision and the liveness key's create revision. */
  guards: Map<string, { usage: number; alive: number }>;
}

/** Rounds of choosing hosts and reading their records in one attempt (see `plan`). */
const MAX_PLAN_ROUNDS = 8;

const NO_BRICKS: Pending = {
  plan: { granularityBytes: 0n, bricks: [], compares: [], ops: [] },
  guards: new Map(),
};

/** The key-value at exactly `key` in a range read by the prefix `key` (which may hold more). */
export function exactly(kvs: readonly KeyValue[] | undefined, key: string): KeyValue | undefined {
  return kvs?.find((kv) => kv.key === key);
}

export class SessionCreation {
  constructor(
    private readonly store: Keystore,
    private readonly keys: KeyLayout,
    private readonly summaries: SummaryIndex,
    private readonly history: EventLog,
    private readonly options: { attempts: number; seconds: () => number; nowMs: () => number },
  ) {}

  /** See SessionStore.createSession. */
  async create(request: NewSession): Promise<CreatedSession> {
    const sessionKey = this.keys.session(request.token);
    const bucketKey = this.summaries.bucketKey(request.token);
    const sized = request.requestedBytes > 0n;
    const first = await this.store.txnAndSnapshot(
      [],
      [{ type: 'put', key: this.keys.sessionIdCounter(), value: request.token }],
      [{ prefix: sessionKey }, { prefix: bucketKey }, ...(sized ? this.viewRanges() : [])],
    );
    const existing = exactly(first.ranges[0], sessionKey);
    if (existing) {
      return { session: decodeSession(existing), created: false, revision: first.revision };
    }
    const id = first.revision;
    let bucket = exactly(first.ranges[1], bucketKey);
    const view = sized
      ? this.usageView(first.ranges.slice(2), first.keys[4], request.pool)
      : undefined;
    let pending: Pending | undefined = sized ? undefined : NO_BRICKS;

    const contention = `could not allocate bricks for ${request.token}: too many concurrent requests; try again`;
    // Concurrent setups clash on the same bricks or bucket: tries are spread by a short random
    // pause (cockatiel's exponential backoff has jitter).
    const backoff = new ExponentialBackoff({ initialDelay: 5, maxDelay: 100 });
    return casLoop({ attempts: this.options.attempts, contention, backoff }, async (attempt) => {
      const allocationRequest = { ...request, sessionId: id, attempt };
      pending ??= await this.plan(view!, allocationRequest);
      if (!pending) return AGAIN;
      const { plan, guards } = pending;
      const session = this.newSessionRecord(request, id, plan.granularityBytes, plan.bricks);
      const summary = await this.summaries.writeOn(request.token, bucket, session);
      const { ops, later } = this.history.withEvents(
        [{ type: 'put', key: sessionKey, value: encodeSession(session) }, summary.op, ...plan.ops],
        sessionEvents(undefined, session, this.options.nowMs()),
      );
      const compares: Compare[] = [
        { key: sessionKey, target: 'createRevision', op: '==', value: 0 },
        ...plan.compares,
        summary.compare,
      ];
      // Read with the transaction: on a conflict, what it compared but the allocation keys
      // (which change only with their host's usage record), for the next attempt, if the
      // transaction has room for it; and the serving host's liveness key, for the wait that
      // follows a success.
      const hosts = [...guards.keys()];
      const retryRanges: RangeSpec[] = [
        { prefix: sessionKey },
        { prefix: bucketKey },
        ...hosts.flatMap((host) => [
          { prefix: this.keys.usage(host) },
          { prefix: this.keys.alive(host) },
        ]),
      ];
      const reconciler = session.reconciler;
      const aliveKey = reconciler === null ? undefined : this.keys.alive(reconciler);
      // A transaction of etcd's most operations has room for neither: the wait reads the
      // liveness key itself, a conflict reads again.
      const readAlive = aliveKey !== undefined && ops.length < MAX_TXN_OPS;
      const withRetry = ops.length + retryRanges.length + (readAlive ? 1 : 0) <= MAX_TXN_OPS;
      const ranges = [
        ...(withRetry ? retryRanges : []),
        ...(readAlive ? [{ prefix: aliveKey }] : []),
      ];
      const result = await this.store.txnAndSnapshot(compares, ops, ranges);
      if (result.succeeded) {
        await this.history.record(later);
        return {
          session,
          created: true,
          revision: result.revision,
          ...(readAlive
            ? { hostAlive: exactly(result.ranges[ranges.length - 1], aliveKey) !== undefined }
            : {}),
        };
      }
      const again = withRetry ? result : await this.store.snapshot(retryRanges);
      const raced = exactly(again.ranges[0], sessionKey);
      if (raced) return { session: decodeSession(raced), created: false, revision: again.revision };
      const bucketMoved =
        (exactly(again.ranges[1], bucketKey)?.modRevision ?? 0) !== (bucket?.modRevision ?? 0);
      bucket = exactly(again.ranges[1], bucketKey);
      // Neither the bucket nor a host moved: an allocation key did, which only a record written
      // by hand explains. Choosing again (another seed) goes round it.
      let moved = !bucketMoved;
      hosts.forEach((host, i) => {
        const usage = exactly(again.ranges[2 + 2 * i], this.keys.usage(host));
        const alive = exactly(again.ranges[3 + 2 * i], this.keys.alive(host));
        const guard = guards.get(host)!;
        if (
          (usage?.modRevision ?? 0) === guard.usage &&
          (alive?.createRevision ?? 0) === guard.alive
        ) {
          return;
        }
        moved = true;
        this.updateHost(view!, host, usage, alive !== undefined, request.pool);
      });
      if (moved) {
        // Others took bricks meanwhile: choose again, and trust no capacity error from counts
        // that are this old.
        pending = undefined;
        if (view) view.fresh = false;
      }
      return AGAIN;
    });
  }

  /** The ranges of the usage view, in the order `usageView` takes them. */
  private viewRanges(): RangeSpec[] {
    return [
      { prefix: this.keys.pools() },
      { prefix: this.keys.usages() },
      { prefix: this.keys.alives(), keysOnly: true },
    ];
  }

  /** Every host's usage record and liveness key, and the pools, read now. */
  private async readView(pool: string): Promise<UsageView> {
    const snapshot = await this.store.snapshot(this.viewRanges());
    return this.usageView(snapshot.ranges, snapshot.keys[2], pool);
  }

  /**
   * The view of `pool` from the pool records, the usage records and the liveness keys. A record
   * that cannot be read leaves its pool or host out, as in the inventory (inventory.ts).
   */
  private usageView(
    [poolKvs = [], usageKvs = []]: readonly KeyValue[][],
    aliveKeys: readonly string[] = [],
    pool: string,
  ): UsageView {
    const view: UsageView = {
      pools: new Map(),
      poolKvs: [],
      usageKvs: new Map(),
      hosts: new Map(),
      damagedHosts: new Set(),
      fresh: true,
    };
    for (const kv of poolKvs) {
      const record = decodeOrUndefined(PoolRecord, kv.key, kv.value);
      if (!record || record.name !== childName(kv.key, this.keys.pools())) continue;
      view.pools.set(record.name, record);
      view.poolKvs.push(kv);
    }
    const alive = new Set(aliveKeys.map((key) => childName(key, this.keys.alives())));
    for (const kv of usageKvs) {
      const host = childName(kv.key, this.keys.usages());
      if (host !== undefined) this.updateHost(view, host, kv, alive.has(host), pool);
    }
    return view;
  }

  /** Record in `view` what `host`'s usage record (`kv`, undefined: none) and liveness say. */
  private updateHost(
    view: UsageView,
    host: string,
    kv: KeyValue | undefined,
    alive: boolean,
    pool: string,
  ): void {
    view.hosts.delete(host);
    view.usageKvs.delete(host);
    view.damagedHosts.delete(host);
    if (!kv) return; // removed, or registered by a version without usage records
    try {
      const usage = HostUsageRecord.decode(kv.key, kv.value);
      if (usage.host !== host) throw new RecordIdentityError(kv.key, 'host', usage.host);
      const counts = Object.hasOwn(usage.pools, pool) ? usage.pools[pool] : undefined;
      const free = counts ? Math.max(0, counts.bricks - counts.allocated) : 0;
      view.hosts.set(host, { name: host, free, enabled: usage.enabled, alive });
      view.usageKvs.set(host, kv);
    } catch (error) {
      if (!(error instanceof RecordError)) throw error;
      // A usage record that cannot be read costs only its host, as every damaged record does.
      view.damagedHosts.add(host);
    }
  }

  /**
   * Choose the bricks: the hosts from the view's counts, then the devices from those hosts'
   * records, read in one snapshot. Where the records disagree with the counts (a host drained,
   * down or changed since, or a record of it damaged), the view takes what the records say
   * and placement chooses again.
   */
  private async plan(view: UsageView, request: AllocationRequest): Promise<Pending | undefined> {
    const seed = placementSeed(request);
    // Each round corrects the view; hosts that keep changing under it end the attempt.
    for (let round = 0; round < MAX_PLAN_ROUNDS; round += 1) {
      const granularity = view.pools.get(request.pool)?.granularityBytes ?? 1n;
      let hosts: string[];
      try {
        hosts = spreadBricks(
          { pools: view.pools, hosts: [...view.hosts.values()], damagedHosts: view.damagedHosts },
          request.pool,
          bricksFor(request.requestedBytes, granularity),
          seed,
        );
      } catch (error) {
        if (!(error instanceof CapacityError) || view.fresh) throw error;
        Object.assign(view, await this.readView(request.pool));
        continue;
      }
      const chosen = [...new Set(hosts)];
      const snapshot = await this.store.snapshot(
        chosen.flatMap((host) => [
          { prefix: this.keys.host(host) },
          { prefix: this.keys.allocationsOf(host) },
          { prefix: this.keys.alive(host) },
        ]),
      );
      const kvs = chosen.flatMap((host, i) => [
        view.usageKvs.get(host)!,
        ...(snapshot.ranges[3 * i] ?? []).filter((kv) => kv.key === this.keys.host(host)),
        ...(snapshot.ranges[3 * i + 1] ?? []),
        ...(snapshot.ranges[3 * i + 2] ?? []).filter((kv) => kv.key === this.keys.alive(host)),
      ]);
      const inventory = buildInventory(this.keys, [...view.poolKvs, ...kvs], snapshot.revision);
      const usable = chosen.every((host) => {
        const state = inventory.hosts.get(host);
        return state !== undefined && isHostUsable(state);
      });
      const bricks = usable ? devicesOn(inventory, request.pool, hosts, seed) : undefined;
      if (bricks) {
        const guards = new Map(
          chosen.map((host) => {
            const state = inventory.hosts.get(host)!;
            return [host, { usage: state.usageModRevision, alive: state.aliveCreateRevision ?? 0 }];
          }),
        );
        return { plan: planAllocation(this.keys, inventory, request, bricks), guards };
      }
      const seen = placementView(inventory, request.pool);
      for (const host of chosen) {
        view.hosts.delete(host);
        if (inventory.damagedHosts.has(host)) view.damagedHosts.add(host);
      }
      for (const host of seen.hosts)
        if (view.usageKvs.has(host.name)) view.hosts.set(host.name, host);
    }
    view.fresh = false;
    return undefined;
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
}
