/**
 * Many allocations at once from several OS processes against the real etcd: no brick is ever
 * in two sessions, every request that fits succeeds, the rest fail with the capacity error.
 * And a burst of 50 in one process on a nearly full pool: no conflict ends in a timeout.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BrickRef } from '../../../src/registry/model';
import { KeyLayout } from '../../../src/registry/keys';
import { Registry } from '../../../src/registry/registry';
import { testEtcdStore } from '../../support/test-etcd';
import type { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import { addHosts, openRegistry } from '../../support/registry-fixture';
import { registryViolations } from '../../support/registry-invariants';
import { expectUsageConsistent } from '../../support/usage-consistency';

const run = promisify(execFile);
const GRAN = 1024n ** 3n;
const PROCESSES = 4;
const WORKER = join(__dirname, '..', '..', 'support', 'allocation-worker.js');

interface Outcome {
  token: string;
  ok: boolean;
  bricks?: BrickRef[];
  code?: string;
  message?: string;
}

async function runWorkers(
  prefix: string,
  perProcess: (process: number) => { token: string; bytes: string }[],
): Promise<Outcome[]> {
  const endpoints = [process.env.ETCDCTL_ENDPOINTS!];
  const outputs = await Promise.all(
    Array.from({ length: PROCESSES }, (_, p) =>
      run(
        process.execPath,
        [WORKER, JSON.stringify({ endpoints, prefix, requests: perProcess(p) })],
        {
          maxBuffer: 16 * 1024 * 1024,
        },
      ),
    ),
  );
  return outputs.flatMap(({ stdout }) => JSON.parse(stdout) as Outcome[]);
}

describe('concurrent allocation from several processes', () => {
  let store: EtcdKeystore;
  let registry: Registry;
  let prefix: string;

  beforeAll(async () => {
    const created = testEtcdStore('concurrency');
    store = created.store;
    prefix = created.config.prefix;
    registry = new Registry(store, new KeyLayout(prefix));
    await registry.ensurePool('default', GRAN);
    const lease = await store.grantLease(60);
    for (let h = 0; h < 10; h += 1) {
      const name = `host${String(h).padStart(2, '0')}`;
      await registry.registerHost({
        name,
        bricks: Array.from({ length: 12 }, (_, i) => ({
          device: `nvme${i}n1`,
          capacityBytes: GRAN,
          pool: 'default',
        })),
      });
      await registry.markAlive(name, lease.id);
    }
  });
  afterAll(async () => {
    await store.close();
  });

  async function assertNoBrickSharedAndConsistent(): Promise<number> {
    const sessions = await registry.sessions();
    const owners = new Map<string, string>();
    for (const session of sessions) {
      for (const brick of session.bricks) {
        const id = `${brick.host}/${brick.device}`;
        expect(owners.get(id)).toBeUndefined();
        owners.set(id, session.token);
      }
    }
    const inventory = await registry.readInventory();
    expect(inventory.allocations.size).toBe(owners.size);
    for (const [id, allocation] of inventory.allocations) {
      expect(owners.get(id)).toBe(allocation.token);
    }
    await expectUsageConsistent(store, registry);
    return owners.size;
  }

  it('grants 100 one-brick requests from 4 processes when all fit', async () => {
    const outcomes = await runWorkers(prefix, (p) =>
      Array.from({ length: 25 }, (_, i) => ({
        token: `${1000 + p * 100 + i}`,
        bytes: String(GRAN),
      })),
    );
    expect(outcomes).toHaveLength(100);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(await assertNoBrickSharedAndConsistent()).toBe(100);
    expect((await registry.pools())[0]).toMatchObject({ quantity: 120, free: 20 });
  }, 120000);

  it('fails only the requests that no longer fit, with the capacity error', async () => {
    // 20 bricks left; 60 requests of 1-3 bricks (120 bricks asked for).
    const outcomes = await runWorkers(prefix, (p) =>
      Array.from({ length: 15 }, (_, i) => ({
        token: `${5000 + p * 100 + i}`,
        bytes: String(BigInt(1 + ((p + i) % 3)) * GRAN),
      })),
    );
    expect(outcomes).toHaveLength(60);
    const failures = outcomes.filter((o) => !o.ok);
    for (const failure of failures) {
      expect(failure.code).toBe('E_CAPACITY');
      expect(failure.message).toMatch(
        /^pool "default" has \d+ free bricks? of 1 GiB; this request needs \d \(\d GiB\)$/,
      );
    }
    const granted = outcomes.filter((o) => o.ok);
    expect(granted.length).toBeGreaterThan(0);
    const used = await assertNoBrickSharedAndConsistent();
    const grantedBricks = granted.reduce((sum, o) => sum + o.bricks!.length, 0);
    expect(used).toBe(100 + grantedBricks);
    const free = (await registry.pools())[0]!.free;
    expect(free).toBe(120 - used);
    // Bricks are only ever taken during this test, so a request that failed could not have
    // fitted into what is free now either.
    for (const failure of failures) {
      const wanted = Number(/needs (\d)/.exec(failure.message!)![1]);
      expect(free).toBeLessThan(wanted);
    }
  }, 120000);
});

describe('a burst of setups on a nearly full pool, in one process', () => {
  it('gives every free brick once and fails the rest with the capacity error, never a timeout', async () => {
    const fixture = openRegistry('burst');
    const { store, registry } = fixture;
    try {
      // 3 hosts × 8 bricks: 50 setups of one brick compete for three usage records.
      await addHosts(fixture, {
        pool: 'default',
        granularity: GRAN,
        hosts: ['dac1', 'dac2', 'dac3'],
        bricksPerHost: 8,
      });
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          registry
            .createSession({
              token: String(7000 + i),
              kind: 'job',
              owner: { uid: 1000, gid: 1000 },
              pool: 'default',
              requestedBytes: GRAN,
            })
            .then(
              () => 'granted',
              (error: { code?: string; message?: string }) => `${error.code}: ${error.message}`,
            ),
        ),
      );
      const refused =
        'E_CAPACITY: pool "default" has 0 free bricks of 1 GiB; this request needs 1 (1 GiB)';
      expect(outcomes.filter((o) => o !== 'granted' && o !== refused)).toEqual([]);
      expect(outcomes.filter((o) => o === 'granted')).toHaveLength(24);
      expect(await registryViolations(store, registry.keys)).toEqual([]);
    } finally {
      await store.txn([], [{ type: 'deletePrefix', prefix: fixture.prefix }]);
      await store.close();
    }
  }, 120000);
});
