/**
 * The Keystore of every program (the CLI and dacd): etcd's gRPC API over `node:http2` with the
 * codec of protobuf.ts, so that none loads `etcd3` and grpc-js (100-145 ms and 23 MiB a
 * process). Same settings, TLS files, deadline, failover and error messages as `EtcdKeystore`,
 * which the tests use as an independent client; both pass the conformance suite. README.md says
 * what it implements and its limits.
 */
import type { EtcdConfig } from '../../config/etcd-config';
import { LeaseLostError, ValidationError } from '../../errors/errors';
import { prefixEnd } from '../key-range';
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
  WatchListener,
  WatchOptions,
} from '../keystore';
import { checkSnapshotRanges, checkTxnSize } from '../txn-limits';
import type { Channel } from './channel';
import { EtcdHttp2Client, type ClientOptions } from './client';
import {
  decodeDeleteRangeResponse,
  decodeLeaseResponse,
  decodePutResponse,
  decodeRangeResponse,
  decodeTxnResponse,
  encodeDeleteRangeRequest,
  encodeLeaseGrantRequest,
  encodeLeaseIdRequest,
  encodePutRequest,
  encodeRangeRequest,
  encodeTxnRequest,
  rangesOf,
  type CompareFields,
  type DecodedRange,
  type RequestOpFields,
} from './protobuf';
import { PrefixWatch } from './watch';

/** The gRPC methods, by their paths. */
const RANGE = '/etcdserverpb.KV/Range';
const PUT = '/etcdserverpb.KV/Put';
const DELETE_RANGE = '/etcdserverpb.KV/DeleteRange';
/** The method of `snapshot`'s request (and of every transaction). */
export const TXN = '/etcdserverpb.KV/Txn';
const LEASE_GRANT = '/etcdserverpb.Lease/LeaseGrant';
const LEASE_REVOKE = '/etcdserverpb.Lease/LeaseRevoke';
/** A stream method; one request and its one answer, then the end, is a valid use of it. */
const LEASE_KEEPALIVE = '/etcdserverpb.Lease/LeaseKeepAlive';

const TARGETS = {
  createRevision: 'create',
  modRevision: 'mod',
  version: 'version',
  value: 'value',
} as const;
const RESULTS = { '==': 'equal', '!=': 'notEqual', '<': 'less', '>': 'greater' } as const;

/** The `TxnRequest` of a snapshot: one range read per spec, in order, with no compares. */
export function encodeSnapshotRequest(ranges: readonly RangeSpec[]): Buffer {
  return encodeTxnRequest({ success: ranges.map(rangeOp) });
}

function rangeOp(range: RangeSpec): RequestOpFields {
  return {
    range: {
      key: range.prefix,
      rangeEnd: prefixEnd(range.prefix),
      keysOnly: range.keysOnly === true,
      countOnly: range.countOnly === true,
    },
  };
}

function toCompare(compare: Compare): CompareFields {
  return {
    key: compare.key,
    target: TARGETS[compare.target],
    result: RESULTS[compare.op],
    value: compare.value,
  };
}

function toRequestOp(op: TxnOp): RequestOpFields {
  switch (op.type) {
    case 'put':
      return { put: { key: op.key, value: op.value, ...(op.lease ? { lease: op.lease } : {}) } };
    case 'delete':
      return { deleteRange: { key: op.key } };
    case 'deletePrefix':
      return { deleteRange: { key: op.prefix, rangeEnd: prefixEnd(op.prefix) } };
  }
}

/** A snapshot's answer from the range responses `ranges` of a transaction at `revision`. */
function snapshotOf(
  specs: readonly RangeSpec[],
  ranges: DecodedRange[],
  revision: number,
): SnapshotResult {
  if (ranges.length !== specs.length) {
    throw new Error(`the transaction answered ${ranges.length} of ${specs.length} ranges`);
  }
  return {
    ranges: ranges.map((range) => range.kvs),
    keys: ranges.map((range) => range.keys),
    counts: ranges.map((range) => range.count),
    revision,
  };
}

/** What every view of one process's keystore shares. */
interface Shared {
  client: EtcdHttp2Client;
  /** Snapshots started by `prefetchSnapshot`, by their request bytes, until taken. */
  prefetched: Map<string, Promise<SnapshotResult>>;
  watches: Set<PrefixWatch>;
}

/** A Keystore on etcd for the CLI. Construct one per process and `close()` it when done. */
export class Http2EtcdKeystore implements Keystore {
  private readonly shared: Shared;

