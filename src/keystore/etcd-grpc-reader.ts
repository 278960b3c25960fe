/**
 * Reads etcd over its gRPC API with a small HTTP/2 client (`h2-connection.ts`) and a small
 * protobuf codec: no gRPC client to load. Loading `etcd3` costs about 140 ms
 * (docs/performance.md), nearly twice a whole `pools` call, and `pools`/`show_*` run every
 * 30 s; they only ever read, and each answers from one request (`snapshot`: one transaction of range reads).
 * etcd's JSON gateway would also avoid the client, but it spends three times as long encoding
 * megabytes of base64 JSON.
 *
 * Same settings, TLS files, deadline and error messages as `EtcdKeystore`; endpoints are tried
 * in order within one overall deadline until one answers.
 */
import type { EtcdConfig } from '../config/etcd-config';
import { StoreUnavailableError, ValidationError } from '../errors/errors';
import { reachFailure, refusedMessage, unreachableError } from './etcd-connection';
import {
  decodeRangeResponse,
  decodeTxnResponse,
  encodeRangeRequest,
  encodeTxnRequest,
} from './etcd-protobuf';
import { GrpcStatusError, grpcUnaryCall } from './grpc-unary';
import { connectH2, type H2Connection } from './h2-connection';
import { prefixEnd } from './key-range';
import { startOwnTimeDeadline } from './own-time-deadline';
import type { KeyReader, KeyValue, RangeResult, RangeSpec, SnapshotResult } from './keystore';
import { readTlsMaterial, type TlsMaterial } from './tls-files';
import { checkSnapshotRanges } from './txn-limits';

const RANGE = '/etcdserverpb.KV/Range';
/** The gRPC method of `snapshot`'s request. */
export const TXN = '/etcdserverpb.KV/Txn';

/** The shortest try of one endpoint when there are several. */
const MIN_TRY_MS = 1000;
/** The pause before another round of the endpoints. */
const ROUND_PAUSE_MS = 100;

/** gRPC's status for a request etcd refuses as malformed (a missing key, too large, ...). */
const GRPC_INVALID_ARGUMENT = 3;

/** The `TxnRequest` of a snapshot: one range read per spec, in order, with no compares. */
export function encodeSnapshotRequest(ranges: readonly RangeSpec[]): Buffer {
  return encodeTxnRequest(
    ranges.map((range) => ({
      key: Buffer.from(range.prefix),
      rangeEnd: prefixEnd(range.prefix),
      keysOnly: range.keysOnly === true,
      countOnly: range.countOnly === true,
    })),
  );
}

/** An HTTP/2 connection to one endpoint, with the calls it is carrying. */
interface Connection {
  session: Promise<H2Connection>;
  inFlight: number;
  /** Set once `session` has resolved. */
  opened?: H2Connection;
}

/** A read-only view of etcd over gRPC. */
export class EtcdGrpcReader implements KeyReader {
  private readonly tls: TlsMaterial | undefined;
  /** Open connections by endpoint; opened on first use, since most processes read once. */
  private readonly connections = new Map<string, Connection>();
  /** Snapshots started by `prefetchSnapshot`, by their request bytes, until taken. */
  private readonly prefetched = new Map<string, Promise<SnapshotResult>>();
  private closed = false;

  /** `config`: the settings, whose deadline applies to each call as a whole. */
  constructor(readonly config: EtcdConfig) {
    this.tls = readTlsMaterial(config);
  }

  /** Read one key, or undefined if it does not exist. */
  async get(key: string): Promise<KeyValue | undefined> {
    const message = encodeRangeRequest({ key: Buffer.from(key) });
    return this.call(RANGE, message, (answer) => decodeRangeResponse(answer).kvs[0]);
  }

