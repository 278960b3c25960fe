/**
 * An in-memory Keystore that reproduces etcd 3.4 semantics, for unit tests and local runs.
 *
 * It must stay indistinguishable from `EtcdKeystore` through the `Keystore` interface (both
 * pass `test/support/keystore-conformance.ts`), so code tested against it behaves the same on
 * etcd. Where etcd has a rule that callers can trip over (value compares on missing keys,
 * duplicate keys in one txn, 128 ops per txn, the request size limit), it is reproduced here
 * rather than being more lenient, so the mistake shows up in unit tests rather than in
 * production.
 */
import { LeaseLostError, StoreUnavailableError, ValidationError } from '../errors/errors';
import type {
  Compare,
  KeyValue,
  Keystore,
  Lease,
  LeaseId,
  PutOptions,
  RangeResult,
  RangeSpec,
  SnapshotResult,
  TxnOp,
  TxnResult,
  TxnSnapshotResult,
  Watch,
  WatchEvent,
  WatchListener,
  WatchOptions,
} from './keystore';
import { checkSnapshotRanges, checkTxnSize } from './txn-limits';

/**
 * etcd's default `--max-request-bytes` (1.5 MiB). etcd measures the encoded raft request, which
 * is slightly larger than the keys and values alone; this approximation only has to catch
 * records that are far too big.
 */
const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

/** A stored key's state, without its key (the map key). */
interface Entry {
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: LeaseId | undefined;
}

interface LeaseState {
  ttlSeconds: number;
  timer: NodeJS.Timeout;
  /** Keys currently attached, so expiry deletes exactly these (as etcd's lessor does). */
  keys: Set<string>;
}

/**
 * Order keys and values like etcd: by their UTF-8 bytes. JavaScript's `<` compares UTF-16 code
 * units, which orders astral characters (emoji) before U+E000..U+FFFF, unlike etcd.
 */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function requireKey(key: string): void {
  // etcd rejects an empty key ("key is not provided"); range('') is the only way to read all.
  if (key.length === 0) throw new ValidationError('keystore key must not be empty');
}

function closedError(): StoreUnavailableError {
  return new StoreUnavailableError('the keystore has been closed');
}

function leaseLost(id: LeaseId): LeaseLostError {
  // etcd's wording is "requested lease not found"; the holder's remedy is the same either way.
  return new LeaseLostError(`lease ${id} has expired or been revoked`, {
    detail: 'etcdserver: requested lease not found',
  });
}

/** A watch on one prefix; events are queued and delivered from a later macrotask. */
class MemoryWatch implements Watch {
  private readonly queue: WatchEvent[] = [];
  private scheduled = false;
  private closed = false;

  constructor(
    readonly prefix: string,
    private readonly listener: WatchListener,
    private readonly onClose: (watch: MemoryWatch) => void,
  ) {}

  /** Queue events (already filtered and in revision order) and schedule their delivery. */
  enqueue(events: readonly WatchEvent[]): void {
    if (this.closed || events.length === 0) return;
    // Copies, so one listener mutating its event cannot affect another watch or the history.
    for (const event of events) this.queue.push({ type: event.type, kv: { ...event.kv } });
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate rather than a microtask: the writer's `await put()` continuation runs first,
    // as it would with etcd over the network, so code that assumes synchronous delivery fails.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    let failure: { error: unknown } | undefined;
    while (!this.closed) {
      const event = this.queue.shift();
      if (event === undefined) break;
      try {
        this.listener(event);
      } catch (error) {
        // Keep delivering the rest in order; the listener's bug still surfaces below.
        failure ??= { error };
      }
    }
    // Escapes as an uncaught exception, like a throwing listener on an etcd watch stream.
    if (failure !== undefined) throw failure.error;
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.queue.length = 0;
      this.onClose(this);
    }
    return Promise.resolve();
  }
}

/** A lease handle; all state lives in the store so expiry and revoke see one truth. */
class MemoryLease implements Lease {
  constructor(
    readonly id: LeaseId,
    readonly ttlSeconds: number,
    private readonly store: MemoryKeystore,
  ) {}