  /** `config`: the settings, whose deadline applies to each call as a whole. */
  constructor(
    readonly config: EtcdConfig,
    options: ClientOptions = {},
    shared?: Shared,
  ) {
    this.shared = shared ?? {
      client: new EtcdHttp2Client(config, options),
      prefetched: new Map(),
      watches: new Set(),
    };
  }

  /**
   * This keystore with another deadline per call, on the same connections: the calls that run
   * inside slurmctld cap it, the rest of the process does not. Closing either closes both.
   */
  withTimeout(timeoutMs: number): Http2EtcdKeystore {
    return new Http2EtcdKeystore({ ...this.config, timeoutMs }, {}, this.shared);
  }

  private get client(): EtcdHttp2Client {
    return this.shared.client;
  }

  /** One unary call of `path` with failover, `decode` run on each endpoint's answer. */
  private unary<T>(
    what: string,
    path: string,
    message: Buffer,
    decode: (answer: Buffer) => T,
    sent?: (channel: Channel, promise: Promise<void>) => void,
  ): Promise<T> {
    return this.client.call(what, this.config.timeoutMs, async (channel, timeoutMs) =>
      decode(
        await channel.unary(
          path,
          message,
          timeoutMs,
          sent && ((promise) => sent(channel, promise)),
        ),
      ),
    );
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const message = encodeRangeRequest({ key });
    return this.unary(`get ${key}`, RANGE, message, (answer) => decodeRangeResponse(answer).kvs[0]);
  }

  async range(prefix: string): Promise<RangeResult> {
    const message = encodeRangeRequest({ key: prefix, rangeEnd: prefixEnd(prefix) });
    return this.unary(`range ${prefix}`, RANGE, message, (answer) => {
      const { kvs, revision } = decodeRangeResponse(answer);
      return { kvs, revision };
    });
  }

  /**
   * Read several prefixes in one transaction, so all of them at one revision. If the same
   * snapshot was started by `prefetchSnapshot` and not yet taken, this is its answer.
   */
  async snapshot(ranges: readonly RangeSpec[]): Promise<SnapshotResult> {
    checkSnapshotRanges(ranges);
    const request = encodeSnapshotRequest(ranges);
    const id = request.toString('latin1');
    const early = this.shared.prefetched.get(id);
    if (early) {
      this.shared.prefetched.delete(id);
      return early;
    }
    return this.readSnapshot(ranges, request);
  }

  /**
   * Start reading a snapshot now for a `snapshot` of the same ranges later, which then takes
   * its answer (once) instead of asking again. Returns a promise that settles when the request
   * is on its way to the first endpoint, or could not be sent; a failure of the read itself is
   * the later `snapshot`'s to report.
   */
  prefetchSnapshot(ranges: readonly RangeSpec[]): Promise<void> {
    checkSnapshotRanges(ranges);
    const request = encodeSnapshotRequest(ranges);
    let sent: Promise<void> | undefined;
    const answer = this.readSnapshot(ranges, request, (promise) => (sent ??= promise));
    // Marked as handled: the call that takes it sees the rejection, and one that never comes
    // (the command line turned out to be wrong) must not end the process on it.
    answer.catch(() => undefined);
    this.shared.prefetched.set(request.toString('latin1'), answer);
    // The first try starts synchronously; if it could not even start, nothing is on its way.
    return sent ?? Promise.resolve();
  }

  private readSnapshot(
    ranges: readonly RangeSpec[],
    request: Buffer,
    sent?: (promise: Promise<void>) => void,
  ): Promise<SnapshotResult> {
    const keysOnly = ranges.map((range) => range.keysOnly === true);
    return this.unary(
      `snapshot ${ranges.map((range) => range.prefix).join(',')}`,
      TXN,
      request,
      (answer) => {
        const txn = decodeTxnResponse(answer, keysOnly);
        return snapshotOf(ranges, rangesOf(txn), txn.revision);
      },
      sent && ((_channel, promise) => sent(promise)),
    );
  }

