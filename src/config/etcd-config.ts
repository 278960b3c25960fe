/**
 * How to reach etcd, read from data-acc compatible environment variables and checked by hand
 * (not with zod: see below).
 *
 * - `ETCDCTL_ENDPOINTS` (or `ETCD_ENDPOINTS`): comma list of `host:port` or `http(s)://host:port`;
 *   default `127.0.0.1:2379` (http, or https with a CA).
 * - `ETCDCTL_CA_FILE`, `ETCDCTL_CERT_FILE`, `ETCDCTL_KEY_FILE` (also etcdctl v3's `ETCDCTL_CACERT`,
 *   `ETCDCTL_CERT`, `ETCDCTL_KEY`): TLS. A CA file switches bare `host:port` endpoints to https,
 *   and refuses `http://` ones; endpoints of both schemes are refused too.
 * - `DAC_ETCD_PREFIX`: key prefix of all our records; default `/dac/`.
 * - `DAC_ETCD_TIMEOUT_MS`: per-request deadline; default 3000.
 */
import { ConfigError } from '../errors/errors';

export interface EtcdConfig {
  /** Endpoints with their scheme, e.g. `https://10.0.0.1:2379`. */
  endpoints: string[];
  tls?: { caFile: string; certFile?: string; keyFile?: string };
  /** Prefix of every key we write; ends with `/`. */
  prefix: string;
  /** Deadline of one request (and of connecting), in milliseconds. */
  timeoutMs: number;
}

const ENDPOINT = /^(?:(https?):\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/;
const PREFIX = /^\/[A-Za-z0-9._/-]*$/;
const MILLISECONDS = /^[1-9][0-9]{0,6}$/;

/*
 * Checked by hand rather than with a zod schema: every CLI call reads these settings, and the
 * calls Slurm makes inline must start in a few milliseconds; loading zod alone takes ~70 ms.
 */

/** The first of `names` that is set, and its name; ConfigError if it is set but empty. */
function fileVariable(
  env: NodeJS.ProcessEnv,
  ...names: string[]
): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value === undefined) continue;
    if (value === '') throw new ConfigError(`${name}: must not be empty (unset it instead)`);
    return { name, value };
  }
  return undefined;
}

/**
 * ConfigError for endpoints of both schemes, or plain HTTP ones with a CA: etcd3 would speak
 * TLS to every endpoint while our reader speaks plain HTTP/2 to the http:// ones, so writes
 * would work and reads fail (or the other way round).
 */
function checkSchemes(endpoints: readonly string[], variable: string, caVariable?: string): void {
  const plain = endpoints.find((endpoint) => endpoint.startsWith('http://'));
  if (plain === undefined) return;
  if (caVariable !== undefined) {
    throw new ConfigError(
      `${variable}: ${plain} is plain HTTP but ${caVariable} is set; use https://`,
    );
  }
  const secure = endpoints.find((endpoint) => endpoint.startsWith('https://'));
  if (secure !== undefined) {
    throw new ConfigError(
      `${variable}: ${plain} is plain HTTP but ${secure} is HTTPS; use one scheme for all`,
    );
  }
}

/** Parse one endpoint; throws ConfigError naming the variable. */
function parseEndpoint(text: string, tls: boolean, variable: string): string {
  const match = ENDPOINT.exec(text.trim());
  const port = match ? Number(match[3]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new ConfigError(
      `${variable}: "${text}" is not an etcd endpoint; use host:port or http(s)://host:port`,
    );
  }
  const scheme = match[1] ?? (tls ? 'https' : 'http');
  return `${scheme}://${match[2]}:${port}`;
}

/** Read the etcd settings from an environment; throws ConfigError naming the bad variable. */
export function etcdConfigFromEnv(env: NodeJS.ProcessEnv = process.env): EtcdConfig {
  const ca = fileVariable(env, 'ETCDCTL_CA_FILE', 'ETCDCTL_CACERT');
  const caFile = ca?.value;
  const certFile = fileVariable(env, 'ETCDCTL_CERT_FILE', 'ETCDCTL_CERT')?.value;
  const keyFile = fileVariable(env, 'ETCDCTL_KEY_FILE', 'ETCDCTL_KEY')?.value;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(
      'ETCDCTL_CERT_FILE and ETCDCTL_KEY_FILE must be set together (client certificate and its key)',
    );
  }
  if (certFile !== undefined && caFile === undefined) {
    throw new ConfigError('ETCDCTL_CERT_FILE needs ETCDCTL_CA_FILE (the CA that signed etcd)');
  }
  if (env.DAC_ETCD_PREFIX !== undefined && !PREFIX.test(env.DAC_ETCD_PREFIX)) {
    throw new ConfigError(
      'DAC_ETCD_PREFIX: must start with / and use only letters, digits, . _ - /',
    );
  }
  if (env.DAC_ETCD_TIMEOUT_MS !== undefined && !MILLISECONDS.test(env.DAC_ETCD_TIMEOUT_MS)) {
    throw new ConfigError('DAC_ETCD_TIMEOUT_MS: must be a whole number of milliseconds');
  }
  const variable = env.ETCDCTL_ENDPOINTS !== undefined ? 'ETCDCTL_ENDPOINTS' : 'ETCD_ENDPOINTS';
  // Bare, so that a CA makes it https like any other bare endpoint.
  const list = (env.ETCDCTL_ENDPOINTS ?? env.ETCD_ENDPOINTS ?? '127.0.0.1:2379')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (list.length === 0) throw new ConfigError(`${variable} is empty; set host:port of etcd`);
  const endpoints = list.map((text) => parseEndpoint(text, caFile !== undefined, variable));
  checkSchemes(endpoints, variable, ca?.name);
  let prefix = env.DAC_ETCD_PREFIX ?? '/dac/';
  if (!prefix.endsWith('/')) prefix += '/';
  return {
    endpoints,
    ...(caFile !== undefined ? { tls: { caFile, certFile, keyFile } } : {}),
    prefix,
    timeoutMs: env.DAC_ETCD_TIMEOUT_MS !== undefined ? Number(env.DAC_ETCD_TIMEOUT_MS) : 3000,
  };
}
