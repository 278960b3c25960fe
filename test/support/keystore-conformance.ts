/**
 * The Keystore conformance suite: one set of behaviour tests that every `Keystore`
 * implementation (etcd and in-memory) must pass, so code tested against the in-memory store
 * behaves the same on etcd.
 *
 * The suite asserts etcd 3.4 semantics only. When it runs against etcd, the server is shared
 * with other test files running in parallel, so every key lives under the fixture's prefix and
 * revisions are only ever compared with each other (`b > a`, `a === b`), never with absolute
 * numbers: other writers move the store-wide revision at any time.
 */
import { DacError, LeaseLostError, ValidationError } from '../../src/errors/errors';
import type {
  Compare,
  CompareOp,
  CompareTarget,
  KeyValue,
  Keystore,
  Lease,
  TxnOp,
  Watch,
  WatchEvent,
  WatchOptions,
} from '../../src/keystore/keystore';

/** What a conformance factory hands the suite for one test. */
export interface KeystoreFixture {
  /** A ready store. The suite may close it itself (the close tests do). */
  store: Keystore;
  /**
   * Every key the suite writes starts with this. It should be unique per run (e.g. contain a
   * random id) so that runs sharing one etcd cannot see each other's keys.
   */
  prefix: string;
  /**
   * Remove everything under `prefix` and release the store. Must also succeed when the test
   * has already closed `store` (it then has nothing to remove: closed stores are not written).
   */
  cleanup(): Promise<void>;
}