  keepAliveOnce(): Promise<void> {
    return this.store.keepAlive(this.id);
  }

  revoke(): Promise<void> {
    return this.store.revokeLease(this.id);
  }
}

/** Options for `MemoryKeystore`; none are needed today, the object keeps the signature stable. */
export type MemoryKeystoreOptions = Record<string, never>;

/**
 * A `Keystore` held in process memory with etcd 3.4 semantics: one store-wide revision (1 when
 * empty, so the first write yields 2), per-key create/mod revisions and versions, single-revision
 * transactions, prefix watches replayable from any past revision (the whole history is kept: it
 * is meant for tests), and leases timed with real (unref'd) timers.
 */
export class MemoryKeystore implements Keystore {
  private revision = 1;
  private readonly data = new Map<string, Entry>();
  /** Every event ever, in revision order, so a watch from a past revision can replay. */
  private readonly history: WatchEvent[] = [];
  private readonly watches = new Set<MemoryWatch>();
  private readonly leases = new Map<LeaseId, LeaseState>();
  // etcd lease ids are large 64-bit numbers; starting high makes ids look alike in logs.
  private nextLeaseId = 7587869000000000000n;
  private closed = false;

  constructor(_options: MemoryKeystoreOptions = {}) {}

  async get(key: string): Promise<KeyValue | undefined> {
    this.ensureOpen();
    requireKey(key);
    const entry = this.data.get(key);
    return entry === undefined ? undefined : toKeyValue(key, entry);
  }

  async range(prefix: string): Promise<RangeResult> {
    this.ensureOpen();
    const kvs = this.keysWithPrefix(prefix).map((key) => toKeyValue(key, this.data.get(key)!));
    return { kvs, revision: this.revision };
  }

  async snapshot(ranges: readonly RangeSpec[]): Promise<SnapshotResult> {
    this.ensureOpen();
    checkSnapshotRanges(ranges);
    const keys = ranges.map((spec) => this.keysWithPrefix(spec.prefix));
    return {
      ranges: ranges.map((spec, i) =>
        spec.countOnly || spec.keysOnly
          ? []
          : keys[i]!.map((key) => toKeyValue(key, this.data.get(key)!)),
      ),
      keys: ranges.map((spec, i) => (spec.keysOnly && !spec.countOnly ? keys[i]! : [])),
      counts: keys.map((list) => list.length),
      revision: this.revision,
    };
  }

  async txnAndSnapshot(
    compares: Compare[],
    onSuccess: TxnOp[],
    ranges: readonly RangeSpec[],
  ): Promise<TxnSnapshotResult> {
    this.ensureOpen();
    // The ranges are ops of both branches: etcd counts them against --max-txn-ops.
    checkSnapshotRanges(ranges);
    checkTxnSize(compares.length, onSuccess.length + ranges.length, ranges.length);
    for (const compare of compares) validateCompare(compare);
    validateOps(onSuccess);
    const succeeded = compares.every((compare) => this.holds(compare));
    if (succeeded) {
      this.checkLeases(onSuccess);
      this.applyWrites(onSuccess);
    }
    return { ...(await this.snapshot(ranges)), succeeded };
  }

  async put(key: string, value: string, options?: PutOptions): Promise<number> {
    this.ensureOpen();
    const op: TxnOp = { type: 'put', key, value, lease: options?.lease };
    validateOps([op]);
    this.checkLeases([op]);
    this.applyWrites([op]);
    return this.revision;
  }

  async delete(key: string): Promise<boolean> {
    this.ensureOpen();
    requireKey(key);
    const existed = this.data.has(key);
    this.applyWrites([{ type: 'delete', key }]);
    return existed;
  }

