/**
 * The Keystore: the only way the rest of the system talks to its state store.
 *
 * It is deliberately small and etcd-shaped (revisions, compare-and-swap transactions, prefix
 * watches, leases) so that the etcd implementation is a thin adapter and the in-memory one can
 * reproduce the same semantics exactly. Both pass one conformance suite
 * (`test/support/keystore-conformance.ts`).
 *
 * Keys and values are UTF-8 strings. Revisions are the store-wide, strictly increasing
 * modification counter: every successful write (put, delete that removed something,
 * successful transaction with writes) yields a new revision.
 */

/** One stored key with its metadata. */
export interface KeyValue {
  key: string;
  value: string;
  /** Revision at which the key was created (since its last deletion). */
  createRevision: number;
  /** Revision of the last write to the key. */
  modRevision: number;
  /** Number of writes since creation (1 after the first put). */
  version: number;
  /** The lease the key is attached to, if any. */
  lease?: LeaseId;
}

/** A lease id, as a decimal string (etcd ids are 64-bit). */
export type LeaseId = string;

/** The result of a prefix read: all keys, sorted by key, at one revision. */
export interface RangeResult {
  kvs: KeyValue[];
  /** The store revision at which the read was served. */
  revision: number;
}

/** What a transaction compares. A missing key has createRevision/modRevision/version 0. */
export type CompareTarget = 'createRevision' | 'modRevision' | 'version' | 'value';

export type CompareOp = '==' | '!=' | '<' | '>';

/** One condition of a transaction. */
export interface Compare {
  key: string;
  target: CompareTarget;
  op: CompareOp;
  /** A number for the revision/version targets, a string for `value`. */
  value: number | string;
}

/** One write of a transaction. */
export type TxnOp =
  | { type: 'put'; key: string; value: string; lease?: LeaseId }
  | { type: 'delete'; key: string }
  | { type: 'deletePrefix'; prefix: string };

export interface TxnResult {
  /** True if every compare held and the success ops were applied. */
  succeeded: boolean;
  /** The store revision after the transaction. */
  revision: number;
}

/** A change seen by a watch. */
export interface WatchEvent {
  type: 'put' | 'delete';
  /** For a delete: the key, empty value, and the deletion's revision as modRevision. */
  kv: KeyValue;
}

export interface WatchOptions {
  /** Deliver events from this revision on (inclusive). Default: only changes after the call. */
  fromRevision?: number;
}

/** A live watch. Events are delivered in revision order, each exactly once. */
export interface Watch {
  /** Stop delivering events. Idempotent. */
  close(): Promise<void>;
}

export type WatchListener = (event: WatchEvent) => void;

/** A granted lease. Keys put with its id vanish when it expires or is revoked. */
export interface Lease {
  readonly id: LeaseId;
  readonly ttlSeconds: number;
  /**
   * Refresh the lease once. Rejects with `LeaseLostError` if it has already expired or been
   * revoked: its keys are gone and the holder must start over.
   */
  keepAliveOnce(): Promise<void>;
  /** Revoke the lease now, deleting its keys. Idempotent. */
  revoke(): Promise<void>;
}

export interface PutOptions {
  lease?: LeaseId;
}

/** One range of a snapshot read: every key starting with `prefix`. */
export interface RangeSpec {
  prefix: string;
  /**
   * Only the keys, in `SnapshotResult.keys`: no values, revisions or leases. What a check of
   * which keys exist needs (the liveness keys of `pools`), and much less to decode than whole
   * key-values. Default false.
   */
  keysOnly?: boolean;
  /** Only the number of keys (in `SnapshotResult.counts`); no keys come back. Default false. */
  countOnly?: boolean;
}

/** The result of a snapshot read: one sorted list per requested range, all at one revision. */
export interface SnapshotResult {
  /** The key-values of each range; empty for a `keysOnly` or `countOnly` range. */
  ranges: KeyValue[][];
  /** The keys of each `keysOnly` range, sorted; empty for the other ranges. */
  keys: string[][];
  /** The number of keys in each range. */
  counts: number[];
  /** The store revision at which every range was read. */
  revision: number;
}

/** What `txnAndSnapshot` answers: its snapshot, and whether the compares held. */
export interface TxnSnapshotResult extends SnapshotResult {
  /** True if every compare held and the writes were applied. */
  succeeded: boolean;
}

/**
 * Reading only: what the read-only Slurm calls (`pools`, `show_sessions`, ...) need. Every
 * method rejects with a `DacError` subclass on failure (`StoreUnavailableError` when the store
 * cannot be reached in time). `close()` is idempotent.
 */
export interface KeyReader {
  /** Read one key, or `undefined` if it does not exist. */
  get(key: string): Promise<KeyValue | undefined>;
  /** Read every key starting with `prefix`, sorted by key, in one consistent snapshot. */
  range(prefix: string): Promise<RangeResult>;
  /**
   * Read several ranges in one request (on etcd: one transaction of range operations), all at
   * the same revision: the read-only Slurm calls answer from one etcd request.
   */
  snapshot(ranges: readonly RangeSpec[]): Promise<SnapshotResult>;
  /** Release connections and timers. The reader is unusable afterwards. */
  close(): Promise<void>;
}

/**
 * The state store. Every method rejects with a `DacError` subclass on failure:
 * `StoreUnavailableError` when the store cannot be reached in time or is closed,
 * `LeaseLostError` when a lease named in a write (or kept alive) no longer exists, and
 * `ValidationError` for a request etcd would refuse (empty key, a key written twice in one
 * transaction, more than 128 ops). `close()` is idempotent.
 */
export interface Keystore extends KeyReader {
  /** Write a key; resolves with the new store revision. */
  put(key: string, value: string, options?: PutOptions): Promise<number>;
  /** Delete a key; resolves true if it existed. */
  delete(key: string): Promise<boolean>;
  /**
   * Atomically: if every compare holds, apply `onSuccess`, else apply `onFailure`.
   * This is the only way to do a safe read-modify-write.
   */
  txn(compares: Compare[], onSuccess: TxnOp[], onFailure?: TxnOp[]): Promise<TxnResult>;
  /**
   * One transaction: if every compare holds, apply `onSuccess`; then, either way, read `ranges`
   * (as `snapshot` reads them) at the transaction's revision. When it succeeded the reads see
   * its writes and `revision` is theirs; when a compare failed nothing is written and the reads
   * show what it failed on. In one request: a write that needs a unique number (its revision)
   * and a consistent read; a write followed by a watch from its revision of keys it read; a
   * retry after a conflict without another read.
   */
  txnAndSnapshot(
    compares: Compare[],
    onSuccess: TxnOp[],
    ranges: readonly RangeSpec[],
  ): Promise<TxnSnapshotResult>;
  /** Watch every key starting with `prefix`. Resolves once the watch is established. */
  watchPrefix(prefix: string, listener: WatchListener, options?: WatchOptions): Promise<Watch>;
  /** Grant a lease with the given time-to-live in whole seconds. */
  grantLease(ttlSeconds: number): Promise<Lease>;
}
