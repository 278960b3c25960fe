import {
  CapacityError,
  ConflictError,
  NotFoundError,
  RecordError,
} from '../../../src/errors/errors';
import { MAX_STAGING_BYTES } from '../../../src/directives/validate';
import { KeyLayout } from '../../../src/registry/keys';
import type { StageRequest } from '../../../src/registry/model';
import { Registry } from '../../../src/registry/registry';
import type { Keystore, Lease } from '../../../src/keystore/keystore';
import { testEtcdStore } from '../../support/test-etcd';
import { expectUsageConsistent } from '../../support/usage-consistency';
import { SlurmReader, SummaryMismatchError } from '../../../src/registry/slurm-reader';
import { summariseSession, summaryBucketOf } from '../../../src/registry/session-summary';

const GiB = 1024n ** 3n;
const GRAN = 1600n * GiB;

describe('Registry on a real etcd', () => {
  let store: Keystore;
  let registry: Registry;
  let keys: KeyLayout;

  beforeEach(async () => {
    const created = testEtcdStore('registry');
    store = created.store;
    keys = new KeyLayout(created.config.prefix);
    registry = new Registry(store, keys);
    await registry.ensurePool('default', GRAN);
  });
  afterEach(async () => {
    await store.close();
  });

  const leases = new Map<string, Lease>();
  beforeEach(() => leases.clear());

  async function addHost(name: string, bricks: number, alive = true): Promise<void> {
    await registry.registerHost({
      name,
      bricks: Array.from({ length: bricks }, (_, i) => ({
        device: `nvme${i}n1`,
        capacityBytes: GRAN,
        pool: 'default',
      })),
    });
    if (alive) {
      // Registering again is the same daemon again: its host is claimed on its own lease.
      const lease = leases.get(name) ?? (await store.grantLease(30));
      leases.set(name, lease);
      await registry.markAlive(name, lease.id);
    }
  }

  it('reports quantity and free per pool from the inventory', async () => {
    await addHost('h1', 4);
    await addHost('h2', 4, false);
    const [pool] = await registry.pools();
    expect(pool).toMatchObject({ name: 'default', granularityBytes: GRAN, quantity: 8, free: 4 });
    expect(pool?.unavailable).toBe(4);
  });

  it('stores and releases a job with the most staging job_process accepts', async () => {
    await addHost('h1', 2);
    const stageIn: StageRequest[] = [];
    let bytes = 0;
    for (let i = 0; ; i++) {
      const request: StageRequest = {
        source: `/home/user/inputs/file-${i}.dat`,
        destination: `$DW_JOB_STRIPED/inputs/file-${i}.dat`,
        type: 'file',
      };
      const size = JSON.stringify(request).length + 1;
      if (bytes + size > MAX_STAGING_BYTES) break;
      bytes += size;
      stageIn.push(request);
    }
    const { session } = await registry.createSession({
      token: '9100',
      kind: 'job',
      owner: { uid: 1, gid: 1 },
      pool: 'default',
      requestedBytes: GRAN,
      // The limit is for stage_in and stage_out lines together.
      stageIn: stageIn.slice(0, 5000),
      stageOut: stageIn.slice(5000),
    });
    expect(session.stageIn).toHaveLength(5000);
    expect((await registry.getSession('9100'))?.record.stageOut).toHaveLength(
      stageIn.length - 5000,
    );
    expect((await registry.releaseSession('9100'))?.token).toBe('9100');
  });

  it('allocates a session spread over hosts and frees it on release', async () => {
    await addHost('h1', 4);
    await addHost('h2', 4);
    const { session, created } = await registry.createSession({
      token: '1234',
      kind: 'job',
      owner: { uid: 1001, gid: 1001 },
      pool: 'default',
      requestedBytes: 3n * GRAN - 1n,
    });
    expect(created).toBe(true);
    expect(session.bricks).toHaveLength(3);
    expect(new Set(session.bricks.map((b) => b.host)).size).toBe(2);
    expect((await registry.pools())[0]?.free).toBe(5);

    const again = await registry.createSession({
      token: '1234',
      kind: 'job',
      owner: { uid: 1001, gid: 1001 },
      pool: 'default',
      requestedBytes: 3n * GRAN,
    });
    expect(again.created).toBe(false);
    expect(again.session.id).toBe(session.id);
    expect((await registry.pools())[0]?.free).toBe(5);

    const released = await registry.releaseSession('1234');
    expect(released?.id).toBe(session.id);
    expect((await registry.pools())[0]?.free).toBe(8);
    expect(await registry.releaseSession('1234')).toBeUndefined();
  });

  /** A job session of `bricks` whole bricks. */
  const jobOf = (token: string, bricks: bigint) => ({
    token,
    kind: 'job' as const,
    owner: { uid: 1001, gid: 1001 },
    pool: 'default',
    requestedBytes: bricks * GRAN,
  });

  it('allocates and releases sessions of up to 124 bricks, each in one transaction', async () => {
    // 43 bricks on 50 hosts of 2 went over etcd's 128 compares when every brick took a host.
    for (let i = 0; i < 50; i += 1) await addHost(`s${String(i).padStart(2, '0')}`, 2);
    await addHost('big', 124);
    // The largest a session can be: 124 bricks, all on the one host that has them.
    const whole = await registry.createSession(jobOf('124', 124n));
    expect(new Set(whole.session.bricks.map((b) => b.host))).toEqual(new Set(['big']));
    const wide = await registry.createSession(jobOf('43', 43n));
    expect(wide.session.bricks).toHaveLength(43);
    expect(new Set(wide.session.bricks.map((b) => b.host)).size).toBeLessThanOrEqual(41);
    await expectUsageConsistent(store, registry);
    expect((await registry.pools())[0]?.free).toBe(100 + 124 - 43 - 124);

    await registry.releaseSession('43');
    await registry.releaseSession('124');
    expect((await registry.pools())[0]?.free).toBe(224);
    await expectUsageConsistent(store, registry);
  });

  it('refuses a session no transaction can hold, with the largest that fits, writing nothing', async () => {
    for (let i = 0; i < 60; i += 1) await addHost(`s${String(i).padStart(2, '0')}`, 1);
    const attempt = registry.createSession(jobOf('77', 50n));
    await expect(attempt).rejects.toThrow(CapacityError);
    await expect(attempt).rejects.toThrow('one buffer can have at most 42 (65.6 TiB)');
    expect(await registry.getSession('77')).toBeUndefined();
    expect((await registry.pools())[0]?.free).toBe(60);
  });

  it('gives every session a distinct integer id', async () => {
    await addHost('h1', 2);
    const ids = new Set<number>();
    for (const token of ['1', '2', '3']) {
      const { session } = await registry.createSession({
        token,
        kind: 'job',
        owner: { uid: 1, gid: 1 },
        pool: 'default',
        requestedBytes: 0n,
      });
      expect(Number.isInteger(session.id)).toBe(true);
      ids.add(session.id);
    }
    expect(ids.size).toBe(3);
  });

  it('fails with the numbers when the pool is too small', async () => {
    await addHost('h1', 3);
    const attempt = registry.createSession({
      token: '99',
      kind: 'job',
      owner: { uid: 1, gid: 1 },
      pool: 'default',
      requestedBytes: 5n * GRAN,
    });
    await expect(attempt).rejects.toThrow(CapacityError);
    await expect(attempt).rejects.toThrow(
      'pool "default" has 3 free bricks of 1.6 TiB; this request needs 5 (7.8 TiB)',
    );
    expect(await registry.getSession('99')).toBeUndefined();
  });

  it('creates a zero-capacity session even when the pool is full', async () => {
    await addHost('h1', 1);
    await registry.createSession({
      token: '1',
      kind: 'job',
      owner: { uid: 1, gid: 1 },
      pool: 'default',
      requestedBytes: GRAN,
    });
    expect((await registry.pools())[0]?.free).toBe(0);
    const { session } = await registry.createSession({
      token: '2',
      kind: 'job',
      owner: { uid: 1, gid: 1 },
      pool: 'default',
      requestedBytes: 0n,
    });
    expect(session.bricks).toEqual([]);
  });

  it('never places bricks on a drained host', async () => {
    await addHost('h1', 2);
    await addHost('h2', 2);
    await registry.setHostEnabled('h2', false, 'replacing nvme1');
    const { session } = await registry.createSession({
      token: '5',
      kind: 'job',
      owner: { uid: 1, gid: 1 },
      pool: 'default',
      requestedBytes: 2n * GRAN,
    });
    expect(session.bricks.map((b) => b.host)).toEqual(['h1', 'h1']);
    const inventory = await registry.readInventory();
    expect(inventory.hosts.get('h2')?.record.drainReason).toBe('replacing nvme1');
  });

  it('keeps an operator drain when the host registers again', async () => {
    await addHost('h1', 2);
    await registry.setHostEnabled('h1', false, 'maintenance');
    await addHost('h1', 2);
    const inventory = await registry.readInventory();
    expect(inventory.hosts.get('h1')?.record.enabled).toBe(false);
  });

  it('registers a host idempotently', async () => {
    await addHost('h1', 2, false);
    const bricks = [0, 1].map((i) => ({
      device: `nvme${i}n1`,
      capacityBytes: GRAN,
      pool: 'default',
    }));
    expect(await registry.registerHost({ name: 'h1', bricks })).toBe(false);
    expect(await registry.registerHost({ name: 'h1', bricks: bricks.slice(0, 1) })).toBe(true);
  });

  it('refuses to remove a brick that holds an allocation', async () => {
    await addHost('h1', 2);
    await registry.createSession({
      token: '7',
      kind: 'job',
      owner: { uid: 1, gid: 1 },
      pool: 'default',
      requestedBytes: 2n * GRAN,
    });
    await expect(
      registry.registerHost({
        name: 'h1',
        bricks: [{ device: 'nvme0n1', capacityBytes: GRAN, pool: 'default' }],
      }),
    ).rejects.toThrow(
      new ConflictError('cannot remove brick nvme1n1 from host h1: it is allocated to session 7'),
    );
  });

  it('keeps each host usage record equal to its bricks and allocations through every write', async () => {
    const reader = new SlurmReader(store, keys);
    const expectTablesAgree = async () => {
      await expectUsageConsistent(store, registry);
      expect((await reader.poolTable()).views).toEqual(await registry.pools());
    };
    await addHost('h1', 3);
    await addHost('h2', 3);
    await expectTablesAgree();
    const request = {
      kind: 'job' as const,
      owner: { uid: 1, gid: 1 },
      pool: 'default',
      requestedBytes: 3n * GRAN,
    };
    await registry.createSession({ ...request, token: '11' });
    await registry.createSession({ ...request, token: '12', requestedBytes: GRAN });
    await expectTablesAgree();
    await registry.setHostEnabled('h2', false, 'replacing a disk');
    await expectTablesAgree();
    expect((await reader.poolTable()).views[0]).toMatchObject({ quantity: 6, allocated: 4 });
    await registry.releaseSession('11');
    await expectTablesAgree();
    await registry.setHostEnabled('h2', true);
    await addHost('h1', 4);
    await expectTablesAgree();
    await registry.releaseSession('12');
    await registry.releaseSession('12');
    await expectTablesAgree();
    expect((await reader.poolTable()).views[0]).toMatchObject({ quantity: 7, free: 7 });
  });

  it('writes the usage record of a host registered by a version that had none', async () => {
    await addHost('h1', 2);
    await registry.createSession({
      token: '21',
      kind: 'job',
      owner: { uid: 1, gid: 1 },
      pool: 'default',
      requestedBytes: GRAN,
    });
    await store.delete(keys.usage('h1'));
    const reader = new SlurmReader(store, keys);
    expect((await reader.poolTable()).hostsWithoutUsage).toBe(1);
    await addHost('h1', 2); // dacd restarts: same bricks
    await expectUsageConsistent(store, registry);
    expect((await reader.poolTable()).views[0]).toMatchObject({ quantity: 2, free: 1 });
  });

  it('keeps each session summary equal to its session through create, update and release', async () => {
    const reader = new SlurmReader(store, keys);
    const expectSummariesAgree = async () => {
      const summaries = await reader.sessionSummaries();
      expect(summaries).toEqual((await registry.sessions()).map(summariseSession));
    };
    await addHost('h1', 4);
    const request = { kind: 'job' as const, owner: { uid: 5, gid: 6 }, pool: 'default' };
    await registry.createSession({ ...request, token: '31', requestedBytes: 2n * GRAN });
    await registry.createSession({ ...request, token: '32', requestedBytes: 0n });
    await expectSummariesAgree();
    await registry.updateSession('31', (s) => ({ ...s, computeHosts: ['node1', 'node2'] }));
    await expectSummariesAgree();
    expect((await reader.sessionSummaries())[0]).toMatchObject({
      token: '31',
      uid: 5,
      bytes: 2n * GRAN,
      nodes: 2,
    });
    await registry.releaseSession('31');
    await expectSummariesAgree();
    expect((await reader.sessionSummaries()).map((s) => s.token)).toEqual(['32']);
  });

  it('keeps the summaries of two sessions of one bucket when both are set up at once', async () => {
    await addHost('h1', 4);
    await addHost('h2', 4);
    // Job ids whose summaries share a bucket, as busy sites always have.
    const tokens: string[] = [];
    for (let id = 100; tokens.length < 4; id += 1) {
      if (summaryBucketOf(String(id)) === summaryBucketOf('100')) tokens.push(String(id));
    }
    const request = { kind: 'job' as const, owner: { uid: 5, gid: 6 }, pool: 'default' };
    await Promise.all(
      tokens.map((token) => registry.createSession({ ...request, token, requestedBytes: GRAN })),
    );
    const reader = new SlurmReader(store, keys);
    expect((await reader.sessionSummaries()).map((s) => s.token)).toEqual(tokens);
    await Promise.all(tokens.slice(0, 2).map((token) => registry.releaseSession(token)));
    expect((await reader.sessionSummaries()).map((s) => s.token)).toEqual(tokens.slice(2));
    expect(await registry.writeMissingSummaries()).toEqual([]);
  });

  it('fails show_sessions reads while summaries are missing, until dacd writes them', async () => {
    await addHost('h1', 2);
    const request = { kind: 'job' as const, owner: { uid: 5, gid: 6 }, pool: 'default' };
    await registry.createSession({ ...request, token: '41', requestedBytes: GRAN });
    await registry.createSession({ ...request, token: '42', requestedBytes: GRAN });
    await registry.createSession({ ...request, token: '43', requestedBytes: 0n });
    // As a version without buckets left them: per-session summaries and no buckets.
    for (const token of ['41', '42', '43']) {
      await store.delete(keys.summaryBucket(summaryBucketOf(token)));
      await store.put(`${keys.legacySessionSummaries()}${token}`, '{"schemaVersion":1}');
    }
    const reader = new SlurmReader(store, keys);
    await expect(reader.sessionSummaries()).rejects.toThrow(SummaryMismatchError);
    await expect(reader.sessionSummaries()).rejects.toThrow(
      'etcd holds 3 sessions but 0 session summaries (records of an older version?); ' +
        'restart dacd on any storage host to rewrite the summaries',
    );
    expect(await registry.writeMissingSummaries()).toEqual(['41', '42', '43']);
    expect(await registry.writeMissingSummaries()).toEqual([]);
    expect((await store.range(keys.legacySessionSummaries())).kvs).toEqual([]);
    expect(await reader.sessionSummaries()).toEqual(
      (await registry.sessions()).map(summariseSession),
    );
  });

  it('rewrites a damaged bucket and removes keys that are no bucket', async () => {
    await addHost('h1', 2);
    const request = { kind: 'job' as const, owner: { uid: 5, gid: 6 }, pool: 'default' };
    await registry.createSession({ ...request, token: '51', requestedBytes: GRAN });
    await registry.createSession({ ...request, token: '52', requestedBytes: 0n });
    const damaged = keys.summaryBucket(summaryBucketOf('51'));
    await store.put(damaged, '{"schemaVersion":1,"summaries":[{"id":"x"}]}');
    await store.put(keys.summaryBucket('zz'), 'by hand');
    const reader = new SlurmReader(store, keys);
    await expect(reader.sessionSummaries()).rejects.toThrow(
      `etcd record ${damaged} is invalid: summaries.0.id: must be a positive integer`,
    );
    expect(await registry.writeMissingSummaries()).toEqual(['51']);
    expect(await store.get(keys.summaryBucket('zz'))).toBeUndefined();
    expect(await reader.sessionSummaries()).toEqual(
      (await registry.sessions()).map(summariseSession),
    );
  });

  it('rebuilds a damaged bucket from the sessions when a session of it changes', async () => {
    await addHost('h1', 4);
    const tokens: string[] = [];
    for (let id = 200; tokens.length < 3; id += 1) {
      if (summaryBucketOf(String(id)) === summaryBucketOf('200')) tokens.push(String(id));
    }
    const [first, second, third] = tokens as [string, string, string];
    const request = { kind: 'job' as const, owner: { uid: 5, gid: 6 }, pool: 'default' };
    await registry.createSession({ ...request, token: first, requestedBytes: GRAN });
    await registry.createSession({ ...request, token: second, requestedBytes: 0n });
    await store.put(keys.summaryBucket(summaryBucketOf(first)), 'not JSON');
    await registry.createSession({ ...request, token: third, requestedBytes: GRAN });
    const reader = new SlurmReader(store, keys);
    expect((await reader.sessionSummaries()).map((s) => s.token)).toEqual(tokens);
    await store.put(keys.summaryBucket(summaryBucketOf(first)), 'not JSON');
    await registry.releaseSession(second);
    expect(await reader.sessionSummaries()).toEqual(
      (await registry.sessions()).map(summariseSession),
    );
  });

  it('refuses a summary stored in the wrong bucket, naming the right one', async () => {
    await addHost('h1', 2);
    const request = { kind: 'job' as const, owner: { uid: 5, gid: 6 }, pool: 'default' };
    const { session } = await registry.createSession({
      ...request,
      token: '61',
      requestedBytes: 0n,
    });
    const right = summaryBucketOf('61');
    const wrong = right === '00' ? '01' : '00';
    const bucket = await store.get(keys.summaryBucket(right));
    await store.delete(keys.summaryBucket(right));
    await store.put(keys.summaryBucket(wrong), bucket!.value);
    await expect(new SlurmReader(store, keys).sessionSummaries()).rejects.toThrow(
      `etcd record ${keys.summaryBucket(wrong)} is invalid: summaries: session 61 belongs in ` +
        `bucket ${right}; restart dacd on any storage host to rewrite the buckets`,
    );
    expect(await registry.writeMissingSummaries()).toEqual(['61']);
    // The same summary twice in its own bucket would hide a missing one behind the count.
    const twice = JSON.parse((await store.get(keys.summaryBucket(right)))!.value);
    twice.summaries.push(twice.summaries[0]);
    await store.put(keys.summaryBucket(right), JSON.stringify(twice));
    await expect(new SlurmReader(store, keys).sessionSummaries()).rejects.toThrow(
      `etcd record ${keys.summaryBucket(right)} is invalid: summaries: session 61 is listed ` +
        'twice; restart dacd on any storage host to rewrite the buckets',
    );
    expect(await registry.writeMissingSummaries()).toEqual(['61']);
    expect(await new SlurmReader(store, keys).sessionSummaries()).toEqual([
      summariseSession(session),
    ]);
  });

  it('rejects a brick whose size differs from the pool granularity', async () => {
    await expect(
      registry.registerHost({
        name: 'h9',
        bricks: [{ device: 'nvme0n1', capacityBytes: GiB, pool: 'default' }],
      }),
    ).rejects.toThrow(
      'host h9: brick nvme0n1 has 1 GiB, but pool "default" bricks must be 1.6 TiB',
    );
  });

  it('rejects a pool that does not exist', async () => {
    await addHost('h1', 1);
    await expect(
      registry.createSession({
        token: '8',
        kind: 'job',
        owner: { uid: 1, gid: 1 },
        pool: 'nosuch',
        requestedBytes: GRAN,
      }),
    ).rejects.toThrow(NotFoundError);
  });

  it('reports a corrupted record with its key instead of crashing', async () => {
    await addHost('h1', 1);
    await store.put(
      keys.host('h1'),
      '{"schemaVersion":1,"name":"h1","enabled":"yes","bricks":[],"updatedAt":1}',
    );
    await expect(registry.pools()).rejects.toThrow(
      new RecordError(keys.host('h1'), 'enabled: must be a boolean'),
    );
    await store.put(keys.session('42'), 'not json');
    await expect(registry.sessions()).rejects.toThrow(
      `etcd record ${keys.session('42')} is invalid: not valid JSON`,
    );
  });

  it('names the schema version of a record from another version', async () => {
    await store.put(keys.pool('old'), '{"name":"old","granularityBytes":"1"}');
    await expect(registry.pools()).rejects.toThrow(
      /pools\/old is invalid: schemaVersion: schemaVersion is missing/,
    );
  });
});
