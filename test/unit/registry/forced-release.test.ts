/**
 * A session torn down by force (Registry.releaseSessionByForce) and the wipe of the bricks it
 * leaves (bricksAwaitingWipe, watchWipes, finishWipe), on the in-memory keystore: the session
 * and its summary go at once, the bricks stay allocated, marked, until the wipe frees them, and
 * the registry's invariants hold at every step.
 */
import { CapacityError, NotFoundError } from '../../../src/errors/errors';
import { MemoryKeystore } from '../../../src/keystore/memory-keystore';
import { readEvents } from '../../../src/registry/event-log';
import { KeyLayout } from '../../../src/registry/keys';
import { AllocationRecord } from '../../../src/registry/record-codecs';
import { decodeRecord } from '../../../src/registry/record-codec';
import { Registry, type PendingWipe } from '../../../src/registry/registry';
import { SlurmReader } from '../../../src/registry/slurm-reader';
import { registryViolations } from '../../support/registry-invariants';
import { expectUsageConsistent } from '../../support/usage-consistency';

const GiB = 1024n ** 3n;
const NOW_MS = 1_800_000_000_000;
const by = { by: 'root', reason: 'dac1 is dead' };

async function system() {
  const store = new MemoryKeystore();
  const keys = new KeyLayout('/t/');
  const registry = new Registry(store, keys, { now: () => NOW_MS });
  await registry.ensurePool('pool', GiB);
  const lease = await store.grantLease(60);
  for (const host of ['h1', 'h2']) {
    await registry.registerHost({
      name: host,
      bricks: [0, 1].map((i) => ({ device: `nvme${i}n1`, capacityBytes: GiB, pool: 'pool' })),
    });
    await registry.markAlive(host, lease.id);
  }
  const create = (token: string, bricks: number) =>
    registry.createSession({
      token,
      kind: 'job',
      owner: { uid: 1000, gid: 1000 },
      pool: 'pool',
      requestedBytes: BigInt(bricks) * GiB,
    });
  const allocation = async (host: string, device: string) => {
    const key = keys.allocation(host, device);
    const kv = await store.get(key);
    return kv ? decodeRecord(AllocationRecord, key, kv.value) : undefined;
  };
  const consistent = async () => {
    expect(await registryViolations(store, keys)).toEqual([]);
    await expectUsageConsistent(store, registry);
  };
  /** Free bricks as dacctl (every record) and as Slurm's `pools` (the usage records) count. */
  const free = async () => {
    const full = (await registry.pools())[0]!.free;
    const slurm = (await new SlurmReader(store, keys).poolTable()).views[0]!.free;
    expect(slurm).toBe(full);
    return full;
  };
  return { store, keys, registry, create, allocation, consistent, free };
}

describe('releaseSessionByForce', () => {
  it('removes the session and its summary but keeps its bricks, marked for a wipe', async () => {
    const { store, keys, registry, create, allocation, consistent, free } = await system();
    const { session } = await create('11', 3);
    await create('12', 1);
    expect(await free()).toBe(0);

    const released = await registry.releaseSessionByForce('11', by);
    expect(released?.session).toEqual(session);
    const hosts = [...new Set(session.bricks.map((b) => b.host))];
    expect(released?.wiping).toEqual(
      hosts.map((host) => ({
        host,
        devices: session.bricks.filter((b) => b.host === host).map((b) => b.device),
      })),
    );
    expect(await registry.getSession('11')).toBeUndefined();
    // Slurm's show_sessions no longer lists it; its pools still count the bricks allocated.
    const slurm = new SlurmReader(store, keys);
    expect((await slurm.sessionSummaries()).map((s) => s.token)).toEqual(['12']);
    expect(await free()).toBe(0);
    for (const [index, brick] of session.bricks.entries()) {
      expect(await allocation(brick.host, brick.device)).toEqual({
        schemaVersion: 1,
        sessionId: session.id,
        token: '11',
        index,
        wipe: { by: 'root', reason: 'dac1 is dead', at: NOW_MS / 1000 },
      });
    }
    await consistent();
    // Placement does not take a brick awaiting a wipe.
    await expect(create('13', 1)).rejects.toBeInstanceOf(CapacityError);
    // The history says it was by force, who did it and why.
    const { events } = await readEvents(store, keys, NOW_MS - 3600_000, NOW_MS);
    // (Both at the same fixed time: in no particular order.)
    expect(
      events
        .filter((e) => e.token === '11')
        .map((e) => e.kind)
        .sort(),
    ).toEqual(['session-created', 'session-forced-teardown']);
    expect(events.find((e) => e.kind === 'session-forced-teardown')).toEqual({
      schemaVersion: 1,
      at: NOW_MS,
      kind: 'session-forced-teardown',
      token: '11',
      uid: 1000,
      host: session.reconciler,
      by: 'root',
      message: 'torn down by force: dac1 is dead',
    });
  });

  it('answers undefined for a session that does not exist, and changes nothing', async () => {
    const { store, registry, create } = await system();
    await create('11', 1);
    const before = await store.range('/t/');
    expect(await registry.releaseSessionByForce('99', by)).toBeUndefined();
    expect((await store.range('/t/')).kvs).toEqual(before.kvs);
  });

  it('leaves alone an allocation record that names another session', async () => {
    const { store, keys, registry, create, allocation } = await system();
    const { session } = await create('11', 2);
    const [first, second] = session.bricks;
    const key = keys.allocation(second!.host, second!.device);
    const other = { schemaVersion: 1, sessionId: 999, token: '77', index: 0 };
    await store.put(key, JSON.stringify(other));
    const released = await registry.releaseSessionByForce('11', by);
    expect(released?.wiping).toEqual([{ host: first!.host, devices: [first!.device] }]);
    expect(await allocation(second!.host, second!.device)).toEqual(other);
  });

  it('a session torn down by force with no bricks leaves nothing to wipe', async () => {
    const { registry, create, consistent } = await system();
    await create('11', 0);
    expect((await registry.releaseSessionByForce('11', by))?.wiping).toEqual([]);
    await consistent();
  });
});

