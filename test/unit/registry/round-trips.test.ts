/**
 * What each session write costs in requests to the store, on a registry of many hosts and
 * sessions: every Keystore call is one round trip to etcd. A setup reads the usage records and
 * the chosen hosts' records, never the whole inventory, and a conflict on the summary bucket
 * alone costs the transaction again, not a new placement. A step call makes two requests (one
 * read, one transaction) before it opens its two watches.
 */
import type { Keystore } from '../../../src/keystore/keystore';
import { MemoryKeystore } from '../../../src/keystore/memory-keystore';
import { KeyLayout } from '../../../src/registry/keys';
import { Registry } from '../../../src/registry/registry';
import { summaryBucketOf } from '../../../src/registry/session-summary';
import { requestPhase } from '../../../src/lifecycle/request-phase';
import { setupJob } from '../../../src/lifecycle/setup-job';
import { teardownSession } from '../../../src/lifecycle/teardown';
import { countingKeystore } from '../../support/counting-keystore';
import { addHosts } from '../../support/registry-fixture';
import { registryViolations } from '../../support/registry-invariants';

const GiB = 1024n ** 3n;
const HOSTS = 60;

async function system(wrap: (store: Keystore) => Keystore = (store) => store) {
  const inner = new MemoryKeystore();
  const keys = new KeyLayout('/t/');
  const setupRegistry = new Registry(inner, keys);
  await addHosts(
    { store: inner, registry: setupRegistry },
    {
      pool: 'pool',
      granularity: GiB,
      hosts: Array.from({ length: HOSTS }, (_, h) => `dac${h}`),
      bricksPerHost: 16,
    },
  );
  const request = (token: string, bricks: number) => ({
    token,
    kind: 'job' as const,
    owner: { uid: 1000, gid: 1000 },
    pool: 'pool',
    requestedBytes: BigInt(bricks) * GiB,
  });
  for (let i = 0; i < 30; i += 1)
    await setupRegistry.createSession(request(`old${i}`, 1 + (i % 5)));
  const counting = countingKeystore(wrap(inner));
  const registry = new Registry(counting.store, keys);
  return { inner, keys, counting, registry, setupRegistry, request };
}

