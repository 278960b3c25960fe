/** A registry on the test etcd under a fresh prefix, and the pools and hosts tests start from. */
import type { EtcdKeystore } from '../../src/keystore/etcd-keystore';
import type { Keystore } from '../../src/keystore/keystore';
import { KeyLayout } from '../../src/registry/keys';
import type { Brick } from '../../src/registry/model';
import { Registry } from '../../src/registry/registry';
import { testEtcdStore } from './test-etcd';

export interface RegistryFixture {
  store: EtcdKeystore;
  registry: Registry;
  /** The key prefix; pass it to the binaries as DAC_ETCD_PREFIX. */
  prefix: string;
}

/**
 * Open a store and registry under a unique prefix (`label` shows in the prefix), on the test
 * etcd or on the one `endpoints` names.
 */
export function openRegistry(label: string, endpoints?: string): RegistryFixture {
  const { store, config } = testEtcdStore(label, endpoints);
  return {
    store,
    registry: new Registry(store, new KeyLayout(config.prefix)),
    prefix: config.prefix,
  };
}

/** `count` bricks named nvme0n1, nvme1n1, ... of one pool. */
export function bricks(count: number, capacityBytes: bigint, pool: string): Brick[] {
  return Array.from({ length: count }, (_, i) => ({ device: `nvme${i}n1`, capacityBytes, pool }));
}

/**
 * Create the pool and register `hosts` with `bricksPerHost` bricks each; hosts are alive (on
 * one 60 s lease) unless listed in `dead`.
 */
export async function addHosts(
  { store, registry }: { store: Keystore; registry: Registry },
  options: {
    pool: string;
    granularity: bigint;
    hosts: string[];
    bricksPerHost: number;
    dead?: string[];
  },
): Promise<void> {
  await registry.ensurePool(options.pool, options.granularity);
  const lease = await store.grantLease(60);
  for (const host of options.hosts) {
    await registry.registerHost({
      name: host,
      bricks: bricks(options.bricksPerHost, options.granularity, options.pool),
    });
    if (!options.dead?.includes(host)) await registry.markAlive(host, lease.id);
  }
}