describe('the wipe of bricks left by a forced teardown', () => {
  it('lists and watches them per host, and frees them once wiped', async () => {
    const { registry, create, allocation, consistent, free } = await system();
    const seen: PendingWipe[] = [];
    const { revision } = await registry.bricksAwaitingWipe('h1');
    const watch = await registry.watchWipes('h1', revision + 1, (wipe) => seen.push(wipe));
    const { session } = await create('11', 4);
    await registry.releaseSessionByForce('11', by);
    const mine = session.bricks.filter((b) => b.host === 'h1').map((b) => b.device);
    expect(mine).toHaveLength(2);

    const { wipes } = await registry.bricksAwaitingWipe('h1');
    const expected = mine.map((device) => ({
      host: 'h1',
      device,
      token: '11',
      sessionId: session.id,
      wipe: { by: 'root', reason: 'dac1 is dead', at: NOW_MS / 1000 },
    }));
    expect(wipes.sort((a, b) => a.device.localeCompare(b.device))).toEqual(
      [...expected].sort((a, b) => a.device.localeCompare(b.device)),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.map((w) => w.device).sort()).toEqual([...mine].sort());
    await watch.close();

    // Another token's wipe frees nothing; this one frees exactly h1's bricks.
    expect(await registry.finishWipe('h1', '12', mine)).toEqual([]);
    expect(await registry.finishWipe('h1', '11', mine)).toEqual(mine);
    for (const device of mine) expect(await allocation('h1', device)).toBeUndefined();
    expect(await free()).toBe(2);
    await consistent();
    // Again: nothing left to free.
    expect(await registry.finishWipe('h1', '11', mine)).toEqual([]);
    expect((await registry.bricksAwaitingWipe('h2')).wipes).toHaveLength(2);
    expect(await registry.finishWipe('h2', '11', ['nvme0n1', 'nvme1n1'])).toHaveLength(2);
    expect(await free()).toBe(4);
    await consistent();
  });

  it('never frees a brick that a live session holds', async () => {
    const { registry, create, allocation } = await system();
    const { session } = await create('11', 1);
    const brick = session.bricks[0]!;
    expect(await registry.finishWipe(brick.host, '11', [brick.device])).toEqual([]);
    expect(await allocation(brick.host, brick.device)).toMatchObject({ token: '11' });
  });

  it('refuses a host that is not registered', async () => {
    const { registry } = await system();
    await expect(registry.finishWipe('h9', '11', ['nvme0n1'])).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('keeps the invariant checker able to see a wiped brick taken by a session', async () => {
    const { store, keys, registry, create } = await system();
    const { session } = await create('11', 1);
    const { session: other } = await create('12', 1);
    await registry.releaseSessionByForce('11', by);
    const stored = JSON.parse((await store.get(keys.session('12')))!.value) as object;
    await store.put(keys.session('12'), JSON.stringify({ ...stored, bricks: session.bricks }));
    const brick = `${session.bricks[0]!.host}/${session.bricks[0]!.device}`;
    expect(await registryViolations(store, keys)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(`awaits a wipe, but session 12 lists brick ${brick}`),
      ]),
    );
    expect(other.bricks).not.toEqual(session.bricks);
  });
});
