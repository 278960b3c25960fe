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

/** The one line for an etcd that cannot be reached in time; it names the endpoints. */
export function unavailableMessage(config: EtcdConfig): string {
  const seconds = Math.round(config.timeoutMs / 100) / 10;
  return `etcd at ${config.endpoints.join(',')} did not answer within ${seconds} s`;
}
