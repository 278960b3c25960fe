/**
 * The pool table `pools` reads from usage records must give the same numbers as the pool view
 * computed from the whole inventory (host records and one key per allocated brick).
 */
import type { KeyValue, SnapshotResult } from '../../../src/keystore/keystore';
import { MemoryKeystore } from '../../../src/keystore/memory-keystore';
import { buildInventory, hostUsage, poolViews } from '../../../src/registry/inventory';
import { KeyLayout } from '../../../src/registry/keys';
import { SCHEMA_VERSION, type HostRecord } from '../../../src/registry/model';
import {
  poolCapacities,
  poolCapacityRanges,
  poolTable,
  poolTableRanges,
} from '../../../src/registry/pool-table';

const keys = new KeyLayout('/t/');
const GiB = 1024n ** 3n;

const kv = (key: string, value: unknown): KeyValue => ({
  key,
  value: typeof value === 'string' ? value : JSON.stringify(value),
  createRevision: 1,
  modRevision: 1,
  version: 1,
});

interface HostSpec {
  bricks: Record<string, number>;
  enabled?: boolean;
  alive?: boolean;
  /** Allocated brick indexes. */
  allocated?: number[];
  /** No usage record (registered by an older version). */
  withoutUsage?: boolean;
}

/** Every key of the inventory for these hosts, usage records included. */
function inventoryKvs(hosts: Record<string, HostSpec>): KeyValue[] {
  const kvs: KeyValue[] = [
    kv(keys.pool('default'), { schemaVersion: 1, name: 'default', granularityBytes: String(GiB) }),
    kv(keys.pool('fast'), { schemaVersion: 1, name: 'fast', granularityBytes: String(2n * GiB) }),
  ];
  for (const [name, spec] of Object.entries(hosts)) {
    const bricks = Object.entries(spec.bricks).flatMap(([pool, count]) =>
      Array.from({ length: count }, () => pool),
    );
    const record: HostRecord = {
      schemaVersion: SCHEMA_VERSION,
      name,
      enabled: spec.enabled ?? true,
      bricks: bricks.map((pool, i) => ({
        device: `nvme${i}n1`,
        capacityBytes: pool === 'fast' ? 2n * GiB : GiB,
        pool,
      })),
      updatedAt: 1,
    };
    kvs.push(
      kv(keys.host(name), {
        ...record,
        bricks: record.bricks.map((b) => ({ ...b, capacityBytes: String(b.capacityBytes) })),
      }),
    );
    if (spec.alive !== false)
      kvs.push(kv(keys.alive(name), { schemaVersion: 1, host: name, since: 1 }));
    const taken = new Set((spec.allocated ?? []).map((i) => `nvme${i}n1`));
    for (const device of taken) {
      kvs.push(
        kv(keys.allocation(name, device), { schemaVersion: 1, sessionId: 3, token: '3', index: 0 }),
      );
    }
    if (!spec.withoutUsage) kvs.push(kv(keys.usage(name), hostUsage(record, taken)));
  }
  return kvs.sort((a, b) => (a.key < b.key ? -1 : 1));
}

/** The snapshot `poolTable` reads, cut from the same keys, as a store answers it. */
async function snapshotOf(kvs: KeyValue[]): Promise<SnapshotResult> {
  const store = new MemoryKeystore();
  for (const { key, value } of kvs) await store.put(key, value);
  return store.snapshot(poolTableRanges(keys));
}