  async txn(compares: Compare[], onSuccess: TxnOp[], onFailure: TxnOp[] = []): Promise<TxnResult> {
    this.ensureOpen();
    checkTxnSize(compares.length, onSuccess.length, onFailure.length);
    for (const compare of compares) validateCompare(compare);
    // etcd validates both branches before evaluating, so a bad failure branch fails even when
    // the success branch would have run.
    validateOps(onSuccess);
    validateOps(onFailure);
    const succeeded = compares.every((compare) => this.holds(compare));
    const ops = succeeded ? onSuccess : onFailure;
    // Only the branch that runs is checked for leases, as etcd's applier does.
    this.checkLeases(ops);
    this.applyWrites(ops);
    return { succeeded, revision: this.revision };
  }

  async watchPrefix(
    prefix: string,
    listener: WatchListener,
    options?: WatchOptions,
  ): Promise<Watch> {
    this.ensureOpen();
    const watch = new MemoryWatch(prefix, listener, (closed) => this.watches.delete(closed));
    const from = options?.fromRevision;
    // etcd treats a start revision of 0 (or none) as "from now on".
    if (from !== undefined && from > 0) {
      watch.enqueue(
        this.history.filter((e) => e.kv.modRevision >= from && e.kv.key.startsWith(prefix)),
      );
    }
    this.watches.add(watch);
    return watch;
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    this.ensureOpen();
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
      throw new ValidationError(`lease TTL must be a whole number of seconds ≥ 1: ${ttlSeconds}`);
    }
    const id = (this.nextLeaseId++).toString(10);
    this.leases.set(id, { ttlSeconds, timer: this.expiryTimer(id, ttlSeconds), keys: new Set() });
    return new MemoryLease(id, ttlSeconds, this);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const state of this.leases.values()) clearTimeout(state.timer);
    this.leases.clear();
    for (const watch of [...this.watches]) await watch.close();
  }

  /** @internal Used by `MemoryLease`. */
  async keepAlive(id: LeaseId): Promise<void> {
    this.ensureOpen();
    const state = this.leases.get(id);
    if (state === undefined) throw leaseLost(id);
    clearTimeout(state.timer);
    state.timer = this.expiryTimer(id, state.ttlSeconds);
  }

  /** @internal Used by `MemoryLease`. Revoking an unknown lease is a no-op (idempotent). */
  async revokeLease(id: LeaseId): Promise<void> {
    this.ensureOpen();
    this.dropLease(id);
  }

  private expiryTimer(id: LeaseId, ttlSeconds: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      if (!this.closed) this.dropLease(id);
    }, ttlSeconds * 1000);
    // A forgotten lease must not keep the test process (or a CLI) alive.
    timer.unref();
    return timer;
  }

  /** Remove a lease and delete its keys in one revision, sorted by key, like etcd's lessor. */
  private dropLease(id: LeaseId): void {
    const state = this.leases.get(id);
    if (state === undefined) return;
    clearTimeout(state.timer);
    this.leases.delete(id);
    const keys = [...state.keys].sort(compareBytes);
    this.applyWrites(keys.map((key): TxnOp => ({ type: 'delete', key })));
  }

  private ensureOpen(): void {
    if (this.closed) throw closedError();
  }

  private keysWithPrefix(prefix: string): string[] {
    // A prefix of a well-formed string is a prefix of its UTF-8 bytes, so startsWith matches
    // etcd's byte-range [prefix, prefix+1).
    return [...this.data.keys()].filter((key) => key.startsWith(prefix)).sort(compareBytes);
  }

  private checkLeases(ops: readonly TxnOp[]): void {
    for (const op of ops) {
      if (op.type === 'put' && op.lease !== undefined && !this.leases.has(op.lease)) {
        throw leaseLost(op.lease);
      }
    }
  }

  private holds(compare: Compare): boolean {
    const entry = this.data.get(compare.key);
    let order: number;
    if (compare.target === 'value') {
      // etcd: a value compare on a missing key is always false, whatever the operator, since
      // gRPC cannot tell a missing value from an empty one.
      if (entry === undefined) return false;
      order = compareBytes(entry.value, compare.value as string);
    } else {
      // A missing key has 0 for every revision and for its version.
      const actual = entry === undefined ? 0 : entry[compare.target];
      order = Math.sign(actual - (compare.value as number));
    }
    switch (compare.op) {
      case '==':
        return order === 0;
      case '!=':
        return order !== 0;
      case '<':
        return order < 0;
      case '>':
        return order > 0;
    }
  }

  /**
   * Apply writes atomically at one new revision. Nothing changes (and the revision stays) when
   * every op is a delete that removes nothing, as in etcd.
   */
  private applyWrites(ops: readonly TxnOp[]): void {
    const revision = this.revision + 1;
    const events: WatchEvent[] = [];
    const remove = (key: string): void => {
      const entry = this.data.get(key);
      if (entry === undefined) return;
      this.data.delete(key);
      if (entry.lease !== undefined) this.leases.get(entry.lease)?.keys.delete(key);
      events.push({
        type: 'delete',
        kv: { key, value: '', createRevision: 0, modRevision: revision, version: 0 },
      });
    };
    for (const op of ops) {
      switch (op.type) {
        case 'put': {
          const previous = this.data.get(op.key);
          // A put moves the key to its new lease (or to none), as etcd detaches the old one.
          if (previous?.lease !== undefined) this.leases.get(previous.lease)?.keys.delete(op.key);
          if (op.lease !== undefined) this.leases.get(op.lease)?.keys.add(op.key);
          const entry: Entry = {
            value: op.value,
            createRevision: previous?.createRevision ?? revision,
            modRevision: revision,
            version: (previous?.version ?? 0) + 1,
            lease: op.lease,
          };
          this.data.set(op.key, entry);
          events.push({ type: 'put', kv: toKeyValue(op.key, entry) });
          break;
        }
        case 'delete':
          remove(op.key);
          break;
        case 'deletePrefix':
          for (const key of this.keysWithPrefix(op.prefix)) remove(key);
          break;
      }
    }
    if (events.length === 0) return;
    this.revision = revision;
    this.history.push(...events);
    for (const watch of this.watches) {
      watch.enqueue(events.filter((e) => e.kv.key.startsWith(watch.prefix)));
    }
  }
}