/** The longest a test waits for a watch event before failing. */
const EVENT_TIMEOUT_MS = 3000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `condition` until it holds; false if it still does not after `timeoutMs`. */
async function eventually(
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/**
 * Define the conformance tests for one implementation.
 *
 * @param name - shown in the describe title, e.g. `MemoryKeystore`.
 * @param factory - called before every test for a fresh fixture; `cleanup` runs after it.
 */
export function describeKeystoreConformance(
  name: string,
  factory: () => Promise<KeystoreFixture>,
): void {
  describe(`Keystore conformance: ${name}`, () => {
    let fixture: KeystoreFixture;
    let store: Keystore;
    /** A per-test sub-prefix, so tests stay isolated even if a factory reuses its prefix. */
    let base: string;
    let testNumber = 0;
    let watches: Watch[] = [];
    let leases: Lease[] = [];

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
      testNumber += 1;
      base = `${fixture.prefix}t${testNumber}/`;
      watches = [];
      leases = [];
    });

    afterEach(async () => {
      for (const watch of watches) await watch.close();
      // Settled, not awaited one by one: a lease test that failed midway must not hide its
      // own failure behind a cleanup error.
      await Promise.allSettled(leases.map((lease) => lease.revoke()));
      await fixture.cleanup();
    });

    /** A key under this test's sub-prefix. */
    const k = (suffix: string): string => `${base}${suffix}`;

    async function grant(ttlSeconds: number): Promise<Lease> {
      const lease = await store.grantLease(ttlSeconds);
      leases.push(lease);
      return lease;
    }

    /** Watch a prefix, collecting events; `waitFor(n)` resolves once n have arrived. */
    async function collect(prefix: string, options?: WatchOptions) {
      const events: WatchEvent[] = [];
      const watch = await store.watchPrefix(prefix, (event) => events.push(event), options);
      watches.push(watch);
      return {
        events,
        watch,
        async waitFor(count: number): Promise<WatchEvent[]> {
          const arrived = await eventually(() => events.length >= count, EVENT_TIMEOUT_MS, 10);
          if (!arrived) {
            throw new Error(
              `expected ${count} watch events, got ${events.length}: ${JSON.stringify(events)}`,
            );
          }
          return events;
        },
      };
    }

    /** Events as [type, key relative to the test prefix, value] for readable assertions. */
    const brief = (events: WatchEvent[]): [string, string, string][] =>
      events.map((e) => [e.type, e.kv.key.slice(base.length), e.kv.value]);

    async function mustGet(key: string): Promise<KeyValue> {
      const kv = await store.get(key);
      if (kv === undefined) throw new Error(`expected ${key} to exist`);
      return kv;
    }

    describe('get, put and delete', () => {
      it('get resolves undefined for a key that was never written', async () => {
        await expect(store.get(k('never'))).resolves.toBeUndefined();
      });

      it('a new key has createRevision = modRevision = the put revision, version 1, no lease', async () => {
        const revision = await store.put(k('a'), 'one');
        const kv = await mustGet(k('a'));
        expect(kv).toEqual({
          key: k('a'),
          value: 'one',
          createRevision: revision,
          modRevision: revision,
          version: 1,
        });
        expect(kv.lease).toBeUndefined();
      });

      it('each put resolves with a larger revision, which becomes the key modRevision', async () => {
        const first = await store.put(k('a'), '1');
        const second = await store.put(k('b'), '2');
        const third = await store.put(k('a'), '3');
        expect(second).toBeGreaterThan(first);
        expect(third).toBeGreaterThan(second);
        expect((await mustGet(k('a'))).modRevision).toBe(third);
        expect((await mustGet(k('b'))).modRevision).toBe(second);
      });

      it('version counts puts since creation while createRevision stays fixed', async () => {
        const created = await store.put(k('v'), '1');
        await store.put(k('v'), '2');
        const last = await store.put(k('v'), '3');
        const kv = await mustGet(k('v'));
        expect(kv.version).toBe(3);
        expect(kv.createRevision).toBe(created);
        expect(kv.modRevision).toBe(last);
        expect(kv.value).toBe('3');
      });

      it('delete resolves true and removes an existing key', async () => {
        await store.put(k('d'), 'x');
        await expect(store.delete(k('d'))).resolves.toBe(true);
        await expect(store.get(k('d'))).resolves.toBeUndefined();
      });

      it('delete resolves false for a missing key', async () => {
        await expect(store.delete(k('missing'))).resolves.toBe(false);
      });

      it('a key re-created after deletion gets a new createRevision and starts again at version 1', async () => {
        const created = await store.put(k('r'), '1');
        await store.put(k('r'), '2');
        await store.delete(k('r'));
        const recreated = await store.put(k('r'), '3');
        const kv = await mustGet(k('r'));
        expect(recreated).toBeGreaterThan(created);
        expect(kv.createRevision).toBe(recreated);
        expect(kv.version).toBe(1);
      });

      it('an empty value is stored and read back as an empty string', async () => {
        await store.put(k('empty'), '');
        expect((await mustGet(k('empty'))).value).toBe('');
      });

      it('unicode keys and values round-trip unchanged', async () => {
        // Precomposed and decomposed é are different keys: nothing may normalise them.
        const keys = [k('ключ/日本語/😀'), k('u/\u00e9'), k('u/e\u0301')];
        const value = 'NUL\u0000 emoji 😀🎉 CJK 漢字 RTL שלום combining e\u0301 ½ \u2028';
        for (const [index, key] of keys.entries()) await store.put(key, `${value} ${index}`);
        for (const [index, key] of keys.entries()) {
          expect((await mustGet(key)).value).toBe(`${value} ${index}`);
        }
        const range = await store.range(k('ключ/'));
        expect(range.kvs.map((kv) => kv.key)).toEqual([k('ключ/日本語/😀')]);
        const accents = await store.range(k('u/'));
        expect(accents.kvs).toHaveLength(2);
      });

      it('a 256 KiB value round-trips through put, get and range', async () => {
        // Multi-byte characters, so a byte/character mix-up in size handling would show.
        const big = `${'é'.repeat(64 * 1024)}${'x'.repeat(128 * 1024)}`;
        expect(Buffer.byteLength(big)).toBe(256 * 1024);
        await store.put(k('big'), big);
        expect((await mustGet(k('big'))).value).toBe(big);
        const range = await store.range(k('big'));
        expect(range.kvs[0]?.value).toBe(big);
      });
    });

    describe('range', () => {
      it('returns only keys under the prefix, sorted by key, with their metadata', async () => {
        // Written out of order, with neighbours that share the prefix's characters but not it.
        await store.put(k('r/c'), '3');
        await store.put(k('r'), 'parent');
        await store.put(k('r/a'), '1');
        await store.put(k('r2'), 'sibling');
        await store.put(k('r/b/deep'), '2');
        await store.put(k('q'), 'before');
        const result = await store.range(k('r/'));
        expect(result.kvs.map((kv) => [kv.key, kv.value])).toEqual([
          [k('r/a'), '1'],
          [k('r/b/deep'), '2'],
          [k('r/c'), '3'],
        ]);
        expect(result.kvs[0]).toEqual(await store.get(k('r/a')));
      });

      it('sorts keys by their UTF-8 bytes, as etcd does, not by UTF-16 code units', async () => {
        // UTF-8 order: Z < a < é < U+FFFD < 😀. UTF-16 order would put 😀 before U+FFFD.
        for (const suffix of ['😀', '\uFFFD', 'é', 'a', 'Z']) await store.put(k(`s/${suffix}`), '');
        const result = await store.range(k('s/'));
        expect(result.kvs.map((kv) => kv.key)).toEqual(
          ['Z', 'a', 'é', '\uFFFD', '😀'].map((suffix) => k(`s/${suffix}`)),
        );
      });

      it('is served at a revision at least that of the last write', async () => {
        await store.put(k('x/1'), '1');
        const last = await store.put(k('x/2'), '2');
        const result = await store.range(k('x/'));
        expect(result.revision).toBeGreaterThanOrEqual(last);
      });

      it('of a prefix with no keys is empty', async () => {
        await store.put(k('elsewhere'), '1');
        const result = await store.range(k('nothing/'));
        expect(result.kvs).toEqual([]);
        expect(result.revision).toBeGreaterThan(0);
      });
    });

    describe('snapshot', () => {
      it('reads each range in request order, sorted by key, as range() reads it', async () => {
        await store.put(k('b/2'), 'b2');
        await store.put(k('a/😀'), 'a-emoji');
        await store.put(k('b/1'), 'b1');
        await store.put(k('a/z'), 'az');
        await store.put(k('a/é'), 'a-accent');
        await store.put(k('c'), 'not in any range');
        const snapshot = await store.snapshot([{ prefix: k('b/') }, { prefix: k('a/') }]);
        expect(snapshot.ranges.map((kvs) => kvs.map((kv) => [kv.key, kv.value]))).toEqual([
          [
            [k('b/1'), 'b1'],
            [k('b/2'), 'b2'],
          ],
          [
            [k('a/z'), 'az'],
            [k('a/é'), 'a-accent'],
            [k('a/😀'), 'a-emoji'],
          ],
        ]);
        expect(snapshot.ranges[0]).toEqual((await store.range(k('b/'))).kvs);
        expect(snapshot.ranges[1]).toEqual((await store.range(k('a/'))).kvs);
      });

      it('keys-only ranges give the sorted keys alone, in keys and not in ranges', async () => {
        const lease = await grant(10);
        await store.put(k('k/leased'), 'v1', { lease: lease.id });
        await store.put(k('k/leased'), 'v2', { lease: lease.id });
        await store.put(k('k/plain'), 'value');
        await store.put(k('k/ünï'), 'x');
        const snapshot = await store.snapshot([
          { prefix: k('k/'), keysOnly: true },
          { prefix: k('k/') },
          { prefix: k('none/'), keysOnly: true },
        ]);
        expect(snapshot.keys).toEqual([[k('k/leased'), k('k/plain'), k('k/ünï')], [], []]);
        expect(snapshot.ranges[0]).toEqual([]);
        expect(snapshot.ranges[1]?.map((kv) => kv.key)).toEqual(snapshot.keys[0]);
        expect(snapshot.ranges[1]?.[0]).toMatchObject({ value: 'v2', version: 2, lease: lease.id });
        expect(snapshot.counts).toEqual([3, 3, 0]);
      });

      it('counts the keys of every range, and returns none for a count-only range', async () => {
        for (const name of ['c/1', 'c/2', 'c/3', 'c/sub/4', 'd/1']) await store.put(k(name), 'x');
        const snapshot = await store.snapshot([
          { prefix: k('c/'), countOnly: true },
          { prefix: k('d/') },
          { prefix: k('c/sub/'), keysOnly: true },
          { prefix: k('none/'), countOnly: true },
        ]);
        expect(snapshot.counts).toEqual([4, 1, 1, 0]);
        expect(snapshot.ranges.map((kvs) => kvs.length)).toEqual([0, 1, 0, 0]);
        expect(snapshot.keys).toEqual([[], [], [k('c/sub/4')], []]);
      });

      it('gives [] for a range without keys and for no ranges at all', async () => {
        await store.put(k('some'), '1');
        const snapshot = await store.snapshot([{ prefix: k('none/') }, { prefix: k('some') }]);
        expect(snapshot.ranges[0]).toEqual([]);
        expect(snapshot.ranges[1]).toHaveLength(1);
        const nothing = await store.snapshot([]);
        expect(nothing.ranges).toEqual([]);
        expect(nothing.keys).toEqual([]);
        expect(nothing.revision).toBeGreaterThan(0);
      });

      it('gives a key to every range whose prefix it has, when prefixes overlap', async () => {
        await store.put(k('o/a/1'), 'deep');
        await store.put(k('o/b'), 'shallow');
        const snapshot = await store.snapshot([
          { prefix: k('o/') },
          { prefix: k('o/a/') },
          { prefix: k('o/') },
        ]);
        const [outer, inner, again] = snapshot.ranges;
        expect(outer?.map((kv) => kv.key)).toEqual([k('o/a/1'), k('o/b')]);
        expect(inner).toEqual([outer?.[0]]);
        expect(again).toEqual(outer);
      });

      it('is served at a revision at least every mod revision and the last write', async () => {
        await store.put(k('r/a'), '1');
        await store.put(k('s/a'), '1');
        const last = await store.put(k('r/a'), '2');
        const snapshot = await store.snapshot([{ prefix: k('r/') }, { prefix: k('s/') }]);
        expect(snapshot.revision).toBeGreaterThanOrEqual(last);
        for (const kv of snapshot.ranges.flat()) {
          expect(snapshot.revision).toBeGreaterThanOrEqual(kv.modRevision);
        }
      });

      it('reads every range at one revision: a write between two snapshots is in all or none', async () => {
        await store.put(k('x/old'), 'x');
        await store.put(k('y/old'), 'y');
        const ranges = [{ prefix: k('x/') }, { prefix: k('y/') }];
        const before = await store.snapshot(ranges);
        // One transaction writes both ranges at one revision.
        const written = await store.txn(
          [],
          [
            { type: 'put', key: k('x/new'), value: 'x' },
            { type: 'put', key: k('y/new'), value: 'y' },
            { type: 'delete', key: k('y/old') },
          ],
        );
        const after = await store.snapshot(ranges);
        expect(before.ranges.map((kvs) => kvs.map((kv) => kv.key))).toEqual([
          [k('x/old')],
          [k('y/old')],
        ]);
        expect(after.ranges.map((kvs) => kvs.map((kv) => kv.key))).toEqual([
          [k('x/new'), k('x/old')],
          [k('y/new')],
        ]);
        expect(before.revision).toBeLessThan(written.revision);
        expect(after.revision).toBeGreaterThanOrEqual(written.revision);
        expect(after.ranges[0]?.[0]?.modRevision).toBe(written.revision);
        expect(after.ranges[1]?.[0]?.modRevision).toBe(written.revision);
      });

      it('reads 128 ranges in one request and refuses 129 or an empty prefix', async () => {
        await store.put(k('n/127'), 'last');
        const many = Array.from({ length: 128 }, (_, i) => ({ prefix: k(`n/${i}`) }));
        const snapshot = await store.snapshot(many);
        expect(snapshot.ranges).toHaveLength(128);
        expect(snapshot.ranges[127]?.map((kv) => kv.value)).toEqual(['last']);
        await expect(store.snapshot([...many, { prefix: k('n/one-more') }])).rejects.toBeInstanceOf(
          ValidationError,
        );
        await expect(store.snapshot([{ prefix: '' }])).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('txnAndSnapshot', () => {
      const putOf = (key: string, value: string): TxnOp[] => [{ type: 'put', key, value }];

      it('writes, then reads the ranges at the transaction’s revision, seeing the writes', async () => {
        await store.put(k('p/counter'), 'first');
        await store.put(k('q/1'), 'one');
        const { succeeded, revision, ranges, keys, counts } = await store.txnAndSnapshot(
          [],
          putOf(k('p/counter'), 'second'),
          [{ prefix: k('p/') }, { prefix: k('q/'), keysOnly: true }, { prefix: k('none/') }],
        );
        expect(succeeded).toBe(true);
        const written = await mustGet(k('p/counter'));
        expect(written).toMatchObject({ value: 'second', version: 2, modRevision: revision });
        expect(ranges[0]).toEqual([written]);
        expect(ranges[2]).toEqual([]);
        expect(keys).toEqual([[], [k('q/1')], []]);
        expect(counts).toEqual([1, 1, 0]);
        // The put is the transaction's only write: the next write gets a later revision.
        expect(await store.put(k('q/2'), 'two')).toBeGreaterThan(revision);
      });

      it('gives each call a revision of its own, the revision of its writes', async () => {
        const calls = await Promise.all(
          Array.from({ length: 5 }, (_, i) =>
            store.txnAndSnapshot([], putOf(k('id'), `caller ${i}`), [{ prefix: k('id') }]),
          ),
        );
        const revisions = calls.map((call) => call.revision);
        expect(new Set(revisions).size).toBe(5);
        for (const call of calls) {
          expect(call.ranges[0]?.[0]?.modRevision).toBe(call.revision);
        }
      });

      it('when a compare fails, writes nothing and reads what it failed on', async () => {
        const first = await store.put(k('c/guard'), 'v1');
        const second = await store.put(k('c/guard'), 'v2');
        const result = await store.txnAndSnapshot(
          [{ key: k('c/guard'), target: 'modRevision', op: '==', value: first }],
          [...putOf(k('c/written'), 'x'), { type: 'delete', key: k('c/guard') }],
          [{ prefix: k('c/') }, { prefix: k('c/'), countOnly: true }],
        );
        expect(result.succeeded).toBe(false);
        const guard = await mustGet(k('c/guard'));
        expect(result.ranges[0]).toEqual([guard]);
        expect(result.counts).toEqual([1, 1]);
        // Nothing was written: the guard is as the second put left it, and the revision is the
        // store's at the read (on a shared etcd, other tests' writes may have moved it on).
        expect(guard).toMatchObject({ value: 'v2', modRevision: second });
        expect(result.revision).toBeGreaterThanOrEqual(second);
        expect(await store.get(k('c/written'))).toBeUndefined();
      });

      it('applies every op of the success branch when the compares hold', async () => {
        const at = await store.put(k('d/guard'), 'v1');
        await store.put(k('d/old/1'), 'gone');
        const result = await store.txnAndSnapshot(
          [{ key: k('d/guard'), target: 'modRevision', op: '==', value: at }],
          [
            ...putOf(k('d/guard'), 'v2'),
            { type: 'deletePrefix', prefix: k('d/old/') },
            ...putOf(k('d/new'), 'n'),
          ],
          [{ prefix: k('d/') }],
        );
        expect(result.succeeded).toBe(true);
        expect(result.ranges[0]?.map((kv) => [kv.key, kv.value])).toEqual([
          [k('d/guard'), 'v2'],
          [k('d/new'), 'n'],
        ]);
        expect(result.ranges[0]?.every((kv) => kv.modRevision === result.revision)).toBe(true);
      });

      it('reads 127 ranges with one write, and refuses 128 or an empty prefix, writing nothing', async () => {
        const many = Array.from({ length: 127 }, (_, i) => ({ prefix: k(`n/${i}`) }));
        const result = await store.txnAndSnapshot([], putOf(k('n/0'), 'x'), many);
        expect(result.ranges).toHaveLength(127);
        expect(result.ranges[0]?.map((kv) => kv.value)).toEqual(['x']);
        const refused = [
          store.txnAndSnapshot([], putOf(k('refused'), 'x'), [...many, { prefix: k('m') }]),
          store.txnAndSnapshot([], putOf(k('refused'), 'x'), [{ prefix: '' }]),
        ];
        for (const call of refused) await expect(call).rejects.toBeInstanceOf(ValidationError);
        expect(await store.get(k('refused'))).toBeUndefined();
      });
    });

    describe('txn', () => {
      /** Run a one-compare txn that records which branch ran in `out`. */
      async function branchTaken(compare: Compare): Promise<boolean> {
        const result = await store.txn(
          [compare],
          [{ type: 'put', key: k('out'), value: 'success' }],
          [{ type: 'put', key: k('out'), value: 'failure' }],
        );
        expect((await mustGet(k('out'))).value).toBe(result.succeeded ? 'success' : 'failure');
        return result.succeeded;
      }

      it('with no compares succeeds and applies the success ops', async () => {
        const result = await store.txn([], [{ type: 'put', key: k('a'), value: '1' }]);
        expect(result.succeeded).toBe(true);
        expect((await mustGet(k('a'))).modRevision).toBe(result.revision);
      });

      // The key under test is put twice ("a", then "m"), so createRevision = c < modRevision = m
      // and version = 2. Each row: target, op, description, whether it holds, compared value.
      type Meta = { c: number; m: number };
      const table: [CompareTarget, CompareOp, string, boolean, (meta: Meta) => number | string][] =
        [
          ['createRevision', '==', 'its create revision', true, ({ c }) => c],
          ['createRevision', '==', 'its mod revision', false, ({ m }) => m],
          ['createRevision', '!=', 'its create revision', false, ({ c }) => c],
          ['createRevision', '!=', 'its mod revision', true, ({ m }) => m],
          ['createRevision', '<', 'its mod revision', true, ({ m }) => m],
          ['createRevision', '<', 'itself', false, ({ c }) => c],
          ['createRevision', '>', 'itself - 1', true, ({ c }) => c - 1],
          ['createRevision', '>', 'itself', false, ({ c }) => c],
          ['modRevision', '==', 'its mod revision', true, ({ m }) => m],
          ['modRevision', '==', 'its create revision', false, ({ c }) => c],
          ['modRevision', '!=', 'its mod revision', false, ({ m }) => m],
          ['modRevision', '!=', 'its create revision', true, ({ c }) => c],
          ['modRevision', '<', 'itself + 1', true, ({ m }) => m + 1],
          ['modRevision', '<', 'itself', false, ({ m }) => m],
          ['modRevision', '>', 'its create revision', true, ({ c }) => c],
          ['modRevision', '>', 'itself', false, ({ m }) => m],
          ['version', '==', '2', true, () => 2],
          ['version', '==', '1', false, () => 1],
          ['version', '!=', '2', false, () => 2],
          ['version', '!=', '1', true, () => 1],
          ['version', '<', '3', true, () => 3],
          ['version', '<', '2', false, () => 2],
          ['version', '>', '1', true, () => 1],
          ['version', '>', '2', false, () => 2],
          ['value', '==', '"m"', true, () => 'm'],
          ['value', '==', '"a" (the old value)', false, () => 'a'],
          ['value', '!=', '"m"', false, () => 'm'],
          ['value', '!=', '"x"', true, () => 'x'],
          ['value', '<', '"n"', true, () => 'n'],
          ['value', '<', '"m"', false, () => 'm'],
          ['value', '>', '"l"', true, () => 'l'],
          ['value', '>', '"mm"', false, () => 'mm'],
        ];
      it.each(table)(
        'compare %s %s %s holds: %s',
        async (target, op, _description, holds, expected) => {
          const c = await store.put(k('key'), 'a');
          const m = await store.put(k('key'), 'm');
          await expect(
            branchTaken({ key: k('key'), target, op, value: expected({ c, m }) }),
          ).resolves.toBe(holds);
        },
      );

      it('value compares order by UTF-8 bytes', async () => {
        // In UTF-16, U+FFFD > 😀; in UTF-8 bytes (etcd) it is smaller.
        await store.put(k('key'), '\uFFFD');
        await expect(
          branchTaken({ key: k('key'), target: 'value', op: '<', value: '😀' }),
        ).resolves.toBe(true);
      });

      it('compares on a missing key see 0 for createRevision, modRevision and version', async () => {
        const missing = k('missing');
        const result = await store.txn(
          [
            { key: missing, target: 'createRevision', op: '==', value: 0 },
            { key: missing, target: 'modRevision', op: '==', value: 0 },
            { key: missing, target: 'version', op: '==', value: 0 },
            { key: missing, target: 'modRevision', op: '<', value: 1 },
          ],
          [{ type: 'put', key: k('out'), value: 'ran' }],
        );
        expect(result.succeeded).toBe(true);
        await expect(store.get(k('out'))).resolves.toMatchObject({ value: 'ran' });
      });

      it('createRevision == 0 creates a key only if it is absent', async () => {
        const createIfAbsent = (value: string) =>
          store.txn(
            [{ key: k('once'), target: 'createRevision', op: '==', value: 0 }],
            [{ type: 'put', key: k('once'), value }],
          );
        await expect(createIfAbsent('first')).resolves.toMatchObject({ succeeded: true });
        await expect(createIfAbsent('second')).resolves.toMatchObject({ succeeded: false });
        expect((await mustGet(k('once'))).value).toBe('first');
      });

      it('a value compare on a missing key fails whatever the operator, even !=', async () => {
        // etcd cannot tell a missing value from an empty one, so it fails such compares.
        for (const op of ['==', '!=', '<', '>'] as const) {
          await expect(
            branchTaken({ key: k('missing'), target: 'value', op, value: 'x' }),
          ).resolves.toBe(false);
        }
      });

      it('when one of several compares fails, no success op is applied', async () => {
        const last = await store.put(k('guard'), 'g');
        const result = await store.txn(
          [
            { key: k('guard'), target: 'value', op: '==', value: 'g' },
            { key: k('guard'), target: 'version', op: '==', value: 2 },
          ],
          [
            { type: 'put', key: k('a'), value: '1' },
            { type: 'put', key: k('b'), value: '2' },
            { type: 'delete', key: k('guard') },
          ],
        );
        expect(result.succeeded).toBe(false);
        expect(result.revision).toBeGreaterThanOrEqual(last);
        await expect(store.get(k('a'))).resolves.toBeUndefined();
        await expect(store.get(k('b'))).resolves.toBeUndefined();
        expect((await mustGet(k('guard'))).modRevision).toBe(last);
      });

      it('a failed txn applies the failure ops', async () => {
        await store.put(k('guard'), 'g');
        const result = await store.txn(
          [{ key: k('guard'), target: 'value', op: '==', value: 'other' }],
          [{ type: 'put', key: k('a'), value: 'success' }],
          [
            { type: 'put', key: k('b'), value: 'failure' },
            { type: 'delete', key: k('guard') },
          ],
        );
        expect(result.succeeded).toBe(false);
        await expect(store.get(k('a'))).resolves.toBeUndefined();
        expect((await mustGet(k('b'))).modRevision).toBe(result.revision);
        await expect(store.get(k('guard'))).resolves.toBeUndefined();
      });

      it('all ops of a txn share one new revision, seen by watchers in op order', async () => {
        const before = await store.put(k('old'), 'x');
        const watch = await collect(base);
        const result = await store.txn(
          [],
          [
            { type: 'put', key: k('a'), value: '1' },
            { type: 'put', key: k('b'), value: '2' },
            { type: 'delete', key: k('old') },
          ],
        );
        expect(result.succeeded).toBe(true);
        expect(result.revision).toBeGreaterThan(before);
        expect((await mustGet(k('a'))).modRevision).toBe(result.revision);
        expect((await mustGet(k('b'))).modRevision).toBe(result.revision);
        const events = await watch.waitFor(3);
        expect(brief(events)).toEqual([
          ['put', 'a', '1'],
          ['put', 'b', '2'],
          ['delete', 'old', ''],
        ]);
        expect(events.map((e) => e.kv.modRevision)).toEqual([
          result.revision,
          result.revision,
          result.revision,
        ]);
      });

      it('deletePrefix removes only the keys under that prefix', async () => {
        for (const key of ['d/1', 'd/2/deep', 'd', 'd2', 'e']) await store.put(k(key), key);
        const result = await store.txn(
          [],
          [
            { type: 'deletePrefix', prefix: k('d/') },
            { type: 'put', key: k('marker'), value: 'm' },
          ],
        );
        expect(result.succeeded).toBe(true);
        const left = await store.range(base);
        expect(left.kvs.map((kv) => kv.key)).toEqual([k('d'), k('d2'), k('e'), k('marker')]);
      });

      it('rejects a txn that puts the same key twice, writing nothing', async () => {
        await expect(
          store.txn(
            [],
            [
              { type: 'put', key: k('dup'), value: '1' },
              { type: 'put', key: k('dup'), value: '2' },
            ],
          ),
        ).rejects.toBeInstanceOf(DacError);
        await expect(store.get(k('dup'))).resolves.toBeUndefined();
      });

      it('rejects a txn that puts a key it also deletes by prefix, writing nothing', async () => {
        await store.put(k('p/1'), 'kept');
        await expect(
          store.txn(
            [],
            [
              { type: 'deletePrefix', prefix: k('p/') },
              { type: 'put', key: k('p/2'), value: 'new' },
            ],
          ),
        ).rejects.toBeInstanceOf(DacError);
        expect((await mustGet(k('p/1'))).value).toBe('kept');
        await expect(store.get(k('p/2'))).resolves.toBeUndefined();
      });

      it('refuses a write over etcd’s 1.5 MiB request limit as invalid, writing nothing', async () => {
        const value = 'x'.repeat(1700 * 1024);
        await expect(store.put(k('huge'), value)).rejects.toBeInstanceOf(ValidationError);
        await expect(
          store.txn([], [{ type: 'put', key: k('huge'), value }]),
        ).rejects.toBeInstanceOf(ValidationError);
        await expect(store.get(k('huge'))).resolves.toBeUndefined();
      });

      it('rejects a txn with more than 128 ops in a branch, writing nothing', async () => {
        const ops = Array.from({ length: 129 }, (_, i) => ({
          type: 'put' as const,
          key: k(`many/${i}`),
          value: 'x',
        }));
        await expect(store.txn([], ops)).rejects.toBeInstanceOf(ValidationError);
        await expect(store.txn([], ops)).rejects.toThrow(
          'a keystore transaction may hold at most 128 compares and 128 operations in each ' +
            'branch (this one: 0 compares, 129 and 0 operations)',
        );
        await expect(store.txn([], ops.slice(1), ops)).rejects.toBeInstanceOf(ValidationError);
        const compares = Array.from({ length: 129 }, (_, i) => ({
          key: k(`many/${i}`),
          target: 'createRevision' as const,
          op: '==' as const,
          value: 0,
        }));
        await expect(store.txn(compares, ops.slice(1))).rejects.toBeInstanceOf(ValidationError);
        expect((await store.range(k('many/'))).kvs).toEqual([]);
        // At the limit, it runs.
        const full = await store.txn(compares.slice(1), ops.slice(1));
        expect(full.succeeded).toBe(true);
        expect((await store.range(k('many/'))).kvs).toHaveLength(128);
      });

      it('of concurrent txns comparing the same modRevision, exactly one succeeds', async () => {
        const start = await store.put(k('cas'), 'start');
        const writers = Array.from({ length: 5 }, (_, i) => `writer-${i}`);
        const results = await Promise.all(
          writers.map((value) =>
            store.txn(
              [{ key: k('cas'), target: 'modRevision', op: '==', value: start }],
              [{ type: 'put', key: k('cas'), value }],
            ),
          ),
        );
        const winners = writers.filter((_, i) => results[i]?.succeeded);
        expect(winners).toHaveLength(1);
        const kv = await mustGet(k('cas'));
        expect(kv.value).toBe(winners[0]);
        expect(kv.version).toBe(2);
      });
    });

    describe('watchPrefix', () => {
      it('delivers puts and deletes under its prefix in order, with full metadata', async () => {
        const watch = await collect(k('w/'));
        const first = await store.put(k('w/a'), '1');
        await store.put(k('outside'), 'ignored');
        const second = await store.put(k('w/a'), '2');
        const deleted = await store.put(k('w/b'), 'b').then(() => store.delete(k('w/a')));
        expect(deleted).toBe(true);
        const events = await watch.waitFor(4);
        expect(brief(events)).toEqual([
          ['put', 'w/a', '1'],
          ['put', 'w/a', '2'],
          ['put', 'w/b', 'b'],
          ['delete', 'w/a', ''],
        ]);
        expect(events[0]?.kv).toEqual({
          key: k('w/a'),
          value: '1',
          createRevision: first,
          modRevision: first,
          version: 1,
        });
        expect(events[1]?.kv).toMatchObject({
          createRevision: first,
          modRevision: second,
          version: 2,
        });
        const revisions = events.map((e) => e.kv.modRevision);
        expect([...revisions].sort((a, b) => a - b)).toEqual(revisions);
        // A delete event's kv: the key, an empty value, and the deletion's revision.
        expect(events[3]?.kv.modRevision).toBeGreaterThan(events[2]?.kv.modRevision ?? Infinity);
      });

      it('from a past revision replays the earlier events, then live ones, each once', async () => {
        const from = await store.put(k('h/a'), '1');
        await store.put(k('h/b'), '2');
        await store.delete(k('h/a'));
        const watch = await collect(k('h/'), { fromRevision: from });
        await store.put(k('h/c'), 'live');
        await watch.waitFor(4);
        // Give a duplicate (history and live both delivering one event) time to show up.
        await sleep(200);
        expect(brief(watch.events)).toEqual([
          ['put', 'h/a', '1'],
          ['put', 'h/b', '2'],
          ['delete', 'h/a', ''],
          ['put', 'h/c', 'live'],
        ]);
        expect(watch.events[0]?.kv.modRevision).toBe(from);
      });

      it('from a revision starts exactly there, skipping earlier events', async () => {
        await store.put(k('h/a'), '1');
        const from = await store.put(k('h/b'), '2');
        await store.put(k('h/c'), '3');
        const watch = await collect(k('h/'), { fromRevision: from });
        await watch.waitFor(2);
        await sleep(100);
        expect(brief(watch.events)).toEqual([
          ['put', 'h/b', '2'],
          ['put', 'h/c', '3'],
        ]);
      });

      it('without fromRevision delivers only changes made after it was established', async () => {
        await store.put(k('n/before'), 'old');
        const watch = await collect(k('n/'));
        await store.put(k('n/after'), 'new');
        await watch.waitFor(1);
        await sleep(100);
        expect(brief(watch.events)).toEqual([['put', 'n/after', 'new']]);
      });

      it('delivers nothing once closed', async () => {
        const closed = await collect(k('c/'));
        const barrier = await collect(k('c/'));
        await store.put(k('c/1'), 'seen');
        await closed.waitFor(1);
        await closed.watch.close();
        await closed.watch.close(); // idempotent
        await store.put(k('c/2'), 'unseen');
        // The still-open watch seeing the second put shows it was delivered to watchers.
        await barrier.waitFor(2);
        await sleep(100);
        expect(brief(closed.events)).toEqual([['put', 'c/1', 'seen']]);
      });
    });

    describe('leases', () => {
      it('grantLease returns a decimal string id and the granted TTL', async () => {
        const lease = await grant(5);
        const other = await grant(5);
        expect(lease.id).toMatch(/^[0-9]+$/);
        expect(other.id).not.toBe(lease.id);
        expect(lease.ttlSeconds).toBe(5);
      });

      it('a key put with a lease reports the lease id', async () => {
        const lease = await grant(10);
        await store.put(k('leased'), 'x', { lease: lease.id });
        expect((await mustGet(k('leased'))).lease).toBe(lease.id);
      });

      it('revoking a lease deletes all its keys in one revision, and watchers see the deletes', async () => {
        const lease = await grant(10);
        await store.put(k('l/b'), 'b', { lease: lease.id });
        await store.txn([], [{ type: 'put', key: k('l/a'), value: 'a', lease: lease.id }]);
        await store.put(k('l/free'), 'stays');
        const watch = await collect(k('l/'));
        await lease.revoke();
        await expect(store.get(k('l/a'))).resolves.toBeUndefined();
        await expect(store.get(k('l/b'))).resolves.toBeUndefined();
        expect((await mustGet(k('l/free'))).value).toBe('stays');
        const events = await watch.waitFor(2);
        expect(brief(events).sort()).toEqual([
          ['delete', 'l/a', ''],
          ['delete', 'l/b', ''],
        ]);
        expect(events[0]?.kv.modRevision).toBe(events[1]?.kv.modRevision);
      });

      it('revoke is idempotent', async () => {
        const lease = await grant(10);
        await lease.revoke();
        await expect(lease.revoke()).resolves.toBeUndefined();
      });

      it('keys put with a lease disappear after its TTL expires', async () => {
        const lease = await grant(1);
        await store.put(k('ttl'), 'x', { lease: lease.id });
        await expect(store.get(k('ttl'))).resolves.toBeDefined();
        const gone = await eventually(async () => (await store.get(k('ttl'))) === undefined, 4000);
        expect(gone).toBe(true);
      });

      it('keepAliveOnce keeps a leased key alive well past its TTL', async () => {
        const lease = await grant(1);
        await store.put(k('alive'), 'x', { lease: lease.id });
        const until = Date.now() + 2500;
        while (Date.now() < until) {
          await sleep(400);
          await lease.keepAliveOnce();
        }
        expect((await mustGet(k('alive'))).value).toBe('x');
      });

      it('keepAliveOnce rejects with LeaseLostError once the lease has expired', async () => {
        const lease = await grant(1);
        await store.put(k('expiring'), 'x', { lease: lease.id });
        const gone = await eventually(
          async () => (await store.get(k('expiring'))) === undefined,
          4000,
        );
        expect(gone).toBe(true);
        await expect(lease.keepAliveOnce()).rejects.toBeInstanceOf(LeaseLostError);
      });

      it('keepAliveOnce rejects with LeaseLostError after revoke', async () => {
        const lease = await grant(10);
        await lease.revoke();
        await expect(lease.keepAliveOnce()).rejects.toBeInstanceOf(LeaseLostError);
      });

      it('put with a revoked lease rejects with LeaseLostError and writes nothing', async () => {
        const lease = await grant(10);
        await lease.revoke();
        await expect(store.put(k('p'), 'x', { lease: lease.id })).rejects.toBeInstanceOf(
          LeaseLostError,
        );
        await expect(store.get(k('p'))).resolves.toBeUndefined();
      });

      it('a txn put with a revoked lease rejects with LeaseLostError and writes nothing', async () => {
        const lease = await grant(10);
        await lease.revoke();
        await expect(
          store.txn(
            [],
            [
              { type: 'put', key: k('free'), value: 'x' },
              { type: 'put', key: k('p'), value: 'x', lease: lease.id },
            ],
          ),
        ).rejects.toBeInstanceOf(LeaseLostError);
        await expect(store.get(k('free'))).resolves.toBeUndefined();
        await expect(store.get(k('p'))).resolves.toBeUndefined();
      });

      it('a put without a lease detaches the key from its earlier lease', async () => {
        const lease = await grant(10);
        await store.put(k('moved'), 'leased', { lease: lease.id });
        await store.put(k('moved'), 'free');
        expect((await mustGet(k('moved'))).lease).toBeUndefined();
        await lease.revoke();
        expect((await mustGet(k('moved'))).value).toBe('free');
      });
    });

    describe('close', () => {
      it('after close, every operation rejects', async () => {
        const closing = await factory();
        const closed = closing.store;
        const lease = await closed.grantLease(10);
        await closed.close();
        try {
          const attempts: [string, () => Promise<unknown>][] = [
            ['get', () => closed.get(`${closing.prefix}x`)],
            ['range', () => closed.range(closing.prefix)],
            ['snapshot', () => closed.snapshot([{ prefix: closing.prefix }])],
            ['txnAndSnapshot', () => closed.txnAndSnapshot([], [], [])],
            ['put', () => closed.put(`${closing.prefix}x`, 'x')],
            ['delete', () => closed.delete(`${closing.prefix}x`)],
            ['txn', () => closed.txn([], [{ type: 'put', key: `${closing.prefix}x`, value: 'x' }])],
            ['watchPrefix', () => closed.watchPrefix(closing.prefix, () => undefined)],
            ['grantLease', () => closed.grantLease(10)],
            ['keepAliveOnce', () => lease.keepAliveOnce()],
          ];
          for (const [operation, attempt] of attempts) {
            await expect(attempt().then(() => `${operation} resolved`)).rejects.toBeInstanceOf(
              DacError,
            );
          }
        } finally {
          await closing.cleanup();
        }
      });
    });
  });
}
