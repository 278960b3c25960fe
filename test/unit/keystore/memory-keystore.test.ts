/**
 * MemoryKeystore: the shared conformance suite, plus checks that need a private store (absolute
 * revision numbers, which the etcd run cannot assert because other test files share its server).
 */
import { LeaseLostError, StoreUnavailableError, ValidationError } from '../../../src/errors/errors';
import type { WatchEvent } from '../../../src/keystore/keystore';
import { MemoryKeystore } from '../../../src/keystore/memory-keystore';
import { describeKeystoreConformance } from '../../support/keystore-conformance';

describeKeystoreConformance('MemoryKeystore', async () => {
  const store = new MemoryKeystore();
  return { store, prefix: '/conformance/', cleanup: () => store.close() };
});

describe('MemoryKeystore revisions (exact, as etcd numbers them)', () => {
  let store: MemoryKeystore;
  beforeEach(() => {
    store = new MemoryKeystore();
  });
  afterEach(() => store.close());

  it('an empty store is at revision 1 and the first write makes it 2', async () => {
    expect((await store.range('')).revision).toBe(1);
    await expect(store.put('/a', '1')).resolves.toBe(2);
    await expect(store.put('/b', '1')).resolves.toBe(3);
  });

  it('a delete of a missing key does not bump the revision', async () => {
    await store.put('/a', '1');
    await store.delete('/missing');
    expect((await store.range('')).revision).toBe(2);
    await store.delete('/a');
    expect((await store.range('')).revision).toBe(3);
  });

  it('a txn with several ops bumps the revision exactly once', async () => {
    await store.put('/old', 'x');
    const result = await store.txn(
      [],
      [
        { type: 'put', key: '/a', value: '1' },
        { type: 'put', key: '/b', value: '2' },
        { type: 'delete', key: '/old' },
      ],
    );
    expect(result).toEqual({ succeeded: true, revision: 3 });
  });

  it('a failed txn without failure ops, or whose deletes remove nothing, keeps the revision', async () => {
    await store.put('/a', '1');
    const failed = await store.txn(
      [{ key: '/a', target: 'value', op: '==', value: 'other' }],
      [{ type: 'put', key: '/b', value: '2' }],
    );
    expect(failed).toEqual({ succeeded: false, revision: 2 });
    const noop = await store.txn(
      [],
      [
        { type: 'delete', key: '/missing' },
        { type: 'deletePrefix', prefix: '/none/' },
      ],
    );
    expect(noop).toEqual({ succeeded: true, revision: 2 });
  });

  it('revoking a lease without keys keeps the revision; with keys it bumps it once', async () => {
    const empty = await store.grantLease(10);
    await empty.revoke();
    expect((await store.range('')).revision).toBe(1);
    const lease = await store.grantLease(10);
    await store.put('/l/a', 'a', { lease: lease.id });
    await store.put('/l/b', 'b', { lease: lease.id });
    await lease.revoke();
    expect((await store.range('')).revision).toBe(4);
  });

  it('range("") returns every key', async () => {
    await store.put('/b', '2');
    await store.put('/a', '1');
    expect((await store.range('')).kvs.map((kv) => kv.key)).toEqual(['/a', '/b']);
  });

  it('a watch from revision 1 replays the whole history', async () => {
    await store.put('/a', '1');
    await store.delete('/a');
    const events: WatchEvent[] = [];
    const watch = await store.watchPrefix('', (event) => events.push(event), { fromRevision: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([
      {
        type: 'put',
        kv: { key: '/a', value: '1', createRevision: 2, modRevision: 2, version: 1 },
      },
      {
        type: 'delete',
        kv: { key: '/a', value: '', createRevision: 0, modRevision: 3, version: 0 },
      },
    ]);
    await watch.close();
  });
});

describe('MemoryKeystore delivery and validation', () => {
  let store: MemoryKeystore;
  beforeEach(() => {
    store = new MemoryKeystore();
  });
  afterEach(() => store.close());

  it('never calls a watch listener synchronously inside the write', async () => {
    let calls = 0;
    await store.watchPrefix('/', () => (calls += 1));
    const write = store.put('/a', '1');
    expect(calls).toBe(0);
    await write;
    // Still not delivered: delivery waits for a macrotask, like a network round trip.
    expect(calls).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toBe(1);
  });

  it('rejects a put with a lease that was never granted', async () => {
    await expect(store.put('/a', '1', { lease: '12345' })).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('checks both txn branches for duplicate keys before running either', async () => {
    await expect(
      store.txn(
        [],
        [{ type: 'put', key: '/ok', value: '1' }],
        [
          { type: 'put', key: '/dup', value: '1' },
          { type: 'delete', key: '/dup' },
        ],
      ),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(store.get('/ok')).resolves.toBeUndefined();
  });

  it('allows two deletes of the same key in one txn, as etcd does', async () => {
    await store.put('/a', '1');
    const result = await store.txn(
      [],
      [
        { type: 'delete', key: '/a' },
        { type: 'deletePrefix', prefix: '/' },
      ],
    );
    expect(result).toEqual({ succeeded: true, revision: 3 });
  });

  it('rejects empty keys, compare values of the wrong type and bad TTLs', async () => {
    await expect(store.put('', 'x')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.get('')).rejects.toBeInstanceOf(ValidationError);
    await expect(
      store.txn([{ key: '/a', target: 'version', op: '==', value: '1' }], []),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      store.txn([{ key: '/a', target: 'value', op: '==', value: 1 }], []),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(store.grantLease(0)).rejects.toBeInstanceOf(ValidationError);
    await expect(store.grantLease(1.5)).rejects.toBeInstanceOf(ValidationError);
  });

  it('rejects a write over etcd’s 1.5 MiB request limit', async () => {
    await expect(store.put('/big', 'x'.repeat(2 * 1024 * 1024))).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('close is idempotent and later operations reject with StoreUnavailableError', async () => {
    const lease = await store.grantLease(1);
    await store.put('/a', '1', { lease: lease.id });
    await store.close();
    await store.close();
    await expect(store.get('/a')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(lease.revoke()).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('a closed store stops delivering to its watches', async () => {
    const events: WatchEvent[] = [];
    await store.watchPrefix('/', (event) => events.push(event));
    const write = store.put('/a', '1');
    await store.close();
    await write;
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([]);
  });
});
