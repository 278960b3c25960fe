/**
 * Usage records must always agree with the host records and allocation keys they summarise:
 * every registry write that changes one changes the other in the same transaction.
 */
import type { Keystore } from '../../src/keystore/keystore';
import { allocatedDevices, hostUsage } from '../../src/registry/inventory';
import { HostUsageRecord } from '../../src/registry/record-codecs';
import { decodeRecord } from '../../src/registry/record-codec';
import type { Registry } from '../../src/registry/registry';

/** Fails the test unless every host has a usage record equal to what its allocations give. */
export async function expectUsageConsistent(store: Keystore, registry: Registry): Promise<void> {
  const inventory = await registry.readInventory();
  const { kvs } = await store.range(registry.keys.usages());
  const stored = new Map(
    kvs.map((kv) => [kv.key, decodeRecord(HostUsageRecord, kv.key, kv.value)] as const),
  );
  for (const { record } of inventory.hosts.values()) {
    expect({ host: record.name, usage: stored.get(registry.keys.usage(record.name)) }).toEqual({
      host: record.name,
      usage: hostUsage(record, allocatedDevices(inventory, record)),
    });
  }
  expect(stored.size).toBe(inventory.hosts.size);
}
