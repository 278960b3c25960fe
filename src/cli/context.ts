/**
 * What a command needs, built lazily: `show_configurations` touches no etcd; every other call
 * uses one `Http2EtcdKeystore` for the process (etcd's gRPC API over node:http2, no etcd3 to
 * load: see docs/decisions/0002-cli-etcd-client.md), for its reads and its writes alike. The
 * Slurm calls' reads decode no zod (`SlurmReader`).
 */
import type { EtcdConfig } from '../config/etcd-config';
import type { Http2EtcdKeystore } from '../keystore/etcd-http2/keystore';
import type { CliLogger } from '../logging/cli-logger';
import type { LogLevel } from '../logging/log-level';
import type { Registry } from '../registry/registry';
import type { RegistryReader } from '../registry/registry-reader';
import type { SlurmReader } from '../registry/slurm-reader';
import type { EarlyRead } from './early-read';
import type { UserDatabase } from './user-database';

export interface CliContext {
  log: CliLogger;
  env: NodeJS.ProcessEnv;
  /**
   * The level of the "done" line of a successful call: `debug` for Slurm's functions (so that
   * they do not load the logger), `info` for the operators' commands. Default `info`.
   */
  successLogLevel: LogLevel;
  /** The etcd settings from the environment (ConfigError if they are invalid). */
  etcdConfig(): Promise<EtcdConfig>;
  /**
   * The registry on etcd; connects on first use. `maxTimeoutMs` caps the etcd request deadline
   * for calls that run inside slurmctld or under a short fixed limit (dwstat's 2 s).
   */
  registry(options?: { maxTimeoutMs?: number }): Promise<Registry>;
  /** The full reads (every field of every record checked), for dwstat. `maxTimeoutMs` as for `registry`. */
  reader(options?: { maxTimeoutMs?: number }): Promise<RegistryReader>;
  /**
   * The reads of the calls Slurm makes inline or every 30 s: one request each, nothing heavy
   * to load. `maxTimeoutMs` as for `registry`.
   */
  slurmReader(options?: { maxTimeoutMs?: number }): Promise<SlurmReader>;
  /** The uid the command runs as (0: root, who may see and change every session). */
  callerUid: number;
  /** The system's user database, for user names (loaded on first use). */
  users(): Promise<UserDatabase>;
  /** Close connections; called once the command has finished. */
  close(): Promise<void>;
}

/**
 * The production context: settings from the environment, state in etcd. `early` is the read
 * the bundle loader started from the same command line and environment (`early-read.ts`):
 * its settings and readers are the ones this context would make, with the request in flight.
 */
export function createContext(
  log: CliLogger,
  env: NodeJS.ProcessEnv = process.env,
  early?: EarlyRead,
): CliContext {
  let config: EtcdConfig | undefined = early?.config;
  let store: Http2EtcdKeystore | undefined = early?.store;
  let registry: Registry | undefined;
  let reader: RegistryReader | undefined;
  let slurmReader: SlurmReader | undefined = early?.slurmReader;
  /**
   * The process's one keystore (one set of connections), with the deadline capped at
   * `maxTimeoutMs` for the caller that asks so.
   */
  const openStore = async (maxTimeoutMs = Infinity): Promise<Http2EtcdKeystore> => {
    if (!store) {
      const { Http2EtcdKeystore: StoreClass } = await import('../keystore/etcd-http2/keystore');
      store = new StoreClass(await context.etcdConfig());
    }
    return maxTimeoutMs < store.config.timeoutMs ? store.withTimeout(maxTimeoutMs) : store;
  };
  /** The key layout under the configured prefix. */
  const keyLayout = async () => {
    const { KeyLayout } = await import('../registry/keys');
    return new KeyLayout((await context.etcdConfig()).prefix);
  };
  let users: UserDatabase | undefined;
  const context: CliContext = {
    log,
    env,
    successLogLevel: 'info',
    // Unknown (no POSIX uids): nobody's sessions, and not root.
    callerUid: process.getuid?.() ?? -1,
    async users() {
      if (!users) {
        const { systemUserDatabase } = await import('./user-database');
        users = systemUserDatabase();
      }
      return users;
    },
    async etcdConfig() {
      if (!config) {
        const { etcdConfigFromEnv } = await import('../config/etcd-config');
        config = etcdConfigFromEnv(env);
      }
      return config;
    },
    async registry(options = {}) {
      if (!registry) {
        const [etcdStore, { Registry: RegistryClass }, { KeyLayout }] = await Promise.all([
          openStore(options.maxTimeoutMs),
          import('../registry/registry'),
          import('../registry/keys'),
        ]);
        registry = new RegistryClass(etcdStore, new KeyLayout(etcdStore.config.prefix), {
          onEventLost: (error, events) =>
            log.warn({ err: error, events }, 'history entries not written'),
        });
      }
      return registry;
    },
    async reader(options = {}) {
      if (!reader) {
        const { RegistryReader: ReaderClass } = await import('../registry/registry-reader');
        reader = new ReaderClass(await openStore(options.maxTimeoutMs), await keyLayout());
      }
      return reader;
    },
    async slurmReader(options = {}) {
      if (!slurmReader) {
        const { SlurmReader: ReaderClass } = await import('../registry/slurm-reader');
        slurmReader = new ReaderClass(await openStore(options.maxTimeoutMs), await keyLayout());
      }
      return slurmReader;
    },
    async close() {
      await store?.close();
    },
  };
  return context;
}
