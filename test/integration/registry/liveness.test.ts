import { KeyLayout } from '../../../src/registry/keys';
import { Registry } from '../../../src/registry/registry';
import type { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import type { Lease } from '../../../src/keystore/keystore';
import { testEtcdStore } from '../../support/test-etcd';

const GRAN = 1024n ** 3n;
const TTL = 1;

describe('host liveness', () => {
  let store: EtcdKeystore;
  let registry: Registry;
  let h1Lease: Lease;

  beforeEach(async () => {
    const created = testEtcdStore('liveness');
    store = created.store;
    registry = new Registry(store, new KeyLayout(created.config.prefix));
    await registry.ensurePool('default', GRAN);
    for (const name of ['h1', 'h2']) {
      await registry.registerHost({
        name,
        bricks: [0, 1, 2].map((i) => ({
          device: `nvme${i}n1`,
          capacityBytes: GRAN,
          pool: 'default',
        })),
      });
    }
    h1Lease = await store.grantLease(60);
    await registry.markAlive('h1', h1Lease.id);
  });
  afterEach(async () => {
    await store.close();
  });

  const request = (token: string, bricks: number) =>
    registry.createSession({
      token,
      kind: 'job',
      owner: { uid: 1, gid: 1 },
      pool: 'default',
      requestedBytes: BigInt(bricks) * GRAN,
    });

  it('stops giving bricks to a host within TTL + 1 s of its lease expiring', async () => {
    const lease = await store.grantLease(TTL);
    const grantedAt = Date.now();
    await registry.markAlive('h2', lease.id);
    const before = await request('1', 2);
    expect(new Set(before.session.bricks.map((b) => b.host))).toEqual(new Set(['h1', 'h2']));

    // No keepalive: the lease lapses after TTL seconds.
    await new Promise((r) => setTimeout(r, grantedAt + (TTL + 1) * 1000 - Date.now()));
    const after = await request('2', 2);
    expect(after.session.bricks.map((b) => b.host)).toEqual(['h1', 'h1']);
    expect((await registry.pools())[0]).toMatchObject({ quantity: 6, free: 0, unavailable: 2 });
  });

  it('keeps giving bricks to a host that keeps its lease alive', async () => {
    const lease = await store.grantLease(TTL);
    await registry.markAlive('h2', lease.id);
    const timer = setInterval(() => void lease.keepAliveOnce().catch(() => undefined), 300);
    try {
      await new Promise((r) => setTimeout(r, (TTL + 1) * 1000));
      const { session } = await request('3', 2);
      expect(new Set(session.bricks.map((b) => b.host))).toEqual(new Set(['h1', 'h2']));
    } finally {
      clearInterval(timer);
      await lease.revoke();
    }
  });

  it('treats every host whose lease was revoked as dead', async () => {
    const lease = await store.grantLease(30);
    await h1Lease.revoke(); // a host's key is claimed only when free
    await registry.markAlive('h2', lease.id);
    await registry.markAlive('h1', lease.id);
    // Both hosts now hang on one lease; revoking it takes both out of placement.
    await lease.revoke();
    await expect(request('4', 1)).rejects.toThrow(
      'pool "default" has 0 free bricks of 1 GiB; this request needs 1 (1 GiB)',
    );
  });
});