  /** Read every key starting with `prefix`, sorted by key, at one revision. */
  async range(prefix: string): Promise<RangeResult> {
    const message = encodeRangeRequest({ key: Buffer.from(prefix), rangeEnd: prefixEnd(prefix) });
    return this.call(RANGE, message, (answer) => {
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
    const early = this.prefetched.get(id);
    if (early) {
      this.prefetched.delete(id);
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
    const answer = this.readSnapshot(ranges, request);
    // Marked as handled: the call that takes it sees the rejection, and one that never comes
    // (the command line turned out to be wrong) must not end the process on it.
    answer.catch(() => undefined);
    this.prefetched.set(request.toString('latin1'), answer);
    const first = this.connections.get(this.config.endpoints[0] ?? '');
    if (!first) return Promise.resolve();
    return first.session.then(
      (session) => session.whenSent(),
      () => undefined,
    );
  }

  private async readSnapshot(
    ranges: readonly RangeSpec[],
    request: Buffer,
  ): Promise<SnapshotResult> {
    const keysOnly = ranges.map((range) => range.keysOnly === true);
    return this.call(TXN, request, (answer) => {
      const txn = decodeTxnResponse(answer, keysOnly);
      if (!txn.succeeded || txn.ranges.length !== ranges.length) {
        throw new Error(`the transaction answered ${txn.ranges.length} of ${ranges.length} ranges`);
      }
      return {
        ranges: txn.ranges.map((range) => range.kvs),
        keys: txn.ranges.map((range) => range.keys),
        counts: txn.ranges.map((range) => range.count),
        revision: txn.revision,
      };
    });
  }

  /** Close every connection; reads afterwards reject. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.prefetched.clear();
    const connections = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(
      connections.map(async ({ session: opening, inFlight }) => {
        const session = await opening.catch(() => undefined);
        if (!session) return;
        // An idle connection is unreferenced: waiting for a graceful close would let the
        // process exit in the middle of `await close()`. Nothing is lost by ending it at once.
        if (inFlight === 0) session.destroy();
        // Calls in flight finish first; they keep the connection referenced until then.
        else await session.close();
      }),
    );
  }

  /**
   * Send one request to each endpoint in turn within one overall deadline, decoding the answer
   * there too: an endpoint whose answer cannot be decoded has failed like one that is down.
   */
  private async call<T>(path: string, message: Buffer, decode: (answer: Buffer) => T): Promise<T> {
    if (this.closed) throw new StoreUnavailableError('etcd reader is closed');
    const count = this.config.endpoints.length;
    // One endpoint may take a share of the deadline (at least 1 s), so that a member whose
    // machine is gone (connections hang) leaves time for the others.
    const shareMs = count > 1 ? Math.max(MIN_TRY_MS, this.config.timeoutMs / count) : Infinity;
    const budget = startOwnTimeDeadline(this.config.timeoutMs, () => undefined);
    // The last failure of each endpoint tried, in the order of the settings.
    const failures: unknown[] = [];
    try {
      for (;;) {
        for (const [index, endpoint] of this.config.endpoints.entries()) {
          const remaining = budget.remainingMs();
          if (remaining <= 0) break;
          try {
            return decode(await this.send(endpoint, path, message, Math.min(remaining, shareMs)));
          } catch (error) {
            // etcd answered and refused the request itself: every member would.
            if (error instanceof GrpcStatusError && error.status === GRPC_INVALID_ARGUMENT) {
              throw new ValidationError(refusedMessage(error.grpcMessage), { detail: endpoint });
            }
            failures[index] = error;
          }
        }
        // Every member refused the connection (or is unknown): nothing to wait for. Otherwise
        // one may serve a moment later (it had no leader yet): another round, while time is left.
        const reachable = failures.some((error) => reachFailure(error) === undefined);
        if (count === 1 || !reachable || budget.remainingMs() <= ROUND_PAUSE_MS) break;
        await new Promise((resolve) => setTimeout(resolve, ROUND_PAUSE_MS));
      }
    } finally {
      budget.cancel();
    }
    const endpoints = this.config.endpoints;
    throw await unreachableError(this.config, this.tls, failures, {
      detail: failures.map((e, i) => `${endpoints[i]}: ${(e as Error).message}`).join('; '),
    });
  }

  private async send(
    endpoint: string,
    path: string,
    message: Buffer,
    timeoutMs: number,
  ): Promise<Buffer> {
    const connection = this.connection(endpoint);
    // Keep the process alive only while a call is waiting for its answer: an idle connection
    // must never delay the exit of a CLI that has printed its result.
    connection.inFlight += 1;
    let session: H2Connection | undefined;
    try {
      session = await connection.session;
      session.ref();
      return await grpcUnaryCall(session, path, message, timeoutMs);
    } catch (error) {
      // A gRPC status is an answer: the connection is fine. Anything else (refused, reset,
      // silent) means the next call must start afresh.
      if (!(error instanceof GrpcStatusError)) this.drop(endpoint, connection, session);
      throw error;
    } finally {
      connection.inFlight -= 1;
      if (connection.inFlight === 0) session?.unref();
    }
  }

  /** The open connection to `endpoint`, or a new one. */
  private connection(endpoint: string): Connection {
    const existing = this.connections.get(endpoint);
    // A connection that failed a call has been dropped from the map; one the server closed or
    // sent GOAWAY says so itself.
    if (existing && existing.opened?.usable !== false) return existing;
    const url = new URL(endpoint);
    // Without TLS the client speaks HTTP/2 directly (h2c), which etcd's client port accepts
    // for gRPC; with it, it offers ALPN h2.
    const session = connectH2(url, url.protocol === 'https:' ? this.tls : undefined);
    const connection: Connection = { session, inFlight: 0 };
    void session.then(
      (opened) => {
        connection.opened = opened;
        opened.unref();
      },
      () => this.drop(endpoint, connection, undefined),
    );
    this.connections.set(endpoint, connection);
    return connection;
  }

  /** Forget a connection (if it is still the current one), destroying it if given. */
  private drop(endpoint: string, connection: Connection, session: H2Connection | undefined): void {
    if (this.connections.get(endpoint) === connection) this.connections.delete(endpoint);
    session?.destroy();
  }
}
