/**
 * The Keystore on a real etcd (v3 API), through the `etcd3` package's gRPC client. No program
 * uses it (they use `Http2EtcdKeystore`, decision 0003): the tests and benchmarks do, as an
 * independent client, and it passes the same conformance suite.
 *
 * The package's defaults (30 s dial, three retries, circuit breakers) suit a long-lived
 * service, not a CLI inside a 5 s Slurm budget: every request here has our own deadline
 * (`EtcdConfig.timeoutMs`, default 3 s) and an unreachable etcd fails with one message that
 * names the endpoints.
 */
import {
  Etcd3,
  GRPCDeadlineExceededError,
  GRPCInvalidArgumentError,
  GRPCResourceExhastedError,
  isRecoverableError,
  type IKeyValue,
  type Watcher,
} from 'etcd3';
import {
  handleWhen,
  noop,
  retry,
  ConstantBackoff,
  ExponentialBackoff,
  type IPolicy,
} from 'cockatiel';
import type { EtcdConfig } from '../config/etcd-config';
import { refusedMessage, unavailableMessage, unreachableError } from './etcd-connection';
import { tlsFailure } from './tls-failure';
import { readTlsMaterial, type TlsMaterial } from './tls-files';
import { prefixEnd } from './key-range';
import { startOwnTimeDeadline, type OwnTimeDeadline } from './own-time-deadline';
import { checkSnapshotRanges, checkTxnSize } from './txn-limits';
import {
  DacError,
  DeadlineError,
  LeaseLostError,
  StoreUnavailableError,
  ValidationError,
} from '../errors/errors';
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
} from './keystore';

type Rpc = Etcd3['kv'];
type TxnRequest = Parameters<Rpc['txn']>[0];
type RequestOp = NonNullable<TxnRequest['success']>[number];
type RpcCompare = NonNullable<TxnRequest['compare']>[number];

const TARGETS = {
  createRevision: 'Create',
  modRevision: 'Mod',
  version: 'Version',
  value: 'Value',
} as const;
const FIELDS = {
  createRevision: 'create_revision',
  modRevision: 'mod_revision',
  version: 'version',
  value: 'value',
} as const;
const RESULTS = { '==': 'Equal', '!=': 'NotEqual', '<': 'Less', '>': 'Greater' } as const;

/** The shortest try of a keepalive when there are several endpoints to try. */
const KEEPALIVE_MIN_TRY_MS = 500;
/** The pause before another try of a keepalive when one failed. */
const KEEPALIVE_PAUSE_MS = 50;
/** How long a keepalive try runs alone before another one joins it. */
const KEEPALIVE_HEDGE_MS = 400;
/** The shortest try of any other request when there are several endpoints to try. */
const MIN_TRY_MS = 1000;
/** The pause before a request is tried again on a fresh pick of members. */
const RETRY_PAUSE_MS = 100;

function toKeyValue(kv: IKeyValue): KeyValue {
  const lease = String(kv.lease ?? '0');
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
    ...(lease !== '0' ? { lease } : {}),
  };
}

/**
 * A failure another try may not meet: the connection (refused, reset, silent), or etcd unable
 * to serve it now (`no leader`, `leader changed`, `request timed out`, `too many requests`).
 * Not a request etcd refuses for what it is (too large, invalid), nor a TLS failure.
 */
function isRetryable(error: unknown): boolean {
  if (!(error instanceof Error) || !isRecoverableError(error)) return false;
  // The try went to every member in turn (etcd3's retry policy), and TLS settings that fail
  // will fail again: say why now rather than when the deadline passes.
  if (tlsFailure(error)) return false;
  return !(error instanceof GRPCResourceExhastedError) || isTooManyRequests(error);
}

function isTooManyRequests(error: Error): boolean {
  return /too many requests/i.test(error.message);
}

function isLeaseNotFound(error: unknown): boolean {
  return error instanceof Error && /lease not found/i.test(error.message);
}

