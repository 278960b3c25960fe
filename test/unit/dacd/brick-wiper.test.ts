/**
 * dacd's wiper of bricks left by a forced teardown, on the in-memory keystore with a recording
 * wipe: what awaits at start and what is marked while it runs are wiped, then freed; a failed
 * wipe is tried again and frees nothing meanwhile; a step still running is waited for; and a
 * provider that cannot wipe frees nothing.
 */
import pino from 'pino';
import { BrickWiper, type BrickWiperOptions } from '../../../src/dacd/brick-wiper';
import { ProviderError } from '../../../src/errors/errors';
import { MemoryKeystore } from '../../../src/keystore/memory-keystore';
import { KeyLayout } from '../../../src/registry/keys';
import { Registry } from '../../../src/registry/registry';
import { registryViolations } from '../../support/registry-invariants';

const GiB = 1024n ** 3n;
const silent = pino({ enabled: false });
const forced = { by: 'root', reason: 'steps hang' };

async function system() {
  const store = new MemoryKeystore();
  const keys = new KeyLayout('/w/');
  const registry = new Registry(store, keys);
  await registry.ensurePool('pool', GiB);
  const lease = await store.grantLease(60);
  await registry.registerHost({
    name: 'h1',
    bricks: [0, 1, 2].map((i) => ({ device: `nvme${i}n1`, capacityBytes: GiB, pool: 'pool' })),
  });
  await registry.markAlive('h1', lease.id);
  const create = (token: string, bricks: number) =>
    registry.createSession({
      token,
      kind: 'job',
      owner: { uid: 1000, gid: 1000 },
      pool: 'pool',
      requestedBytes: BigInt(bricks) * GiB,
    });
  const free = async () => (await registry.pools())[0]!.free;
  const wiped: string[] = [];
  const wipe = (token: string, devices: readonly string[]) => {
    wiped.push(`${token}:${[...devices].sort().join('+')}`);
    return Promise.resolve();
  };
  const wiper = (options: Partial<BrickWiperOptions> = {}) =>
    new BrickWiper(registry, 'h1', silent, { provider: 'test', wipe, retryMs: 10, ...options });
  return { store, keys, registry, create, free, wiped, wiper };
}

/** Until `check` passes or 2 s are up. */
async function eventually(check: () => Promise<void> | void): Promise<void> {
  const end = Date.now() + 2000;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

describe('BrickWiper', () => {
  it('wipes at start what a forced teardown left while dacd was stopped, then frees it', async () => {
    const { store, keys, registry, create, free, wiped, wiper } = await system();
    await create('11', 2);
    await registry.releaseSessionByForce('11', forced);
    expect(await free()).toBe(1);
    const running = wiper();
    await running.start();
    await running.idle();
    expect(wiped).toEqual([expect.stringMatching(/^11:nvme\dn1\+nvme\dn1$/)]);
    expect(await free()).toBe(3);
    expect(await registryViolations(store, keys)).toEqual([]);
    await running.stop();
  });

  it('wipes what is torn down by force while it runs', async () => {
    const { registry, create, free, wiped, wiper } = await system();
    const running = wiper();
    await running.start();
    await create('12', 1);
    await create('13', 1);
    await registry.releaseSessionByForce('13', forced);
    await eventually(async () => expect(await free()).toBe(2));
    expect(wiped).toEqual([expect.stringMatching(/^13:nvme\dn1$/)]);
    await running.stop();
  });

  it('tries a failed wipe again, and frees nothing until it succeeds', async () => {
    const { registry, create, free, wiper } = await system();
    let failures = 2;
    const attempts: string[] = [];
    const running = wiper({
      wipe: (token) => {
        attempts.push(token);
        if (failures-- > 0) return Promise.reject(new ProviderError('brick is busy'));
        return Promise.resolve();
      },
    });
    await create('14', 1);
    await registry.releaseSessionByForce('14', forced);
    await running.start();
    await running.idle();
    expect(await free()).toBe(2);
    await eventually(async () => expect(await free()).toBe(3));
    expect(attempts).toEqual(['14', '14', '14']);
    await running.stop();
  });

  it('waits for a step of the session that still runs before wiping', async () => {
    const { registry, create, free, wiped, wiper } = await system();
    let settle!: () => void;
    const step = new Promise<void>((resolve) => (settle = resolve));
    const asked: string[] = [];
    const running = wiper({
      settled: (token) => {
        asked.push(token);
        return step;
      },
    });
    await running.start();
    await create('15', 1);
    await registry.releaseSessionByForce('15', forced);
    await eventually(() => expect(asked).toEqual(['15']));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(wiped).toEqual([]);
    settle();
    await eventually(async () => expect(await free()).toBe(3));
    expect(wiped).toHaveLength(1);
    await running.stop();
  });

  it('wipes anyway once a step that hangs has had its time', async () => {
    const { registry, create, free, wiper } = await system();
    const running = wiper({ settled: () => new Promise(() => undefined), settleMs: 20 });
    await create('16', 1);
    await registry.releaseSessionByForce('16', forced);
    await running.start();
    await eventually(async () => expect(await free()).toBe(3));
    await running.stop();
  });

  it('frees nothing when the provider cannot wipe', async () => {
    const { registry, create, free } = await system();
    const running = new BrickWiper(registry, 'h1', silent, { provider: 'lustre' });
    await create('17', 1);
    await registry.releaseSessionByForce('17', forced);
    await running.start();
    await running.idle();
    expect(await free()).toBe(2);
    expect((await registry.bricksAwaitingWipe('h1')).wipes).toHaveLength(1);
    await running.stop();
  });
});
