/**
 * What a command needs, built lazily: `show_configurations` touches no etcd, the read-only
 * calls (`pools`, `show_*`, `real_size`, `paths`, `job_process`, dwstat) read through etcd's
 * JSON gateway, and only the steps that write load the gRPC client (about 250 ms to load).
 */
import type { EtcdConfig } from '../config/etcd-config';
import type { KeyReader, Keystore } from '../keystore/keystore';
import type { Logger } from '../logging/logger';
import type { Registry } from '../registry/registry';
import type { RegistryReader } from '../registry/registry-reader';

/**
 * etcd deadline for `job_process` and `paths`, which run inside slurmctld while it holds its
 * locks (ValidateTimeout, 5 s): an etcd that accepts connections but never answers must not
 * cost the whole default deadline (3 s) on every submission or launch.
 */
export const INLINE_ETCD_TIMEOUT_MS = 1000;

export interface CliContext {
  log: Logger;
  env: NodeJS.ProcessEnv;
  /** The etcd settings from the environment (ConfigError if they are invalid). */
  etcdConfig(): Promise<EtcdConfig>;
  /**
   * The registry on etcd; connects on first use. `maxTimeoutMs` caps the etcd request deadline
   * for calls that run inside slurmctld or under a short fixed limit (dwstat's 2 s).
   */
  registry(options?: { maxTimeoutMs?: number }): Promise<Registry>;
  /**
   * Reads only, through etcd's JSON gateway: no gRPC client to load, for the calls Slurm makes
   * inline or every 30 s. `maxTimeoutMs` as for `registry`.
   */
  reader(options?: { maxTimeoutMs?: number }): Promise<RegistryReader>;
  /** Close connections; called once the command has finished. */
  close(): Promise<void>;
}

/** The settings with the request deadline capped at `maxTimeoutMs`. */
function cappedConfig(config: EtcdConfig, maxTimeoutMs = Infinity): EtcdConfig {
  return { ...config, timeoutMs: Math.min(config.timeoutMs, maxTimeoutMs) };
}

/** The production context: settings from the environment, state in etcd. */
export function createContext(log: Logger, env: NodeJS.ProcessEnv = process.env): CliContext {
  let config: EtcdConfig | undefined;
  let store: Keystore | undefined;
  let registry: Registry | undefined;
  let httpReader: KeyReader | undefined;
  let reader: RegistryReader | undefined;
  const context: CliContext = {
    log,
    env,
    async etcdConfig() {
      if (!config) {
        const { etcdConfigFromEnv } = await import('../config/etcd-config');
        config = etcdConfigFromEnv(env);
      }
      return config;
    },
    async registry(options = {}) {
      if (!registry) {
        const etcdConfig = cappedConfig(await context.etcdConfig(), options.maxTimeoutMs);
        const [{ EtcdKeystore }, { Registry: RegistryClass }, { KeyLayout }] = await Promise.all([
          import('../keystore/etcd-keystore'),
          import('../registry/registry'),
          import('../registry/keys'),
        ]);
        store = new EtcdKeystore(etcdConfig);
        registry = new RegistryClass(store, new KeyLayout(etcdConfig.prefix));
      }
      return registry;
    },
    async reader(options = {}) {
      if (!reader) {
        const etcdConfig = cappedConfig(await context.etcdConfig(), options.maxTimeoutMs);
        const [{ EtcdHttpReader }, { RegistryReader: ReaderClass }, { KeyLayout }] =
          await Promise.all([
            import('../keystore/etcd-http-reader'),
            import('../registry/registry-reader'),
            import('../registry/keys'),
          ]);
        httpReader = new EtcdHttpReader(etcdConfig);
        reader = new ReaderClass(httpReader, new KeyLayout(etcdConfig.prefix));
      }
      return reader;
    },
    async close() {
      await Promise.all([store?.close(), httpReader?.close()]);
    },
  };
  return context;
}
