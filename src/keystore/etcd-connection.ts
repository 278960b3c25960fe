/** What both etcd clients (Http2EtcdKeystore, and etcd3 for the tests) share: their failure messages. */
import type { EtcdConfig } from '../config/etcd-config';
import { ConfigError, StoreUnavailableError, type DacError } from '../errors/errors';
import {
  inspectHandshake,
  tlsFailure,
  tlsFailureReason,
  wantsPeerFacts,
  type PeerFacts,
} from './tls-failure';
import type { TlsMaterial } from './tls-files';

/** The longest look at the handshake of an etcd whose handshake failed (see tls-failure.ts). */
const PEER_PROBE_MS = 1000;

/** The one line for a request etcd answered by refusing it, in etcd's words (`said`). */
export function refusedMessage(said: string): string {
  return `etcd refused the request: ${said}`;
}

/** Connection failures recognisable in an error's code or message, in a few words. */
const REACH_FAILURES: readonly (readonly [RegExp, string])[] = [
  // Before ECONNRESET, which our reader's error also carries: an https:// endpoint whose etcd
  // serves plain HTTP closes the connection at the client's first TLS message.
  [
    /disconnected before secure TLS connection/,
    'the connection closed during the TLS handshake (is etcd serving https there?)',
  ],
  [/\bECONNREFUSED\b/, 'connection refused'],
  [/\b(ENOTFOUND|EAI_AGAIN|EAI_NONAME)\b/, 'unknown host'],
  [/\b(EHOSTUNREACH|ENETUNREACH|EHOSTDOWN)\b/, 'host unreachable'],
  [/\b(ECONNRESET|EPIPE)\b/, 'connection reset'],
  [/certificate|\bERR_SSL_|\bERR_TLS_|ALPN|handshake/i, 'TLS handshake failed'],
];

/**
 * Why a connection to etcd failed, in a few words (`connection refused`, `unknown host`, ...),
 * from the error or its causes; undefined when the error says nothing of the kind (a timeout).
 */
export function reachFailure(error: unknown): string | undefined {
  // Not `instanceof Error`: errors of Node's own modules may come from another realm (a vm).
  let cause = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; typeof cause === 'object' && cause !== null && depth < 5; depth += 1) {
    const text = `${String(cause.code ?? '')} ${String(cause.message ?? '')}`;
    const known = REACH_FAILURES.find(([pattern]) => pattern.test(text));
    if (known) return known[1];
    cause = cause.cause as typeof cause;
  }
  return undefined;
}

/** Why endpoint `index` failed with `error`, naming the TLS setting to fix if it is one. */
function endpointFailure(
  config: EtcdConfig,
  index: number,
  error: unknown,
  peer: PeerFacts | undefined,
): string | undefined {
  const tls = tlsFailure(error);
  if (!tls) return reachFailure(error);
  const reason = tlsFailureReason(config, config.endpoints[index] ?? '', tls, peer);
  return `TLS handshake failed: ${reason}`;
}

/** `at <endpoints>: <reason>` if all endpoints failed alike, else `at <endpoint> (<reason>), ...`. */
function atEndpoints(config: EtcdConfig, reasons: readonly string[]): string {
  const distinct = [...new Set(reasons)];
  if (distinct.length === 1) return `at ${config.endpoints.join(',')}: ${distinct[0]}`;
  return `at ${config.endpoints.map((endpoint, i) => `${endpoint} (${reasons[i]})`).join(', ')}`;
}

/**
 * The one line for an etcd that cannot be used; it names the endpoints. With the failure of
 * each endpoint, in order, and all of them connection failures: what they were (with what was
 * learnt of etcd's certificate, `peers`, for TLS failures). Otherwise (some endpoint did not
 * answer, or nothing is known): the deadline.
 */
export function unavailableMessage(
  config: EtcdConfig,
  failures: readonly unknown[] = [],
  peers: readonly (PeerFacts | undefined)[] = [],
): string {
  const reasons = failures.map((failure, i) => endpointFailure(config, i, failure, peers[i]));
  if (reasons.length === config.endpoints.length && reasons.every((r) => r !== undefined)) {
    return `cannot reach etcd ${atEndpoints(config, reasons as string[])}`;
  }
  const seconds = Math.round(config.timeoutMs / 100) / 10;
  return `etcd at ${config.endpoints.join(',')} did not answer within ${seconds} s`;
}

/**
 * Whether a look at the handshake (`inspectHandshake`) says more of `failure` on `endpoint`:
 * the dates or names of etcd's certificate; or, for a connection reset, whether etcd refused
 * our certificate. In TLS 1.3 it says so after the handshake, when our request is on its way,
 * and closing with the request unread resets the connection: the reset can overtake the alert.
 */
function wantsHandshakeLook(failure: unknown, endpoint: string): boolean {
  const known = tlsFailure(failure);
  if (known) return wantsPeerFacts(known);
  return endpoint.startsWith('https://') && reachFailure(failure) === 'connection reset';
}

/**
 * The error for a request that no endpoint answered, `tried[i]` being what endpoint `i`
 * failed with. A ConfigError when each of them failed its TLS handshake for a reason of the
 * settings or certificates (`etcd at https://etcd1:2379: TLS handshake failed: the certificate
 * of etcd has expired (notAfter ...)`): no retry can help. A StoreUnavailableError otherwise.
 * Where a look at the handshake says more (the dates or names of etcd's certificate, or the
 * refusal of ours that a connection reset hid), it looks first, for at most a second.
 */
export async function unreachableError(
  config: EtcdConfig,
  tls: TlsMaterial | undefined,
  tried: readonly unknown[],
  options: { detail?: string; cause?: unknown } = {},
): Promise<DacError> {
  const probeMs = Math.min(PEER_PROBE_MS, config.timeoutMs);
  const endpoints = config.endpoints;
  // Array.from: an endpoint never tried (a hole) is an unknown failure, not none.
  const peers = await Promise.all(
    Array.from(tried, (failure, i) =>
      wantsHandshakeLook(failure, endpoints[i] ?? '')
        ? inspectHandshake(endpoints[i] ?? '', tls, probeMs)
        : undefined,
    ),
  );
  // A reset that overtook etcd's refusal of our certificate: the refusal is the failure.
  const failures = Array.from(tried, (failure, i) => {
    const refusal = peers[i]?.refusal;
    return !tlsFailure(failure) && tlsFailure(refusal) ? refusal : failure;
  });
  const everyTls = failures.every((failure) => tlsFailure(failure) !== undefined);
  if (failures.length === config.endpoints.length && everyTls) {
    const reasons = failures.map((failure, i) => endpointFailure(config, i, failure, peers[i])!);
    return new ConfigError(`etcd ${atEndpoints(config, reasons)}`, options);
  }
  return new StoreUnavailableError(unavailableMessage(config, failures, peers), options);
}
