/**
 * One damaged record costs at most its own host, on a real etcd and through the real CLI:
 * garbage in one host's host, usage, liveness or allocation record leaves that host out of
 * placement while the others keep taking buffers and Slurm keeps getting its pool table; the
 * owner (the host's dacd, registering) rewrites what it can, and a teardown on that host is
 * never held by its damaged usage record.
 */
import { RecordError } from '../../../src/errors/errors';
import { HostUsageRecord } from '../../../src/registry/record-codecs';
import { decodeRecord } from '../../../src/registry/record-codec';
import { summaryBucketOf } from '../../../src/registry/session-summary';
import { SlurmReader } from '../../../src/registry/slurm-reader';
import { runBinary } from '../../support/cli';
import {
  addHosts,
  bricks,
  openRegistry,
  type RegistryFixture,
} from '../../support/registry-fixture';
import { expectUsageConsistent } from '../../support/usage-consistency';

const GRAN = 1024n ** 3n;
let fixture: RegistryFixture;

beforeEach(async () => {
  fixture = openRegistry('damaged');
  await addHosts(fixture, {
    pool: 'default',
    granularity: GRAN,
    hosts: ['h1', 'h2'],
    bricksPerHost: 2,
  });
});

afterEach(async () => {
  await fixture.store.txn([], [{ type: 'deletePrefix', prefix: fixture.prefix }]);
  await fixture.store.close();
});

const request = (token: string, count: number) =>
  fixture.registry.createSession({
    token,
    kind: 'job',
    owner: { uid: 1, gid: 1 },
    pool: 'default',
    requestedBytes: BigInt(count) * GRAN,
  });

async function slurmPools(): Promise<{ code: number | null; pools: unknown }> {
  const run = await runBinary('dw_wlm_cli', ['--function', 'pools'], { prefix: fixture.prefix });
  return { code: run.code, pools: run.code === 0 ? JSON.parse(run.stdout) : run.output };
}

describe('a damaged record of one host', () => {
  const keysOf = () => fixture.registry.keys;
  it.each([
    ['host', () => keysOf().host('h2')],
    ['usage', () => keysOf().usage('h2')],
    ['liveness', () => keysOf().alive('h2')],
    ['allocation', () => keysOf().allocation('h2', 'nvme0n1')],
  ])('(%s) leaves only that host out of placement and names its key', async (_what, key) => {
    await fixture.store.put(key(), '{garbage');
    // Setups go on, on the other host.
    const { session } = await request('7', 2);
    expect(session.bricks.map((b) => b.host)).toEqual(['h1', 'h1']);
    // A request larger than what is left says which host is left out and why.
    await expect(request('8', 1)).rejects.toThrow(
      'pool "default" has 0 free bricks of 1 GiB; this request needs 1 (1 GiB); ' +
        'hosts left out: a record of theirs is damaged: h2',
    );
    // Slurm still gets its pool table.
    expect((await slurmPools()).code).toBe(0);
    // The operator's full view names the key.
    await expect(fixture.registry.pools()).rejects.toThrow(
      new RecordError(key(), 'not valid JSON'),
    );
  });

  it('(usage) drops only that host from the pool table Slurm reads', async () => {
    await fixture.store.put(fixture.registry.keys.usage('h2'), '{garbage');
    const { code, pools } = await slurmPools();
    expect(code).toBe(0);
    expect(pools).toMatchObject({
      pools: [{ id: 'default', quantity: 2, free: 2, units: 'bytes' }],
    });
  });

  it('is rewritten by the host registering again (its dacd starting)', async () => {
    const keys = fixture.registry.keys;
    await fixture.store.put(keys.host('h2'), '{garbage');
    await fixture.store.put(keys.usage('h2'), '{"schemaVersion":1}');
    expect(
      await fixture.registry.registerHost({ name: 'h2', bricks: bricks(2, GRAN, 'default') }),
    ).toBe(true);
    await expect(fixture.registry.pools()).resolves.toMatchObject([
      { name: 'default', quantity: 4, free: 4 },
    ]);
    await expectUsageConsistent(fixture.store, fixture.registry);
  });

  it('(usage) does not hold a teardown of a session on that host', async () => {
    const keys = fixture.registry.keys;
    await request('9', 4);
    await fixture.store.put(keys.usage('h2'), '{garbage');
    expect((await fixture.registry.releaseSession('9'))?.token).toBe('9');
    const kv = (await fixture.store.get(keys.usage('h2')))!;
    expect(decodeRecord(HostUsageRecord, kv.key, kv.value).pools).toEqual({
      default: { bricks: 2, allocated: 0 },
    });
    await expectUsageConsistent(fixture.store, fixture.registry);
  });
});

describe('a damaged session record', () => {
  /** A token other than `token` whose summary shares its bucket. */
  function neighbourOf(token: string): string {
    for (let n = 100; ; n++) {
      if (String(n) !== token && summaryBucketOf(String(n)) === summaryBucketOf(token)) {
        return String(n);
      }
    }
  }

  it('never stops a dacd from starting, and Slurm still sees the session', async () => {
    const { registry, store } = fixture;
    await request('41', 1);
    await request('42', 1);
    const reader = new SlurmReader(store, registry.keys);
    const before = await reader.sessionSummaries();
    await store.put(registry.keys.session('42'), '{garbage');
    // What dacd does at start: no error, nothing to rewrite.
    expect(await registry.writeMissingSummaries()).toEqual([]);
    expect(await reader.sessionSummaries()).toEqual(before);
    // The operator's view names the key.
    await expect(registry.sessions()).rejects.toThrow(
      new RecordError(registry.keys.session('42'), 'not valid JSON'),
    );
  });

  it('does not stop setups and teardowns of the sessions in its summary bucket', async () => {
    const { registry, store } = fixture;
    await request('42', 1);
    await store.put(registry.keys.session('42'), '{garbage');
    const neighbour = neighbourOf('42');
    await request(neighbour, 1);
    expect((await registry.releaseSession(neighbour))?.token).toBe(neighbour);
    // Also when the bucket itself was damaged: it is rebuilt from the sessions that can be read.
    await store.put(registry.keys.summaryBucket(summaryBucketOf('42')), '{garbage');
    await request(neighbour, 1);
    const reader = new SlurmReader(store, registry.keys);
    // The damaged session's summary is lost with its bucket: it is listed with what its key
    // tells (token, id), so that Slurm keeps seeing it and the others are not hidden.
    const damaged = await store.get(registry.keys.session('42'));
    const summaries = await reader.sessionSummaries();
    expect(summaries.map((s) => s.token).sort()).toEqual([neighbour, '42'].sort());
    expect(summaries.find((s) => s.token === '42')).toEqual({
      id: damaged!.createRevision,
      token: '42',
      uid: 0,
      createdAt: 0,
      bytes: 0n,
      nodes: 0,
    });
    // The same when dacd rebuilds every bucket at its start.
    await store.put(registry.keys.summaryBucket(summaryBucketOf('42')), '{garbage');
    expect(await registry.writeMissingSummaries()).toEqual(expect.arrayContaining(['42']));
    expect((await reader.sessionSummaries()).map((s) => s.token).sort()).toEqual(
      [neighbour, '42'].sort(),
    );
  });
});