function toKeyValue(key: string, entry: Entry): KeyValue {
  const kv: KeyValue = {
    key,
    value: entry.value,
    createRevision: entry.createRevision,
    modRevision: entry.modRevision,
    version: entry.version,
  };
  if (entry.lease !== undefined) kv.lease = entry.lease;
  return kv;
}

function validateCompare(compare: Compare): void {
  requireKey(compare.key);
  const wanted = compare.target === 'value' ? 'string' : 'number';
  if (typeof compare.value !== wanted) {
    throw new ValidationError(
      `a keystore compare on ${compare.target} needs a ${wanted}, got ${typeof compare.value}`,
    );
  }
}

/**
 * Reject what etcd rejects before applying anything: empty keys, a key put twice, a put of a
 * key the same branch deletes ("duplicate key given in txn request"), and oversized requests.
 */
function validateOps(ops: readonly TxnOp[]): void {
  const puts = new Set<string>();
  const deletedKeys = new Set<string>();
  const deletedPrefixes: string[] = [];
  let bytes = 0;
  for (const op of ops) {
    if (op.type === 'delete') {
      requireKey(op.key);
      deletedKeys.add(op.key);
      bytes += utf8Length(op.key);
    } else if (op.type === 'deletePrefix') {
      deletedPrefixes.push(op.prefix);
      bytes += utf8Length(op.prefix);
    }
  }
  for (const op of ops) {
    if (op.type !== 'put') continue;
    requireKey(op.key);
    if (
      puts.has(op.key) ||
      deletedKeys.has(op.key) ||
      deletedPrefixes.some((p) => op.key.startsWith(p))
    ) {
      throw new ValidationError(`a keystore transaction writes ${op.key} more than once`, {
        detail: 'etcdserver: duplicate key given in txn request',
      });
    }
    puts.add(op.key);
    bytes += utf8Length(op.key) + utf8Length(op.value);
  }
  if (bytes > MAX_REQUEST_BYTES) {
    throw new ValidationError(`a keystore write of ${bytes} bytes exceeds the 1.5 MiB limit`, {
      detail: 'etcdserver: request is too large',
    });
  }
}
