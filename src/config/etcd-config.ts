/**
 * How to reach etcd, read from data-acc compatible environment variables and validated with zod.
 *
 * - `ETCDCTL_ENDPOINTS` (or `ETCD_ENDPOINTS`): comma list of `host:port` or `http(s)://host:port`;
 *   default `http://127.0.0.1:2379`.
 * - `ETCDCTL_CA_FILE`, `ETCDCTL_CERT_FILE`, `ETCDCTL_KEY_FILE` (also etcdctl v3's `ETCDCTL_CACERT`,
 *   `ETCDCTL_CERT`, `ETCDCTL_KEY`): TLS. A CA file switches bare `host:port` endpoints to https.
 * - `DAC_ETCD_PREFIX`: key prefix of all our records; default `/dac/`.
 * - `DAC_ETCD_TIMEOUT_MS`: per-request deadline; default 3000.
 */
import { z } from 'zod';
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

const EnvSchema = z.object({
  ETCDCTL_ENDPOINTS: z.string().optional(),
  ETCD_ENDPOINTS: z.string().optional(),
  ETCDCTL_CA_FILE: z.string().min(1).optional(),
  ETCDCTL_CACERT: z.string().min(1).optional(),
  ETCDCTL_CERT_FILE: z.string().min(1).optional(),
  ETCDCTL_CERT: z.string().min(1).optional(),
  ETCDCTL_KEY_FILE: z.string().min(1).optional(),
  ETCDCTL_KEY: z.string().min(1).optional(),
  DAC_ETCD_PREFIX: z
    .string()
    .regex(/^\/[A-Za-z0-9._/-]*$/, 'must start with / and use only letters, digits, . _ - /')
    .optional(),
  DAC_ETCD_TIMEOUT_MS: z
    .string()
    .regex(/^[1-9][0-9]{0,6}$/, 'must be a whole number of milliseconds')
    .optional(),
});

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
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${String(issue?.path.join('.'))}: ${issue?.message ?? 'invalid'}`);
  }
  const vars = parsed.data;
  const caFile = vars.ETCDCTL_CA_FILE ?? vars.ETCDCTL_CACERT;
  const certFile = vars.ETCDCTL_CERT_FILE ?? vars.ETCDCTL_CERT;
  const keyFile = vars.ETCDCTL_KEY_FILE ?? vars.ETCDCTL_KEY;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(
      'ETCDCTL_CERT_FILE and ETCDCTL_KEY_FILE must be set together (client certificate and its key)',
    );
  }
  if (certFile !== undefined && caFile === undefined) {
    throw new ConfigError('ETCDCTL_CERT_FILE needs ETCDCTL_CA_FILE (the CA that signed etcd)');
  }
  const variable = vars.ETCDCTL_ENDPOINTS !== undefined ? 'ETCDCTL_ENDPOINTS' : 'ETCD_ENDPOINTS';
  const list = (vars.ETCDCTL_ENDPOINTS ?? vars.ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (list.length === 0) throw new ConfigError(`${variable} is empty; set host:port of etcd`);
  const endpoints = list.map((text) => parseEndpoint(text, caFile !== undefined, variable));
  let prefix = vars.DAC_ETCD_PREFIX ?? '/dac/';
  if (!prefix.endsWith('/')) prefix += '/';
  return {
    endpoints,
    ...(caFile !== undefined ? { tls: { caFile, certFile, keyFile } } : {}),
    prefix,
    timeoutMs: vars.DAC_ETCD_TIMEOUT_MS !== undefined ? Number(vars.DAC_ETCD_TIMEOUT_MS) : 3000,
  };
}
