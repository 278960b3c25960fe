/** What both etcd clients (etcd3, and EtcdGrpcReader for reads) share: TLS files, messages. */
import { readFileSync } from 'node:fs';
import type { EtcdConfig } from '../config/etcd-config';
import { ConfigError } from '../errors/errors';

/** The TLS material named by the settings, read once; ConfigError names an unreadable file. */
export interface TlsMaterial {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

function readTlsFile(path: string, variable: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`${variable}: cannot read ${path} (${(error as Error).message})`);
  }
}

/** Read the CA, certificate and key files of `config`, or undefined without TLS. */
export function readTlsMaterial(config: EtcdConfig): TlsMaterial | undefined {
  if (!config.tls) return undefined;
  return {
    ca: readTlsFile(config.tls.caFile, 'ETCDCTL_CA_FILE'),
    ...(config.tls.certFile ? { cert: readTlsFile(config.tls.certFile, 'ETCDCTL_CERT_FILE') } : {}),
    ...(config.tls.keyFile ? { key: readTlsFile(config.tls.keyFile, 'ETCDCTL_KEY_FILE') } : {}),
  };
}

/** The one line for a request etcd answered by refusing it, in etcd's words (`said`). */
export function refusedMessage(said: string): string {
  return `etcd refused the request: ${said}`;
}

/** Connection failures recognisable in an error's code or message, in a few words. */
const REACH_FAILURES: readonly (readonly [RegExp, string])[] = [
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

/**
 * The one line for an etcd that cannot be used; it names the endpoints. With the failure of
 * each endpoint, in order, and all of them connection failures: what they were. Otherwise
 * (some endpoint did not answer, or nothing is known): the deadline.
 */
export function unavailableMessage(config: EtcdConfig, failures: readonly unknown[] = []): string {
  const reasons = failures.map(reachFailure);
  if (reasons.length === config.endpoints.length && reasons.every((r) => r !== undefined)) {
    const distinct = [...new Set(reasons)];
    if (distinct.length === 1) {
      return `cannot reach etcd at ${config.endpoints.join(',')}: ${distinct[0]}`;
    }
    const each = config.endpoints.map((endpoint, i) => `${endpoint} (${reasons[i]})`);
    return `cannot reach etcd at ${each.join(', ')}`;
  }
  const seconds = Math.round(config.timeoutMs / 100) / 10;
  return `etcd at ${config.endpoints.join(',')} did not answer within ${seconds} s`;
}
