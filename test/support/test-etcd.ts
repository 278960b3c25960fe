/**
 * Connect to the run's private etcd (started by global-setup) under a fresh key prefix, so
 * that test files sharing the server never see each other's keys.
 */
import { randomUUID } from 'node:crypto';
import { etcdConfigFromEnv, type EtcdConfig } from '../../src/config/etcd-config';
import { EtcdKeystore } from '../../src/keystore/etcd-keystore';

/** A unique prefix like `/test-3f2a.../`. */
export function uniquePrefix(label = 'test'): string {
  return `/${label}-${randomUUID()}/`;
}

/**
 * Settings for the private test etcd with a unique prefix; `endpoints` (an `ETCDCTL_ENDPOINTS`
 * value) names another etcd, such as a test's own cluster of members.
 */
export function testEtcdConfig(label?: string, endpoints?: string): EtcdConfig {
  if (!process.env.ETCDCTL_ENDPOINTS) throw new Error('global-setup did not start etcd');
  const env = endpoints ? { ...process.env, ETCDCTL_ENDPOINTS: endpoints } : process.env;
  return { ...etcdConfigFromEnv(env), prefix: uniquePrefix(label) };
}

/** A real etcd store for one test file. */
export function testEtcdStore(
  label?: string,
  endpoints?: string,
): { store: EtcdKeystore; config: EtcdConfig } {
  const config = testEtcdConfig(label, endpoints);
  return { store: new EtcdKeystore(config), config };
}
