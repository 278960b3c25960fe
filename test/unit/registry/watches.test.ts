/**
 * The registry's watches that dacd follows, on the in-memory store: the sessions (decoded, a
 * damaged record reported by its key), the liveness key (with the lease of each claim), and
 * the summary buckets that cannot be read.
 */
import { RecordError } from '../../../src/errors/errors';
import { MemoryKeystore } from '../../../src/keystore/memory-keystore';
import type { AliveKeyChange } from '../../../src/registry/alive-claim';
import { KeyLayout } from '../../../src/registry/keys';
import { Registry, type Watch } from '../../../src/registry/registry';

const keys = new KeyLayout('/t/');
let store: MemoryKeystore;
let registry: Registry;
let watches: Watch[];

beforeEach(() => {
  store = new MemoryKeystore();
  registry = new Registry(store, keys);
  watches = [];
});

afterEach(async () => {
  for (const watch of watches) await watch.close();
  await store.close();
});

const zeroSession = (token: string) =>
  registry.createSession({
    token,
    kind: 'job',
    owner: { uid: 1, gid: 1 },
    pool: 'pool',
    requestedBytes: 0n,
    reconciler: 'storage1',
  });

/** Until the store has delivered what it has (the memory store delivers on a microtask). */
const delivered = () => new Promise((r) => setImmediate(r));

describe('readableSessions and watchSessions', () => {
  it('follow on from one read: every later change, decoded; deletions by token', async () => {
    await zeroSession('1');
    const { sessions, damaged, revision } = await registry.readableSessions();
    expect(sessions.map((s) => s.token)).toEqual(['1']);
    expect(damaged).toEqual([]);
    const seen: string[] = [];
    watches.push(
      await registry.watchSessions(revision + 1, {
        changed: (stored) => seen.push(`changed ${stored.record.token} ${stored.record.desired}`),
        removed: (token) => seen.push(`removed ${token}`),
        damaged: (key) => seen.push(`damaged ${key}`),
      }),
    );
    await zeroSession('2');
    await registry.updateSession('1', (s) => ({ ...s, desired: 'DataIn' }));
    await registry.releaseSession('2');
    await delivered();
    expect(seen).toEqual(['changed 2 Setup', 'changed 1 DataIn', 'removed 2']);
  });

  it('report a damaged record by its key, as a RecordError, and go on', async () => {
    await store.put(keys.session('bad'), '{"schemaVersion":1}');
    const read = await registry.readableSessions();
    expect(read.damaged).toEqual([expect.any(RecordError)]);
    expect(read.damaged[0]!.key).toBe('/t/sessions/bad');
    const seen: string[] = [];
    watches.push(
      await registry.watchSessions(read.revision + 1, {
        changed: (stored) => seen.push(`changed ${stored.record.token}`),
        removed: (token) => seen.push(`removed ${token}`),
        damaged: (key, error) => {
          expect(error).toBeInstanceOf(RecordError);
          expect((error as RecordError).message).toContain('/t/sessions/worse');
          seen.push(`damaged ${key}`);
        },
      }),
    );
    await store.put(keys.session('worse'), 'not json');
    await zeroSession('3');
    await delivered();
    expect(seen).toEqual(['damaged /t/sessions/worse', 'changed 3']);
  });
});

describe('watchAliveKey', () => {
  it('tells each write of the host key with its lease, and its deletion; no other host', async () => {
    const { revision } = await registry.hostAlive('storage1');
    const changes: AliveKeyChange[] = [];
    watches.push(await registry.watchAliveKey('storage1', revision + 1, (c) => changes.push(c)));
    const lease = await registry.grantLease(60);
    await registry.markAlive('storage1', lease.id);
    await registry.markAlive('storage10', lease.id);
    await store.put(keys.alive('storage1'), 'written by hand');
    await store.delete(keys.alive('storage1'));
    await lease.revoke(); // its key is gone already: nothing more to tell
    await delivered();
    expect(changes).toEqual([
      { type: 'put', lease: lease.id },
      { type: 'put', lease: undefined },
      { type: 'delete' },
    ]);
  });
});

describe('watchUnreadableSummaries', () => {
  it('names each bucket written that cannot be read, and only those', async () => {
    const unreadable: string[] = [];
    watches.push(await registry.watchUnreadableSummaries((key) => unreadable.push(key)));
    await zeroSession('4'); // writes its bucket, readable
    const bucket = keys.summaryBucket('00');
    await store.put(bucket, '{"schemaVersion":1,"summaries":"none"}');
    await store.delete(bucket);
    await delivered();
    expect(unreadable).toEqual([bucket]);
  });
});
