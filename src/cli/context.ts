/**
 * What a command needs, built lazily: commands that need no etcd (job_process,
 * show_configurations) never load the gRPC client, which keeps them within Slurm's
 * 200 ms budget.
 */
import type { EtcdConfig } from '../config/etcd-config';
import type { Keystore } from '../keystore/keystore';
import type { Logger } from '../logging/logger';
import type { Registry } from '../registry/registry';

export interface CliContext {
  log: Logger;
  env: NodeJS.ProcessEnv;
  /** The etcd settings from the environment (ConfigError if they are invalid). */
  etcdConfig(): Promise<EtcdConfig>;
  /** The registry on etcd; connects on first use. */
  registry(): Promise<Registry>;
  /** Close connections; called once the command has finished. */
  close(): Promise<void>;
}

/** The production context: settings from the environment, state in etcd. */
export function createContext(log: Logger, env: NodeJS.ProcessEnv = process.env): CliContext {
  let config: EtcdConfig | undefined;
  let store: Keystore | undefined;
  let registry: Registry | undefined;
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
    async registry() {
      if (!registry) {
        const etcdConfig = await context.etcdConfig();
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
    async close() {
      await store?.close();
    },
  };
  return context;
}
