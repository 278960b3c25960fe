/**
 * The invariant checker of the chaos run finds each kind of inconsistency it claims to: a
 * checker that cannot fail would prove nothing.
 */
import { MemoryKeystore } from '../../../src/keystore/memory-keystore';
import { KeyLayout } from '../../../src/registry/keys';
import { Registry } from '../../../src/registry/registry';
import { summaryBucketOf } from '../../../src/registry/session-summary';
import { registryViolations } from '../../support/registry-invariants';

const GiB = 1024n ** 3n;

async function twoSessions() {
  const store = new MemoryKeystore();
  const keys = new KeyLayout('/t/');
  const registry = new Registry(store, keys);
  await registry.ensurePool('pool', GiB);
  const lease = await store.grantLease(60);
  for (const host of ['h1', 'h2']) {
    await registry.registerHost({
      name: host,
      bricks: [0, 1].map((i) => ({ device: `nvme${i}n1`, capacityBytes: GiB, pool: 'pool' })),
    });
    await registry.markAlive(host, lease.id);
  }
  for (const token of ['11', '12']) {
    await registry.createSession({
      token,
      kind: 'job',
      owner: { uid: 1000, gid: 1000 },
      pool: 'pool',
      requestedBytes: 2n * GiB,
      reconciler: 'h1',
      stageIn: [],
      stageOut: [],
    });
  }
  const session = async (token: string) => (await registry.getSession(token))!.record;
  return { store, keys, registry, session };
}

describe('registryViolations', () => {
  it('finds nothing wrong in what the registry writes', async () => {
    const { store, keys, registry } = await twoSessions();
    expect(await registryViolations(store, keys)).toEqual([]);
    await registry.releaseSession('11');
    expect(await registryViolations(store, keys)).toEqual([]);
  });

  it('finds a brick in two sessions', async () => {
    const { store, keys, session } = await twoSessions();
    const [a, b] = [await session('11'), await session('12')];
    await store.put(
      keys.session('12'),
      JSON.stringify({ ...JSON.parse(await raw(store, keys.session('12'))), bricks: a.bricks }),
    );
    const found = await registryViolations(store, keys);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^brick h\d\/nvme\dn1 is in sessions 11 and 12$/),
      ]),
    );
    expect(b.bricks).not.toEqual(a.bricks);
  });

  it('finds an allocation key missing, and one of no session', async () => {
    const { store, keys, session } = await twoSessions();
    const brick = (await session('11')).bricks[0]!;
    const key = keys.allocation(brick.host, brick.device);
    const value = await raw(store, key);
    await store.delete(key);
    expect(await registryViolations(store, keys)).toEqual(
      expect.arrayContaining([
        `session 11 lists brick ${brick.host}/${brick.device}, which has no allocation key`,
      ]),
    );
    await store.put(key, value);
    await store.delete(keys.session('11'));
    expect(await registryViolations(store, keys)).toEqual(
      expect.arrayContaining([
        `${key} names session 11, which does not list brick ${brick.host}/${brick.device}`,
      ]),
    );
  });

  it('finds a usage record that disagrees, a missing summary and an unreadable record', async () => {
    const { store, keys } = await twoSessions();
    const usage = JSON.parse(await raw(store, keys.usage('h1'))) as {
      pools: { pool: { allocated: number } };
    };
    usage.pools.pool.allocated += 1;
    await store.put(keys.usage('h1'), JSON.stringify(usage));
    await store.put(
      keys.summaryBucket(summaryBucketOf('11')),
      JSON.stringify({ schemaVersion: 1, summaries: [] }),
    );
    await store.put(keys.host('h2'), '{garbage');
    const found = await registryViolations(store, keys);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/t\/inventory\/usage\/h1 is .*; the allocations give /),
        'session 11 has no summary',
        expect.stringMatching(/^\/t\/inventory\/hosts\/h2: cannot be read/),
      ]),
    );
  });
});

async function raw(store: MemoryKeystore, key: string): Promise<string> {
  const kv = await store.get(key);
  if (!kv) throw new Error(`no ${key}`);
  return kv.value;
}