describe('poolTable', () => {
  const hosts: Record<string, HostSpec> = {
    a: { bricks: { default: 4 }, allocated: [0, 2] },
    b: { bricks: { default: 2, fast: 2 }, allocated: [3] },
    dead: { bricks: { default: 2 }, alive: false, allocated: [1] },
    drained: { bricks: { default: 3, fast: 1 }, enabled: false },
  };

  it('counts quantity, free, allocated and unavailable as the full inventory does', async () => {
    const kvs = inventoryKvs(hosts);
    const expected = poolViews(buildInventory(keys, kvs, 9));
    const table = poolTable(keys, await snapshotOf(kvs));
    expect(table.views).toEqual(expected);
    expect(table.hostsWithoutUsage).toBe(0);
    expect(table.views.map((v) => [v.name, v.quantity, v.free, v.allocated])).toEqual([
      ['default', 11, 4, 3],
      ['fast', 3, 1, 1],
    ]);
  });

  it('lists pools without hosts with zero quantity', async () => {
    expect(
      poolTable(keys, await snapshotOf(inventoryKvs({}))).views.map((v) => v.quantity),
    ).toEqual([0, 0]);
  });

  it('leaves out, and counts, hosts that have no usage record', async () => {
    const kvs = inventoryKvs({ ...hosts, old: { bricks: { default: 8 }, withoutUsage: true } });
    const table = poolTable(keys, await snapshotOf(kvs));
    expect(table.hostsWithoutUsage).toBe(1);
    expect(table.views[0]).toMatchObject({ name: 'default', quantity: 11, free: 4 });
  });

  it('ignores usage of a pool that does not exist', async () => {
    const kvs = inventoryKvs({ a: { bricks: { default: 1 } } });
    kvs.push(
      kv(keys.usage('z'), {
        schemaVersion: 1,
        host: 'z',
        enabled: true,
        pools: { gone: { bricks: 5, allocated: 0 } },
      }),
    );
    expect(poolTable(keys, await snapshotOf(kvs)).views.map((v) => v.quantity)).toEqual([1, 0]);
  });

  it.each([
    [
      { host: 'a', enabled: true, pools: {} },
      'schemaVersion: schemaVersion is missing (record from an older version?)',
    ],
    [{ schemaVersion: 1, host: 'a', enabled: 'yes', pools: {} }, 'enabled: must be a boolean'],
    [
      {
        schemaVersion: 1,
        host: 'a',
        enabled: true,
        pools: { default: { bricks: -1, allocated: 0 } },
      },
      'pools.default.bricks: must be a non-negative integer',
    ],
    [
      { schemaVersion: 1, host: 'a', enabled: true, pools: { default: { bricks: 2 } } },
      'pools.default.allocated: must be a non-negative integer',
    ],
    ['{"schemaVersion": 1, ', 'not valid JSON'],
    [{ schemaVersion: 1, host: 'b', enabled: true, pools: {} }, 'host: "b" does not match the key'],
  ])('leaves out the bad usage record %j, naming key and field', async (record, problem) => {
    // One bad record costs its host only: the other hosts are still counted.
    const kvs = inventoryKvs({ c: { bricks: { default: 2 }, allocated: [1] } });
    kvs.push(kv(keys.usage('a'), record));
    const table = poolTable(keys, await snapshotOf(kvs));
    expect(table.damaged.map((error) => error.message)).toEqual([
      `etcd record /t/inventory/usage/a is invalid: ${problem}`,
    ]);
    expect(table.views.map((v) => [v.name, v.quantity, v.free, v.allocated])).toEqual([
      ['default', 2, 1, 1],
      ['fast', 0, 0, 0],
    ]);
  });

  it('leaves out a bad pool record, naming it, and counts the other pools', async () => {
    const kvs = inventoryKvs({ c: { bricks: { default: 2, fast: 1 } } });
    const fast = kvs.findIndex((entry) => entry.key === keys.pool('fast'));
    kvs[fast] = kv(keys.pool('fast'), '{garbage');
    const table = poolTable(keys, await snapshotOf(kvs));
    expect(table.damaged.map((error) => error.message)).toEqual([
      'etcd record /t/inventory/pools/fast is invalid: not valid JSON',
    ]);
    expect(table.views.map((v) => [v.name, v.quantity, v.free])).toEqual([['default', 2, 2]]);
  });
});

describe('poolCapacities', () => {
  const hosts: Record<string, HostSpec> = {
    a: { bricks: { default: 4 }, allocated: [0, 2] },
    dead: { bricks: { default: 2, fast: 5 }, alive: false },
    drained: { bricks: { default: 3 }, enabled: false },
  };

  it('gives each pool the size of the full table, dead and drained hosts included', async () => {
    const kvs = inventoryKvs(hosts);
    const store = new MemoryKeystore();
    for (const { key, value } of kvs) await store.put(key, value);
    const capacities = poolCapacities(keys, await store.snapshot(poolCapacityRanges(keys)));
    const full = poolTable(keys, await snapshotOf(kvs)).views;
    expect(
      capacities.map(({ name, granularityBytes, quantity }) => ({
        name,
        granularityBytes,
        quantity,
      })),
    ).toEqual(
      full.map(({ name, granularityBytes, quantity }) => ({ name, granularityBytes, quantity })),
    );
    // Few bricks: one buffer may have all of them.
    expect(capacities.map((c) => [c.name, c.quantity, c.largestSessionBricks])).toEqual([
      ['default', 9, 9],
      ['fast', 5, 5],
    ]);
  });

  it('gives each pool the largest buffer one etcd transaction can hold', async () => {
    // 60 hosts of one brick: a buffer may use 42 of them, one brick each.
    const many: Record<string, HostSpec> = Object.fromEntries(
      Array.from({ length: 60 }, (_, i) => [`s${i}`, { bricks: { default: 1 } }]),
    );
    const snapshotOfMany = await snapshotOf(inventoryKvs(many));
    const [onePerHost] = poolCapacities(keys, snapshotOfMany);
    expect(onePerHost).toMatchObject({ quantity: 60, largestSessionBricks: 42 });
    const withBig = await snapshotOf(inventoryKvs({ ...many, big: { bricks: { default: 30 } } }));
    const [big] = poolCapacities(keys, withBig);
    // With a host of 30 more: 61 bricks on 32 hosts (30 + 31 × 1); 62 would need 33 hosts, and a
    // buffer of 62 bricks may use 32.
    expect(big).toMatchObject({ quantity: 90, largestSessionBricks: 61 });
  });

  it('reads only the pool and usage records', () => {
    expect(poolCapacityRanges(keys)).toEqual([{ prefix: keys.pools() }, { prefix: keys.usages() }]);
  });

  it('leaves out a bad usage record as the full table does', async () => {
    const kvs = inventoryKvs({ c: { bricks: { default: 3 } } });
    kvs.push(kv(keys.usage('a'), { schemaVersion: 1, host: 'b', enabled: true, pools: {} }));
    const snapshot = await snapshotOf(kvs);
    expect(poolCapacities(keys, snapshot).map((c) => [c.name, c.quantity])).toEqual([
      ['default', 3],
      ['fast', 0],
    ]);
  });
});