  /**
   * A transaction whose branches both end by reading `ranges`: the success branch after its
   * writes (so the reads see them), the failure branch with nothing else.
   */
  async txnAndSnapshot(
    compares: Compare[],
    onSuccess: TxnOp[],
    ranges: readonly RangeSpec[],
  ): Promise<TxnSnapshotResult> {
    checkSnapshotRanges(ranges);
    checkTxnSize(compares.length, onSuccess.length + ranges.length, ranges.length);
    const reads = ranges.map(rangeOp);
    const request = encodeTxnRequest({
      compare: compares.map(toCompare),
      success: [...onSuccess.map(toRequestOp), ...reads],
      failure: reads,
    });
    const keysOnly = ranges.map((range) => range.keysOnly === true);
    const what = `txn on ${compares.map((c) => c.key).join(',')} and snapshot`;
    return this.unary(what, TXN, request, (answer) => {
      const txn = decodeTxnResponse(answer, (succeeded) =>
        succeeded ? [...onSuccess.map(() => false), ...keysOnly] : keysOnly,
      );
      const written = txn.succeeded ? onSuccess.length : 0;
      const responses = txn.responses.slice(written);
      if (txn.responses.slice(0, written).some((op) => 'range' in op)) {
        throw new Error('the transaction answered a write with a range');
      }
      return {
        ...snapshotOf(ranges, rangesOf({ ...txn, responses }), txn.revision),
        succeeded: txn.succeeded,
      };
    });
  }

  async put(key: string, value: string, options?: PutOptions): Promise<number> {
    const message = encodePutRequest({
      key,
      value,
      ...(options?.lease !== undefined ? { lease: options.lease } : {}),
    });
    return this.unary(`put ${key}`, PUT, message, (answer) => decodePutResponse(answer).revision);
  }

  async delete(key: string): Promise<boolean> {
    const message = encodeDeleteRangeRequest({ key });
    return this.unary(
      `delete ${key}`,
      DELETE_RANGE,
      message,
      (answer) => decodeDeleteRangeResponse(answer).deleted > 0,
    );
  }

  async txn(compares: Compare[], onSuccess: TxnOp[], onFailure: TxnOp[] = []): Promise<TxnResult> {
    checkTxnSize(compares.length, onSuccess.length, onFailure.length);
    const message = encodeTxnRequest({
      compare: compares.map(toCompare),
      success: onSuccess.map(toRequestOp),
      failure: onFailure.map(toRequestOp),
    });
    return this.unary(`txn on ${compares.map((c) => c.key).join(',')}`, TXN, message, (answer) => {
      const { succeeded, revision } = decodeTxnResponse(answer);
      return { succeeded, revision };
    });
  }

  async watchPrefix(
    prefix: string,
    listener: WatchListener,
    options?: WatchOptions,
  ): Promise<Watch> {
    const watches = this.shared.watches;
    const watch = new PrefixWatch(this.client, prefix, listener, options?.fromRevision, (w) =>
      watches.delete(w),
    );
    watches.add(watch);
    try {
      await watch.start(this.config.timeoutMs);
    } catch (error) {
      await watch.close();
      throw error;
    }
    return watch;
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    const message = encodeLeaseGrantRequest(ttlSeconds);
    const granted = await this.unary(
      `grant lease ttl=${ttlSeconds}`,
      LEASE_GRANT,
      message,
      decodeLeaseResponse,
    );
    if (granted.error) throw new ValidationError(`etcd refused the lease: ${granted.error}`);
    return new Http2Lease(this, granted.id, ttlSeconds);
  }

  /** @internal one keepalive round trip; resolves with the remaining TTL (≤ 0: expired). */
  async keepAliveOnce(id: LeaseId): Promise<number> {
    const message = encodeLeaseIdRequest(id);
    return this.unary(
      `keepalive lease ${id}`,
      LEASE_KEEPALIVE,
      message,
      (answer) => decodeLeaseResponse(answer).ttl,
    );
  }

  /** @internal */
  async revokeLease(id: LeaseId): Promise<void> {
    try {
      await this.unary(
        `revoke lease ${id}`,
        LEASE_REVOKE,
        encodeLeaseIdRequest(id),
        () => undefined,
      );
    } catch (error) {
      if (error instanceof LeaseLostError) return; // already gone: revoke is idempotent
      throw error;
    }
  }

  /** Close every watch and connection; calls afterwards reject. Idempotent. */
  async close(): Promise<void> {
    this.shared.prefetched.clear();
    await Promise.all([...this.shared.watches].map((watch) => watch.close()));
    await this.client.close();
  }
}

class Http2Lease implements Lease {
  constructor(
    private readonly store: Http2EtcdKeystore,
    readonly id: LeaseId,
    readonly ttlSeconds: number,
  ) {}

  async keepAliveOnce(): Promise<void> {
    const ttl = await this.store.keepAliveOnce(this.id);
    if (ttl <= 0) throw new LeaseLostError(`etcd lease ${this.id} has expired`);
  }

  revoke(): Promise<void> {
    return this.store.revokeLease(this.id);
  }
}
