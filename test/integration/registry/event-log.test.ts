/**
 * The event history on the real test etcd: what is written is read back in time order, old
 * hours are deleted and recent ones kept, a watch sees new events, a damaged entry is named,
 * and a write that fails is reported without failing the change it follows.
 */
import type { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import { EventLog, hourOf, readEvents } from '../../../src/registry/event-log';
import { KeyLayout } from '../../../src/registry/keys';
import type { EventRecord } from '../../../src/registry/model';
import { Registry } from '../../../src/registry/registry';
import { testEtcdStore } from '../../support/test-etcd';

const HOUR = 3600 * 1000;
const NOW = Date.UTC(2026, 11, 7, 15, 30);

const event = (at: number, message: string): EventRecord => ({
  schemaVersion: 1,
  at,
  kind: 'host-drained',
  host: 'dac1',
  message,
});

describe('EventLog', () => {
  let store: EtcdKeystore;
  let keys: KeyLayout;
  let log: EventLog;

  beforeEach(() => {
    const created = testEtcdStore('event-log');
    store = created.store;
    keys = new KeyLayout(created.config.prefix);
    log = new EventLog(store, keys);
  });

  afterEach(async () => {
    await store.close();
  });

  it('reads back what it wrote, oldest first, from the time asked for', async () => {
    await log.record([event(NOW - 5 * HOUR, 'old'), event(NOW - 1000, 'late')]);
    await log.record([event(NOW - 2 * HOUR, 'middle')]);
    const all = await readEvents(store, keys, NOW - 6 * HOUR, NOW);
    expect(all.events.map((e) => e.message)).toEqual(['old', 'middle', 'late']);
    expect(all.damaged).toEqual([]);
    const recent = await readEvents(store, keys, NOW - 3 * HOUR, NOW);
    expect(recent.events.map((e) => e.message)).toEqual(['middle', 'late']);
  });

  it('deletes the hours older than the retention, and keeps the rest', async () => {
    const ages = [200, 100, 49, 47, 1];
    await log.record(ages.map((h) => event(NOW - h * HOUR, `${h}h ago`)));
    // The timer's pass looks back three days past the retention: 100 h goes, 200 h stays.
    expect(await log.trim(48 * HOUR, NOW)).toBeGreaterThan(0);
    const left = async () =>
      (await readEvents(store, keys, NOW - 300 * HOUR, NOW)).events.map((e) => e.message);
    expect(await left()).toEqual(['200h ago', '47h ago', '1h ago']);
    // The pass at start lists every stored hour.
    await log.trim(48 * HOUR, NOW, true);
    expect(await left()).toEqual(['47h ago', '1h ago']);
  });

  it('names a damaged entry and reads the others', async () => {
    await log.record([event(NOW - 1000, 'fine')]);
    const bad = keys.event('2026120715', NOW - 500, 'bad');
    await store.put(bad, '{"schemaVersion":1,"at":"soon"}');
    const read = await readEvents(store, keys, NOW - HOUR, NOW);
    expect(read.events.map((e) => e.message)).toEqual(['fine']);
    expect(read.damaged.map((e) => e.message)).toEqual([
      `etcd record ${bad} is invalid: at: must be a non-negative integer; kind: must be one of ` +
        '"session-created", "session-step", "session-state", "session-released", ' +
        '"session-forced-teardown", "host-drained", "host-undrained", "host-removed", ' +
        '"pool-removed", "bricks-released"; message: must be a string',
    ]);
  });

  it('reads a forced teardown recorded before it had a kind of its own', async () => {
    const old = {
      schemaVersion: 1,
      at: NOW - 1000,
      kind: 'session-released',
      token: '4001',
      uid: 1001,
      by: 'root',
      message: 'torn down by force: dac1 is dead',
    };
    await store.put(keys.event(hourOf(NOW - 1000), NOW - 1000, 'old'), JSON.stringify(old));
    expect((await readEvents(store, keys, NOW - HOUR, NOW)).events).toEqual([old]);
  });

  it('shows new events to a watch', async () => {
    const { revision } = await readEvents(store, keys, NOW - HOUR, NOW);
    const seen: string[] = [];
    const watch = await log.watch(
      revision + 1,
      (e) => seen.push(e.message),
      () => undefined,
    );
    await log.record([event(Date.now(), 'new')]);
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    await watch.close();
    expect(seen).toEqual(['new']);
  });

  it('reports a write it could not make, and the change it follows stands', async () => {
    const lost: unknown[] = [];
    const { store: other, config } = testEtcdStore('event-log-lost');
    const layout = new KeyLayout(config.prefix);
    // etcd refuses the first write of the history (as when it is out of space for a moment).
    let refuse = true;
    const failing = new Proxy(other, {
      get(target, name, receiver) {
        if (name !== 'txn') return Reflect.get(target, name, receiver);
        return (...args: Parameters<EtcdKeystore['txn']>) => {
          const history = args[1].some(
            (op) => op.type === 'put' && op.key.startsWith(layout.events()),
          );
          if (history && refuse) {
            refuse = false;
            return Promise.reject(new Error('etcdserver: mvcc: database space exceeded'));
          }
          return target.txn(...args);
        };
      },
    });
    const registry = new Registry(failing, layout, {
      onEventLost: (error) => lost.push(error),
    });
    await registry.ensurePool('default', 1024n);
    await registry.registerHost({
      name: 'dac1',
      bricks: [{ device: 'nvme0n1', capacityBytes: 1024n, pool: 'default' }],
    });
    const record = await registry.setHostEnabled('dac1', false, 'first', 'alice');
    expect(record.enabled).toBe(false);
    expect(lost).toEqual([new Error('etcdserver: mvcc: database space exceeded')]);
    const drained = await registry.setHostEnabled('dac1', false, 'short', 'alice');
    expect(drained.drainReason).toBe('short');
    const read = await registry.events(Date.now() - HOUR, Date.now());
    expect(read.events.map((e) => [e.kind, e.by, e.message])).toEqual([
      ['host-drained', 'alice', 'drained: short'],
    ]);
    await other.close();
  });
});