/** A Keystore backed by etcd. Construct one per process and `close()` it when done. */
export class EtcdKeystore implements Keystore {
  private readonly client: Etcd3;
  private readonly tls: TlsMaterial | undefined;
  private closed = false;

  constructor(private readonly config: EtcdConfig) {
    const tls = readTlsMaterial(config);
    this.tls = tls;
    const credentials = tls
      ? {
          rootCertificate: tls.ca,
          ...(tls.cert ? { certChain: tls.cert } : {}),
          ...(tls.key ? { privateKey: tls.key } : {}),
        }
      : undefined;
    const perTryMs =
      config.endpoints.length > 1
        ? Math.max(MIN_TRY_MS, Math.floor(config.timeoutMs / config.endpoints.length))
        : config.timeoutMs;
    // With several endpoints, a request that fails for a transport reason moves on to the
    // next endpoint; the overall deadline still bounds the whole call.
    const global: IPolicy =
      config.endpoints.length > 1
        ? retry(handleWhen(isRecoverableError), {
            maxAttempts: config.endpoints.length - 1,
            backoff: new ConstantBackoff(0),
          })
        : noop;
    this.client = new Etcd3({
      hosts: config.endpoints,
      ...(credentials ? { credentials } : {}),
      dialTimeout: config.timeoutMs,
      // With several endpoints, one try may take a share of the deadline (at least 1 s): a
      // member whose machine is gone, or a proposal lost with a killed leader, costs one try.
      defaultCallOptions: (context) =>
        context.isStream ? {} : { deadline: Date.now() + perTryMs },
      // A watch stream that broke is opened again (on another endpoint pick) within a second,
      // not after etcd3's default backoff of up to 30 s: a waiting CLI call has a 5 s budget.
      faultHandling: {
        host: () => noop,
        global,
        // etcd3 takes a backoff and asks it for its next step (cockatiel 3 builds from a factory).
        watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }).next(),
      },
      // grpc-js refuses answers over 4 MiB by default; etcd sends any size, and a snapshot of
      // every session of a busy cluster can be bigger than that.
      grpcOptions: { 'grpc.max_receive_message_length': -1 },
    });
  }

  /**
   * Run one request under our deadline and translate failures into DacErrors. The deadline
   * counts this process's own time (see own-time-deadline.ts). With several endpoints, a try
   * that fails for a transport reason, or that etcd could not serve (no leader yet, a
   * proposal lost with the old leader), is made again, on other members, while time is left.
   */
  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError(`etcd client is closed (${what})`);
    let deadline: OwnTimeDeadline | undefined;
    const expired = new Promise<never>((_, reject) => {
      deadline = startOwnTimeDeadline(this.config.timeoutMs, () =>
        reject(new DeadlineError(this.unavailableMessage(), { detail: what })),
      );
    });
    try {
      return await Promise.race([this.tries(run, deadline!), expired]);
    } catch (error) {
      if (error instanceof DacError) {
        if (error instanceof DeadlineError) {
          throw new StoreUnavailableError(error.message, { detail: what, cause: error });
        }
        throw error;
      }
      if (
        error instanceof GRPCInvalidArgumentError ||
        (error instanceof GRPCResourceExhastedError && !isTooManyRequests(error))
      ) {
        // etcd answered, and refused the request itself (e.g. "request is too large", or a
        // message over its gRPC limit): it would refuse it again, so say what etcd said
        // instead of calling it unreachable.
        const said = error.message.replace(/^\d+ [A-Z_]+: /, '');
        throw new ValidationError(refusedMessage(said), {
          detail: what,
          cause: error,
        });
      }
      if (isLeaseNotFound(error)) {
        throw new LeaseLostError('the etcd lease has expired or was revoked', {
          detail: `${what}: ${String(error)}`,
          cause: error,
        });
      }
      // etcd3 reports the last failure of its pool: what it says of one endpoint only, unless
      // it is a TLS failure of our settings or certificates, which every endpoint would share.
      const endpoints = this.config.endpoints;
      const failures =
        endpoints.length === 1 || tlsFailure(error) ? endpoints.map(() => error) : [];
      throw await unreachableError(this.config, this.tls, failures, {
        detail: `${what}: ${String(error)}`,
        cause: error,
      });
    } finally {
      deadline!.cancel();
    }
  }

  /**
   * `run`, and again after a short pause while it fails in a way another try may not. A write
   * may be made twice this way (the first try's answer was lost): every write of ours puts a
   * whole record, deletes, or compares revisions in a transaction, so the second try is
   * harmless or finds its compare failed (and the caller reads again); a lease granted twice
   * leaves one unused, which expires after its TTL.
   */
  private async tries<T>(run: () => Promise<T>, deadline: OwnTimeDeadline): Promise<T> {
    for (;;) {
      try {
        return await run();
      } catch (error) {
        // One endpoint: only a try whose gRPC deadline (wall time) passed before our own-time
        // budget did, as in a process that waited for a core, is worth another.
        const several = this.config.endpoints.length > 1;
        if (
          !(several ? isRetryable(error) : error instanceof GRPCDeadlineExceededError) ||
          deadline.remainingMs() <= RETRY_PAUSE_MS ||
          this.closed
        ) {
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
      }
    }
  }

  private unavailableMessage(): string {
    return unavailableMessage(this.config);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const response = await this.call(`get ${key}`, () =>
      this.client.kv.range({ key: Buffer.from(key) }),
    );
    const kv = response.kvs[0];
    return kv ? toKeyValue(kv) : undefined;
  }

  async range(prefix: string): Promise<RangeResult> {
    const response = await this.call(`range ${prefix}`, () =>
      this.client.kv.range({ key: Buffer.from(prefix), range_end: prefixEnd(prefix) }),
    );
    return { kvs: response.kvs.map(toKeyValue), revision: Number(response.header.revision) };
  }

  async snapshot(ranges: readonly RangeSpec[]): Promise<SnapshotResult> {
    checkSnapshotRanges(ranges);
    // A transaction without compares always runs its success ops, all at one revision.
    const request: TxnRequest = { compare: [], success: ranges.map(toRangeOp) };
    const response = await this.call(
      `snapshot ${ranges.map((range) => range.prefix).join(',')}`,
      () => this.client.kv.txn(request),
    );
    return snapshotOf(ranges, response.responses, Number(response.header.revision));
  }

  async txnAndSnapshot(
    compares: Compare[],
    onSuccess: TxnOp[],
    ranges: readonly RangeSpec[],
  ): Promise<TxnSnapshotResult> {
    checkSnapshotRanges(ranges);
    checkTxnSize(compares.length, onSuccess.length + ranges.length, ranges.length);
    // The ranges follow the writes, so they see them; they are the failure branch too.
    const request: TxnRequest = {
      compare: compares.map(toRpcCompare),
      success: [...onSuccess.map(toRpcOp), ...ranges.map(toRangeOp)],
      failure: ranges.map(toRangeOp),
    };
    const response = await this.call(
      `txn on ${compares.map((c) => c.key).join(',')} and snapshot ${ranges.map((range) => range.prefix).join(',')}`,
      () => this.client.kv.txn(request),
    );
    const reads = response.succeeded
      ? response.responses.slice(onSuccess.length)
      : response.responses;
    return {
      ...snapshotOf(ranges, reads, Number(response.header.revision)),
      succeeded: response.succeeded,
    };
  }

  async put(key: string, value: string, options?: PutOptions): Promise<number> {
    const response = await this.call(`put ${key}`, () =>
      this.client.kv.put({
        key: Buffer.from(key),
        value: Buffer.from(value),
        ...(options?.lease !== undefined ? { lease: options.lease } : {}),
      }),
    );
    return Number(response.header.revision);
  }

  async delete(key: string): Promise<boolean> {
    const response = await this.call(`delete ${key}`, () =>
      this.client.kv.deleteRange({ key: Buffer.from(key) }),
    );
    return Number(response.deleted) > 0;
  }

  async txn(compares: Compare[], onSuccess: TxnOp[], onFailure: TxnOp[] = []): Promise<TxnResult> {
    checkTxnSize(compares.length, onSuccess.length, onFailure.length);
    const request: TxnRequest = {
      compare: compares.map(toRpcCompare),
      success: onSuccess.map(toRpcOp),
      failure: onFailure.map(toRpcOp),
    };
    const response = await this.call(`txn on ${compares.map((c) => c.key).join(',')}`, () =>
      this.client.kv.txn(request),
    );
    return { succeeded: response.succeeded, revision: Number(response.header.revision) };
  }

  async watchPrefix(
    prefix: string,
    listener: WatchListener,
    options?: WatchOptions,
  ): Promise<Watch> {
    let builder = this.client.watch().prefix(prefix);
    if (options?.fromRevision !== undefined) {
      builder = builder.startRevision(String(options.fromRevision));
    }
    const watcher: Watcher = await this.call(`watch ${prefix}`, () => builder.create());
    watcher.on('put', (kv) => listener({ type: 'put', kv: toKeyValue(kv) }));
    watcher.on('delete', (kv) => listener({ type: 'delete', kv: toKeyValue(kv) }));
    // Transport errors are retried by the watch manager (it resumes from the last revision).
    watcher.on('error', () => undefined);
    let open = true;
    return {
      close: async () => {
        if (!open) return;
        open = false;
        // etcd3 waits for etcd to confirm the cancel, and can wait forever when the cancel
        // crosses the watch's creation on the shared stream; closing must never hang.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          watcher.cancel().catch(() => undefined),
          new Promise((resolve) => (timer = setTimeout(resolve, this.config.timeoutMs))),
        ]);
        clearTimeout(timer);
      },
    };
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    const response = await this.call(`grant lease ttl=${ttlSeconds}`, () =>
      this.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 }),
    );
    return new EtcdLease(this, String(response.ID), ttlSeconds);
  }

  /**
   * @internal one keepalive round trip; resolves with the remaining TTL (≤ 0: expired).
   * etcd3 opens a keepalive stream on one endpoint picked at random and never retries a
   * stream, so with one member down a renewal would fail now and then, and a lease could
   * lapse with a working majority. Here, with several endpoints, tries overlap: another
   * starts (on another random pick) every KEEPALIVE_HEDGE_MS and at once when one fails,
   * until one answers or the deadline passes, so that neither a member that refuses nor one
   * that never answers can make the renewal miss (renewing twice is harmless).
   */
  async keepAliveOnce(id: LeaseId): Promise<number> {
    if (this.config.endpoints.length === 1) {
      return this.call(`keepalive lease ${id}`, () => this.keepAliveTry(id, this.config.timeoutMs));
    }
    const lastStart = Date.now() + this.config.timeoutMs - KEEPALIVE_MIN_TRY_MS;
    const perTryMs = Math.max(
      KEEPALIVE_MIN_TRY_MS,
      this.config.timeoutMs / this.config.endpoints.length,
    );
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await this.call(
        `keepalive lease ${id}`,
        () =>
          new Promise<number>((resolve, reject) => {
            let running = 0;
            const launch = (): void => {
              clearTimeout(timer);
              if (settled) return;
              running += 1;
              this.keepAliveTry(id, perTryMs).then(
                (ttl) => {
                  settled = true;
                  resolve(ttl);
                },
                (error: unknown) => {
                  running -= 1;
                  if (settled) return;
                  if (isLeaseNotFound(error) || (Date.now() >= lastStart && running === 0)) {
                    settled = true;
                    reject(error as Error);
                  } else if (Date.now() < lastStart) {
                    timer = setTimeout(launch, KEEPALIVE_PAUSE_MS);
                  }
                },
              );
              if (Date.now() < lastStart) timer = setTimeout(launch, KEEPALIVE_HEDGE_MS);
            };
            launch();
          }),
      );
    } finally {
      settled = true;
      clearTimeout(timer);
    }
  }

  /** One keepalive on a new stream; `timeoutMs` covers opening the stream too. */
  private async keepAliveTry(id: LeaseId, timeoutMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no keepalive answer in ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    const opening = this.client.leaseClient.leaseKeepAlive();
    try {
      const stream = await Promise.race([opening, expired]);
      try {
        return await Promise.race([
          new Promise<number>((resolve, reject) => {
            stream.on('data', (res: { TTL: string | number }) => resolve(Number(res.TTL)));
            stream.on('error', reject);
            stream.write({ ID: id });
          }),
          expired,
        ]);
      } finally {
        stream.on('error', () => undefined); // a cancelled stream reports CANCELLED
        stream.end();
      }
    } catch (error) {
      // A stream opened after the try gave up is closed as soon as it comes.
      void opening.then(
        (late) => {
          late.on('error', () => undefined);
          late.end();
        },
        () => undefined,
      );
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** @internal */
  async revokeLease(id: LeaseId): Promise<void> {
    try {
      await this.call(`revoke lease ${id}`, () => this.client.leaseClient.leaseRevoke({ ID: id }));
    } catch (error) {
      if (error instanceof LeaseLostError) return; // already gone: revoke is idempotent
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    endWatchStream(this.client);
    this.client.close();
  }
}

class EtcdLease implements Lease {
  constructor(
    private readonly store: EtcdKeystore,
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

function toRangeOp(range: RangeSpec): RequestOp {
  return {
    request_range: {
      key: Buffer.from(range.prefix),
      range_end: prefixEnd(range.prefix),
      keys_only: range.keysOnly === true,
      count_only: range.countOnly === true,
    },
  };
}

/** The answers to the range ops of `ranges`, in their order, as a SnapshotResult. */
function snapshotOf(
  ranges: readonly RangeSpec[],
  responses: readonly { response_range: { kvs: IKeyValue[]; count: string | number } }[],
  revision: number,
): SnapshotResult {
  const kvs = responses.map((op) => op.response_range.kvs);
  return {
    ranges: kvs.map((list, i) => (ranges[i]!.keysOnly ? [] : list.map(toKeyValue))),
    keys: kvs.map((list, i) =>
      ranges[i]!.keysOnly ? list.map((kv) => kv.key.toString('utf8')) : [],
    ),
    counts: responses.map((op) => Number(op.response_range.count)),
    revision,
  };
}

function toRpcCompare(compare: Compare): RpcCompare {
  const value =
    compare.target === 'value' ? Buffer.from(String(compare.value)) : String(compare.value);
  return {
    key: Buffer.from(compare.key),
    target: TARGETS[compare.target],
    result: RESULTS[compare.op],
    [FIELDS[compare.target]]: value,
  };
}

function toRpcOp(op: TxnOp): RequestOp {
  switch (op.type) {
    case 'put':
      return {
        request_put: {
          key: Buffer.from(op.key),
          value: Buffer.from(op.value),
          ...(op.lease !== undefined ? { lease: op.lease } : {}),
        },
      };
    case 'delete':
      return { request_delete_range: { key: Buffer.from(op.key) } };
    case 'deletePrefix':
      return {
        request_delete_range: { key: Buffer.from(op.prefix), range_end: prefixEnd(op.prefix) },
      };
  }
}

/**
 * etcd3 keeps its shared watch stream open after the last watcher is cancelled, and closing the
 * client does not end calls in flight, so the stream's socket kept a finished CLI process alive.
 * End it here: detach etcd3's handlers first (they would schedule a reconnect), then cancel.
 * This reaches into etcd3 1.x internals (`watchManager.stream`); if they change, nothing
 * happens and the CLI's exit guard (cli/run.ts) still ends the process.
 */
function endWatchStream(client: Etcd3): void {
  const manager = (
    client as unknown as {
      watchManager?: {
        stream?: NodeJS.EventEmitter & { cancel?: () => void };
        watchers?: unknown[];
      };
    }
  ).watchManager;
  const stream = manager?.stream;
  if (!manager || !stream || typeof stream.cancel !== 'function') return;
  stream.removeAllListeners();
  stream.on('error', () => undefined);
  manager.watchers = [];
  stream.cancel();
}