describe('round trips of the session writes', () => {
  it('setup: three requests for a buffer (two without one), however many hosts', async () => {
    const { counting, registry, request } = await system();
    for (const bricks of [1, 8, 42, 100]) {
      counting.reset();
      const { created, session } = await registry.createSession(request(`new${bricks}`, bricks));
      expect(created).toBe(true);
      expect(session.bricks).toHaveLength(bricks);
      expect(counting.calls).toEqual(['txnAndSnapshot', 'snapshot', 'txnAndSnapshot']);
    }
    counting.reset();
    await registry.createSession(request('empty', 0));
    expect(counting.calls).toEqual(['txnAndSnapshot', 'txnAndSnapshot']);
    // Asked again, it answers from the first request.
    counting.reset();
    expect((await registry.createSession(request('new8', 8))).created).toBe(false);
    expect(counting.calls).toEqual(['txnAndSnapshot']);
  });

  it('a step: one snapshot and one transaction, its history entry included', async () => {
    const { counting, registry, request } = await system();
    await registry.createSession(request('job', 3));
    counting.reset();
    await registry.updateSession('job', (s) => ({ ...s, desired: 'DataIn' }));
    expect(counting.calls).toEqual(['snapshot', 'txn']);
    // A change that changes nothing writes nothing.
    counting.reset();
    await registry.updateSession('job', (s) => s);
    expect(counting.calls).toEqual(['snapshot']);
    const { events } = await registry.events(Date.now() - 60_000, Date.now() + 1000);
    expect(events.map((e) => [e.token, e.kind])).toEqual(
      expect.arrayContaining([
        ['job', 'session-created'],
        ['job', 'session-step'],
      ]),
    );
  });

  it('a step without a daemon: at most three requests before waiting', async () => {
    const { counting, registry, request } = await system();
    await registry.createSession({ ...request('nodaemon', 0), reconciler: null });
    counting.reset();
    await requestPhase(registry, 'nodaemon', 'DataIn', { deadlineMs: 1000, hostGraceMs: 1000 });
    // requestPhase's own write, then waitForPhase's read of a step that is done already.
    expect(counting.calls.length).toBeLessThanOrEqual(3);
  });

  /** Run `step` until its watches are open, then complete the step as dacd would. */
  async function stepCalls(
    sys: Awaited<ReturnType<typeof system>>,
    token: string,
    step: () => Promise<unknown>,
  ): Promise<string[]> {
    const { counting, setupRegistry } = sys;
    counting.reset();
    const running = step();
    while (counting.calls.filter((call) => call === 'watchPrefix').length < 2) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const before = [...counting.calls];
    await setupRegistry.updateSession(token, (s) => ({
      ...s,
      observed: { phase: s.desired, status: 'Completed', updatedAt: Date.now() },
    }));
    await running;
    return before;
  }

  it('a step call: a snapshot, a transaction that reads the host’s liveness, then the watches', async () => {
    const sys = await system();
    const created = await sys.registry.createSession(sys.request('job', 3));
    expect(created.hostAlive).toBe(true);
    const options = { deadlineMs: 5000, hostGraceMs: 5000 };
    const calls = await stepCalls(sys, 'job', () =>
      requestPhase(sys.registry, 'job', 'DataIn', options),
    );
    expect(calls).toEqual(['snapshot', 'txnAndSnapshot', 'watchPrefix', 'watchPrefix']);
    // Asked again while under way: nothing to write, so the liveness key is read on its own.
    await sys.setupRegistry.updateSession('job', (s) => ({ ...s, desired: 'PreRun' }));
    const again = await stepCalls(sys, 'job', () =>
      requestPhase(sys.registry, 'job', 'PreRun', options),
    );
    expect(again).toEqual(['snapshot', 'range', 'watchPrefix', 'watchPrefix']);
  });

  it('setup and teardown calls: no read of their own before the watches', async () => {
    const sys = await system();
    const options = { deadlineMs: 5000, hostGraceMs: 5000 };
    const setup = await stepCalls(sys, 'job', () =>
      setupJob(
        sys.registry,
        {
          token: 'job',
          owner: { uid: 1000, gid: 1000 },
          pool: 'pool',
          capacityBytes: 3n * GiB,
          directives: [],
        },
        options,
      ),
    );
    expect(setup).toEqual([
      'txnAndSnapshot',
      'snapshot',
      'txnAndSnapshot',
      'watchPrefix',
      'watchPrefix',
    ]);
    const teardown = await stepCalls(sys, 'job', () =>
      teardownSession(sys.registry, 'job', { ...options, hurry: false }),
    );
    expect(teardown).toEqual(['snapshot', 'txnAndSnapshot', 'watchPrefix', 'watchPrefix']);
    expect(await sys.registry.getSession('job')).toBeUndefined();
    expect(await registryViolations(sys.inner, sys.keys)).toEqual([]);
  });

  it('teardown: three requests to free a buffer, its history entry included', async () => {
    const { counting, registry, request, inner, keys } = await system();
    await registry.createSession(request('job', 12));
    counting.reset();
    expect((await registry.releaseSession('job'))?.token).toBe('job');
    expect(counting.calls).toEqual(['snapshot', 'snapshot', 'txn']);
    const { events } = await registry.events(Date.now() - 60_000, Date.now() + 1000);
    expect(events.filter((e) => e.token === 'job').map((e) => e.kind)).toEqual([
      'session-created',
      'session-released',
    ]);
    expect(await registryViolations(inner, keys)).toEqual([]);
  });

  it('a conflict on the summary bucket alone costs the transaction again, and no read', async () => {
    const token = 'contended';
    const rival = Array.from({ length: 1000 }, (_, i) => `rival${i}`).find(
      (t) => summaryBucketOf(t) === summaryBucketOf(token),
    )!;
    // The rival's setup (of no bricks, so that it takes none of ours) lands in the same bucket
    // just before our first transaction is sent.
    let rivalSetup: (() => Promise<unknown>) | undefined;
    const { counting, registry, setupRegistry, request, inner, keys } = await system(
      (store) =>
        new Proxy(store, {
          get(target, name) {
            const value: unknown = Reflect.get(target, name);
            if (name !== 'txnAndSnapshot' || typeof value !== 'function') {
              return typeof value === 'function' ? value.bind(target) : value;
            }
            return async (...args: Parameters<Keystore['txnAndSnapshot']>) => {
              // Before the creation's transaction (the first call, of no compares, takes the id).
              const before = args[0].length > 0 ? rivalSetup : undefined;
              if (before) rivalSetup = undefined;
              await before?.();
              return target.txnAndSnapshot(...args);
            };
          },
        }),
    );
    rivalSetup = () => setupRegistry.createSession(request(rival, 0));
    counting.reset();
    const { session } = await registry.createSession(request(token, 4));
    // The failed transaction read what it compared: the next one is sent at once.
    expect(counting.calls).toEqual([
      'txnAndSnapshot',
      'snapshot',
      'txnAndSnapshot',
      'txnAndSnapshot',
    ]);
    expect(session.bricks).toHaveLength(4);
    expect(await registryViolations(inner, keys)).toEqual([]);
  });
});
