/**
 * The endpoints of the settings, one `Channel` each, and the rules of a call over them: one
 * deadline for the whole call, counted in this process's own time; with several endpoints, a
 * share of it per try; which failures another member may not meet; and the one-line errors
 * both etcd clients give (etcd-connection.ts).
 */
import type { EtcdConfig } from '../../config/etcd-config';
import { LeaseLostError, StoreUnavailableError, ValidationError } from '../../errors/errors';
import { reachFailure, refusedMessage, unreachableError } from '../etcd-connection';
import { startOwnTimeDeadline } from '../own-time-deadline';
import { readTlsMaterial, type TlsMaterial } from '../tls-files';
import { Channel, DEFAULT_MAX_MESSAGE_BYTES, GrpcStatusError, type ChannelLimits } from './channel';

/** The shortest try of one endpoint when there are several. */
const MIN_TRY_MS = 1000;
/** The pause before another round of the endpoints. */
const ROUND_PAUSE_MS = 100;

/** gRPC status codes (grpc/doc/statuscodes.md) that a call's failover looks at. */
const GRPC_CANCELLED = 1;
const GRPC_UNKNOWN = 2;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_NOT_FOUND = 5;
const GRPC_ABORTED = 10;
const GRPC_INTERNAL = 13;
const GRPC_UNAVAILABLE = 14;

/**
 * Statuses another member, or the same one a moment later, may not answer with: etcd without
 * a leader, a proposal lost with the old one (`request timed out`), a member stopping.
 */
const TRANSIENT = new Set([
  GRPC_CANCELLED,
  GRPC_UNKNOWN,
  GRPC_DEADLINE_EXCEEDED,
  GRPC_ABORTED,
  GRPC_INTERNAL,
  GRPC_UNAVAILABLE,
]);

/** What etcd says when it cannot serve now, whatever the status (`not leader` is 9). */
const TRANSIENT_WORDS = /\b(no leader|not leader|leader changed|too many requests)\b/i;

/** True for a status of a request etcd refuses for what it is: every member would refuse it. */
function isRefusal(error: GrpcStatusError): boolean {
  return !TRANSIENT.has(error.status) && !TRANSIENT_WORDS.test(error.grpcMessage);
}

function isLeaseNotFound(error: GrpcStatusError): boolean {
  return error.status === GRPC_NOT_FOUND && /lease not found/i.test(error.grpcMessage);
}

/** One try of a call on one endpoint, given the time it may take. */
export type Attempt<T> = (channel: Channel, timeoutMs: number) => Promise<T>;

export interface ClientOptions {
  /** The largest message accepted from etcd (default 64 MiB). */
  maxMessageBytes?: number;
}

/** The channels of one process, shared by every view of its keystore. */
export class EtcdHttp2Client {
  readonly tls: TlsMaterial | undefined;
  private readonly channels: Channel[];
  /** The endpoint that answered last, tried first: a member that is down costs one call once. */
  private preferred = 0;
  private closed = false;

  constructor(
    readonly config: EtcdConfig,
    options: ClientOptions = {},
  ) {
    this.tls = readTlsMaterial(config);
    const limits: ChannelLimits = {
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    };
    this.channels = config.endpoints.map((endpoint) => new Channel(endpoint, this.tls, limits));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The channel a call starts on. */
  first(): Channel {
    return this.channels[this.preferred]!;
  }

  /** `channel` failed outside a call (a watch stream broke): start elsewhere next time. */
  demote(channel: Channel): void {
    if (this.channels[this.preferred] === channel) {
      this.preferred = (this.preferred + 1) % this.channels.length;
    }
  }

  /**
   * Run `attempt` on each endpoint in turn, starting with the preferred one, within
   * `timeoutMs` overall, until one succeeds. A failure of the attempt itself (an answer that
   * cannot be decoded) counts as the endpoint's failure. etcd's refusal of the request, a
   * lease it does not know, and TLS failures end the call at once; connection failures and
   * etcd unable to serve move on to the next member, and round again after a pause while
   * time is left and some member may yet answer.
   */
  async call<T>(what: string, timeoutMs: number, attempt: Attempt<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError(`etcd client is closed (${what})`);
    const count = this.channels.length;
    // One endpoint may take a share of the deadline (at least 1 s), so that a member whose
    // machine is gone (connections hang) leaves time for the others.
    const shareMs = count > 1 ? Math.max(MIN_TRY_MS, timeoutMs / count) : Infinity;
    const budget = startOwnTimeDeadline(timeoutMs, () => undefined);
    // The last failure of each endpoint tried, by its index in the settings.
    const failures: unknown[] = [];
    try {
      for (;;) {
        const start = this.preferred;
        for (let step = 0; step < count; step += 1) {
          const index = (start + step) % count;
          const remaining = budget.remainingMs();
          if (remaining <= 0 || this.closed) break;
          try {
            const result = await attempt(this.channels[index]!, Math.min(remaining, shareMs));
            this.preferred = index;
            return result;
          } catch (error) {
            if (error instanceof GrpcStatusError) this.refuse(error, what);
            failures[index] = error;
          }
        }
        // Every member refused the connection or failed TLS: nothing to wait for. Otherwise
        // one may serve a moment later (it had no leader yet): another round, while time is left.
        const waitable = failures.some((error) => reachFailure(error) === undefined);
        if (!waitable || budget.remainingMs() <= ROUND_PAUSE_MS || this.closed) break;
        await new Promise((resolve) => setTimeout(resolve, ROUND_PAUSE_MS));
      }
    } finally {
      budget.cancel();
    }
    if (this.closed) throw new StoreUnavailableError(`etcd client is closed (${what})`);
    const config = { ...this.config, timeoutMs };
    const endpoints = this.config.endpoints;
    throw await unreachableError(config, this.tls, failures, {
      detail: `${what}: ${failures
        .map((e, i) => `${endpoints[i]}: ${(e as Error).message}`)
        .filter(Boolean)
        .join('; ')}`,
    });
  }

  /** Throw the DacError for a status that ends the call (etcd would answer every try so). */
  private refuse(error: GrpcStatusError, what: string): void {
    if (isLeaseNotFound(error)) {
      throw new LeaseLostError('the etcd lease has expired or was revoked', {
        detail: `${what}: ${error.grpcMessage}`,
        cause: error,
      });
    }
    if (isRefusal(error)) {
      throw new ValidationError(refusedMessage(error.grpcMessage), { detail: what, cause: error });
    }
  }

  /** Close every channel; calls in flight finish first. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.channels.map((channel) => channel.close()));
  }
}
