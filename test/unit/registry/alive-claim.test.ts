/** One owner per storage host: how a liveness key is claimed (in-memory store). */
import { HostOwnedError } from '../../../src/errors/errors';
import { MemoryKeystore } from '../../../src/keystore/memory-keystore';
import { claimAlive } from '../../../src/registry/alive-claim';
import { KeyLayout } from '../../../src/registry/keys';

const keys = new KeyLayout('/t/');
const key = keys.alive('storage1');
let store: MemoryKeystore;

beforeEach(() => {
  store = new MemoryKeystore();
});

afterEach(async () => {
  await store.close();
});

const claim = (lease: string, pid: number, mayReplace?: () => boolean) =>
  claimAlive(store, keys, {
    host: 'storage1',
    lease,
    holder: { pid, machine: 'm1' },
    nowSeconds: 1_700_000_000,
    ...(mayReplace ? { mayReplace } : {}),
  });

describe('claimAlive', () => {
  it('claims a free host on the lease, naming pid, machine and start', async () => {
    const lease = await store.grantLease(10);
    await claim(lease.id, 11);
    const kv = await store.get(key);
    expect(kv?.lease).toBe(lease.id);
    expect(JSON.parse(kv!.value)).toEqual({
      schemaVersion: 1,
      host: 'storage1',
      since: 1_700_000_000,
      pid: 11,
      machine: 'm1',
    });
  });

  it('rewrites its own key on the same lease', async () => {
    const lease = await store.grantLease(10);
    await claim(lease.id, 11);
    await claim(lease.id, 11);
    expect((await store.get(key))?.version).toBe(2);
  });

  it('refuses a host another live daemon holds, naming it, and writes nothing', async () => {
    const first = await store.grantLease(10);
    await claim(first.id, 11);
    const before = await store.get(key);
    const second = await store.grantLease(10);
    const error = await claim(second.id, 12).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostOwnedError);
    expect((error as Error).message).toBe(
      'host storage1 is already served by dacd pid 11 on m1 since 2023-11-14T22:13:20Z: ' +
        'stop that one first, or give this one another DAC_HOST_NAME (if it is gone, its ' +
        'lease runs out within the lease TTL and a new start then succeeds)',
    );
    expect(await store.get(key)).toEqual(before);
    // The first daemon's stop deletes its own key, as before.
    await first.revoke();
    expect(await store.get(key)).toBeUndefined();
  });

  it('takes over a key whose holder is gone, so the old lease no longer deletes it', async () => {
    const first = await store.grantLease(10);
    await claim(first.id, 11);
    const second = await store.grantLease(10);
    await claim(second.id, 12, () => true);
    await first.revoke();
    const kv = await store.get(key);
    expect(kv?.lease).toBe(second.id);
    expect(JSON.parse(kv!.value)).toMatchObject({ pid: 12 });
  });

  it('claims a host whose daemon stopped (its lease revoked)', async () => {
    const first = await store.grantLease(10);
    await claim(first.id, 11);
    await first.revoke();
    const second = await store.grantLease(10);
    await claim(second.id, 12);
    expect((await store.get(key))?.lease).toBe(second.id);
  });

  it('rewrites a damaged liveness record instead of refusing for ever', async () => {
    const other = await store.grantLease(10);
    await store.put(key, 'garbage{', { lease: other.id });
    const lease = await store.grantLease(10);
    await claim(lease.id, 12);
    expect(JSON.parse((await store.get(key))!.value)).toMatchObject({ pid: 12 });
  });

  it('refuses a record of an older version that names no machine', async () => {
    const other = await store.grantLease(10);
    await store.put(key, JSON.stringify({ schemaVersion: 1, host: 'storage1', since: 1, pid: 5 }), {
      lease: other.id,
    });
    const lease = await store.grantLease(10);
    await expect(claim(lease.id, 12)).rejects.toThrow(
      /^host storage1 is already served by dacd pid 5 since 1970-01-01T00:00:01Z/,
    );
  });
});
