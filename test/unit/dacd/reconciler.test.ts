/**
 * The reconcile loop in-process, on the in-memory keystore, driven by the same lifecycle code the
 * CLI uses (requestPhase, teardownSession) and a recording provider, optionally wrapped in the
 * fault-injecting provider.
 */
import pino from 'pino';
import { Reconciler, needsWork } from '../../../src/dacd/reconciler';
import { StageError, StepFailedError } from '../../../src/errors/errors';
import { MemoryKeystore } from '../../../src/keystore/memory-keystore';
import { requestPhase } from '../../../src/lifecycle/request-phase';
import { teardownSession } from '../../../src/lifecycle/teardown';
import { waitForPhase } from '../../../src/lifecycle/wait-for-phase';
import { FaultInjectingProvider, parseFaults } from '../../../src/pfsprovider/fault-provider';
import type {
  FilesystemProvider,
  OperationContext,
  StageContext,
  TransferProgress,
} from '../../../src/pfsprovider/provider';
import { KeyLayout } from '../../../src/registry/keys';
import type { Phase, SessionRecord } from '../../../src/registry/model';
import { Registry } from '../../../src/registry/registry';

const GiB = 1024n ** 3n;
const wait = { deadlineMs: 5000, hostGraceMs: 5000 };
const silent = pino({ enabled: false });

/** Records every call; behaviour per operation can be overridden. */
class RecordingProvider implements FilesystemProvider {
  readonly name = 'recording';
  readonly calls: string[] = [];
  stageResult: TransferProgress = { bytes: 12345, files: 7 };
  deleteError: Error | undefined;
  stageError: Error | undefined;
  /** Progress reports a stage makes before finishing. */
  progressSteps: TransferProgress[] = [];

  private record(operation: string, context: OperationContext, extra = ''): void {
    this.calls.push(`${operation}:${context.session.token}${extra}`);
  }
  create(context: OperationContext): Promise<void> {
    this.record('create', context);
    return Promise.resolve();
  }
  mount(context: OperationContext, hosts: string[]): Promise<void> {
    this.record('mount', context, `:${hosts.join('+')}`);
    return Promise.resolve();
  }
  unmount(context: OperationContext, hosts: string[]): Promise<void> {
    this.record('unmount', context, `:${hosts.join('+')}`);
    return Promise.resolve();
  }
  stageIn(context: StageContext): Promise<TransferProgress> {
    return this.stage('stageIn', context);
  }
  stageOut(context: StageContext): Promise<TransferProgress> {
    return this.stage('stageOut', context);
  }
  delete(context: OperationContext): Promise<void> {
    this.record('delete', context);
    return this.deleteError ? Promise.reject(this.deleteError) : Promise.resolve();
  }
  private async stage(operation: string, context: StageContext): Promise<TransferProgress> {
    this.record(operation, context);
    for (const progress of this.progressSteps) {
      context.onProgress(progress);
      await new Promise((r) => setTimeout(r, 5));
    }
    if (this.stageError) throw this.stageError;
    return this.stageResult;
  }
}

interface Fixture {
  store: MemoryKeystore;
  registry: Registry;
  provider: RecordingProvider;
  reconciler: Reconciler;
}

let fixtures: Fixture[] = [];

async function setUp(
  faults = '',
  options: { leftovers?: Set<string>; progressIntervalMs?: number } = {},
): Promise<Fixture> {
  const store = new MemoryKeystore();
  const registry = new Registry(store, new KeyLayout('/t/'));
  await registry.ensurePool('pool', 100n * GiB);
  const lease = await store.grantLease(60);
  for (const host of ['hostA', 'hostB']) {
    await registry.registerHost({
      name: host,
      bricks: [{ device: 'nvme0n1', capacityBytes: 100n * GiB, pool: 'pool' }],
    });
    await registry.markAlive(host, lease.id);
  }
  const provider = new RecordingProvider();
  const wrapped = faults ? new FaultInjectingProvider(provider, parseFaults(faults)) : provider;
  const removed: string[] = [];
  const leftovers = options.leftovers;
  const reconciler = new Reconciler(registry, wrapped, 'hostA', silent, {
    progressIntervalMs: options.progressIntervalMs ?? 0,
    retryDelayMs: 10,
    ...(leftovers
      ? {
          leftovers: {
            list: () => Promise.resolve(new Set(leftovers)),
            remove: (token: string) => {
              removed.push(token);
              leftovers.delete(token);
              return Promise.resolve();
            },
          },
        }
      : {}),
  });
  const fixture = { store, registry, provider, reconciler };
  fixtures.push(fixture);
  return fixture;
}

afterEach(async () => {
  for (const f of fixtures) {
    await f.reconciler.stop(1000);
    await f.store.close();
  }
  fixtures = [];
});

/** A session whose primary brick is on hostA (the reconciler under test). */
async function jobOnHostA(registry: Registry, token: string, extra: Partial<SessionRecord> = {}) {
  await registry.createSession({
    token,
    kind: 'job',
    owner: { uid: 1000, gid: 1000 },
    pool: 'pool',
    requestedBytes: 0n,
    reconciler: 'hostA',
    stageIn: [{ source: '/data/in', destination: '$DW_JOB_STRIPED/in', type: 'directory' }],
    stageOut: [{ source: '$DW_JOB_STRIPED/out', destination: '/data/out', type: 'directory' }],
  });
  if (Object.keys(extra).length > 0) {
    await registry.updateSession(token, (s) => ({ ...s, ...extra }));
  }
}

async function session(registry: Registry, token: string): Promise<SessionRecord> {
  const stored = await registry.getSession(token);
  if (!stored) throw new Error(`no session ${token}`);
  return stored.record;
}

describe('needsWork', () => {
  const base = { reconciler: 'h', desired: 'DataIn' as Phase } as SessionRecord;
  it.each([
    [null, true],
    [{ phase: 'Setup', status: 'Completed' }, true],
    [{ phase: 'DataIn', status: 'InProgress' }, true],
    [{ phase: 'DataIn', status: 'Completed' }, false],
    [{ phase: 'DataIn', status: 'Error' }, false],
  ])('observed %j → %s', (observed, expected) => {
    expect(needsWork({ ...base, observed } as SessionRecord, 'h')).toBe(expected);
  });
  it('ignores sessions another host serves', () => {
    expect(needsWork({ ...base, observed: null }, 'other')).toBe(false);
  });
});

describe('Reconciler', () => {
  it('carries a job through every step, recording outcome, counts and finish times', async () => {
    const { registry, provider, reconciler } = await setUp();
    await reconciler.start();
    await jobOnHostA(registry, '101');
    await waitForPhase(registry, '101', 'Setup', wait);
    await requestPhase(registry, '101', 'DataIn', wait);
    const afterIn = await session(registry, '101');
    expect(afterIn.transfer).toMatchObject({
      phase: 'DataIn',
      bytes: 12345n,
      files: 7,
      done: true,
    });
    await requestPhase(registry, '101', 'PreRun', {
      ...wait,
      change: (s) => ({ ...s, computeHosts: ['cn1', 'cn2'] }),
    });
    await requestPhase(registry, '101', 'PostRun', wait);
    await requestPhase(registry, '101', 'DataOut', wait);
    const beforeTeardown = await session(registry, '101');
    for (const phase of ['Setup', 'DataIn', 'PreRun', 'PostRun', 'DataOut'] as const) {
      expect(beforeTeardown.timings[phase]?.finishedAt).toEqual(expect.any(Number));
    }
    expect(beforeTeardown.observed).toMatchObject({ phase: 'DataOut', status: 'Completed' });
    expect(await teardownSession(registry, '101', { ...wait, hurry: false })).toBe('released');
    expect(provider.calls).toEqual([
      'create:101',
      'stageIn:101',
      'mount:101:cn1+cn2',
      'unmount:101:cn1+cn2',
      'stageOut:101',
      'unmount:101:cn1+cn2',
      'delete:101',
    ]);
    expect(await registry.getSession('101')).toBeUndefined();
  });

  it('writes transfer progress while a stage runs', async () => {
    const { registry, provider, reconciler } = await setUp();
    provider.progressSteps = [
      { bytes: 10, files: 1 },
      { bytes: 20, files: 2 },
    ];
    const seen: bigint[] = [];
    await reconciler.start();
    await jobOnHostA(registry, '102');
    await waitForPhase(registry, '102', 'Setup', wait);
    const watch = await registry.watchSession(
      '102',
      0,
      (s) => s?.record.transfer && seen.push(s.record.transfer.bytes),
      () => undefined,
    );
    await requestPhase(registry, '102', 'DataIn', wait);
    await watch.close();
    expect(seen).toEqual(expect.arrayContaining([10n, 20n, 12345n]));
  });

  it('records the last counts of a stage that fails, however recent the last write', async () => {
    const { registry, provider, reconciler } = await setUp('', { progressIntervalMs: 60000 });
    provider.progressSteps = [
      { bytes: 2, files: 1 },
      { bytes: 58_000_000, files: 12 },
    ];
    provider.stageError = new StageError('the buffer is full (no space left on device)');
    await reconciler.start();
    await jobOnHostA(registry, '108');
    await waitForPhase(registry, '108', 'Setup', wait);
    await expect(requestPhase(registry, '108', 'DataIn', wait)).rejects.toThrow(StepFailedError);
    expect((await session(registry, '108')).transfer).toMatchObject({
      phase: 'DataIn',
      bytes: 58_000_000n,
      files: 12,
      done: true,
    });
  });

  it('reports a user error as the step error, without retrying', async () => {
    const { registry, provider, reconciler } = await setUp();
    provider.stageError = new StageError('stage_in source /data/in does not exist');
    await reconciler.start();
    await jobOnHostA(registry, '103');
    await waitForPhase(registry, '103', 'Setup', wait);
    await expect(requestPhase(registry, '103', 'DataIn', wait)).rejects.toThrow(
      new StepFailedError('stage-in failed on hostA: stage_in source /data/in does not exist'),
    );
    expect(provider.calls.filter((c) => c === 'stageIn:103')).toHaveLength(1);
    expect((await session(registry, '103')).lastError?.message).toBe(
      'stage_in source /data/in does not exist',
    );
  });

  it('retries a transient provider failure, then reports it; a retried request runs again', async () => {
    const { registry, reconciler, provider } = await setUp('mount:104:fail:lnet down');
    await reconciler.start();
    await jobOnHostA(registry, '104');
    await waitForPhase(registry, '104', 'Setup', wait);
    await expect(requestPhase(registry, '104', 'PreRun', wait)).rejects.toThrow(
      'mounting the buffer on the compute nodes failed on hostA: lnet down',
    );
    // The fault wrapper fails before the inner provider is called: nothing reached it.
    expect(provider.calls.filter((c) => c.startsWith('mount'))).toHaveLength(0);
    await expect(requestPhase(registry, '104', 'PreRun', wait)).rejects.toThrow('lnet down');
  });

  it('a teardown with --hurry aborts a stalled stage-out and removes the buffer', async () => {
    const { registry, provider, reconciler } = await setUp('stageOut:105:stall');
    await reconciler.start();
    await jobOnHostA(registry, '105');
    await waitForPhase(registry, '105', 'Setup', wait);
    const stageOut = requestPhase(registry, '105', 'DataOut', { ...wait, deadlineMs: 10000 });
    const outcome = stageOut.then(
      () => 'finished',
      (error: Error) => error.message,
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(await teardownSession(registry, '105', { ...wait, hurry: true })).toBe('released');
    expect(provider.calls).toEqual(['create:105', 'unmount:105:', 'delete:105']);
    // The waiting data_out ends either way (done, or its session removed): it does not hang.
    expect(await outcome).toMatch(/^finished$|removed while stage-out/);
  });

  it('skips stage-out once teardown asked for hurry', async () => {
    const { registry, provider, reconciler } = await setUp();
    await reconciler.start();
    await jobOnHostA(registry, '106');
    await waitForPhase(registry, '106', 'Setup', wait);
    await registry.updateSession('106', (s) => ({ ...s, hurry: true }));
    const done = await requestPhase(registry, '106', 'DataOut', wait);
    expect(done.observed?.message).toBe('stage-out skipped (teardown with --hurry)');
    expect(provider.calls).not.toContain('stageOut:106');
  });

  it('when cleanup fails, drains the host, releases the session and says so', async () => {
    const { registry, provider, reconciler } = await setUp();
    provider.deleteError = new StageError('device busy');
    await reconciler.start();
    await jobOnHostA(registry, '107');
    await waitForPhase(registry, '107', 'Setup', wait);
    const watched: string[] = [];
    const watch = await registry.watchSession(
      '107',
      0,
      (s) => s?.record.observed?.message && watched.push(s.record.observed.message),
      () => undefined,
    );
    const notes: string[] = [];
    expect(
      await teardownSession(registry, '107', {
        ...wait,
        hurry: false,
        onNote: (note) => notes.push(note),
      }),
    ).toBe('released');
    await watch.close();
    const said =
      'the buffer was released but not cleaned up (device busy); storage host hostA is drained';
    expect(watched).toContain(said);
    expect(notes).toEqual([said]);
    const hostA = (await registry.readInventory()).hosts.get('hostA')!.record;
    expect(hostA.enabled).toBe(false);
    expect(hostA.drainReason).toBe('cleanup of session 107 failed: device busy');
    expect(await registry.getSession('107')).toBeUndefined();
  });

  it('ignores sessions another host serves', async () => {
    const { registry, provider, reconciler } = await setUp();
    await reconciler.start();
    await registry.createSession({
      token: '108',
      kind: 'job',
      owner: { uid: 1, gid: 1 },
      pool: 'pool',
      requestedBytes: 0n,
      reconciler: 'hostB',
    });
    await jobOnHostA(registry, '109');
    await waitForPhase(registry, '109', 'Setup', wait);
    await reconciler.idle();
    expect(provider.calls).toEqual(['create:109']);
    expect((await session(registry, '108')).observed).toBeNull();
  });

  it('after a stop mid-step, a new reconciler finishes the step; nothing was reported', async () => {
    const first = await setUp('stageIn:110:stall');
    await first.reconciler.start();
    await jobOnHostA(first.registry, '110');
    await waitForPhase(first.registry, '110', 'Setup', wait);
    await first.registry.updateSession('110', (s) => ({
      ...s,
      desired: 'DataIn',
      timings: { ...s.timings, DataIn: { startedAt: Date.now() } },
    }));
    await new Promise((r) => setTimeout(r, 50));
    await first.reconciler.stop(1000);
    const stopped = await session(first.registry, '110');
    expect(stopped.observed).toMatchObject({ phase: 'Setup', status: 'Completed' });
    const provider = new RecordingProvider();
    const second = new Reconciler(first.registry, provider, 'hostA', silent);
    fixtures.push({ ...first, provider, reconciler: second });
    await second.start();
    const done = await waitForPhase(first.registry, '110', 'DataIn', wait);
    expect(done.transfer).toMatchObject({ files: 7, done: true });
    expect(provider.calls).toEqual(['stageIn:110']);
  });

  it('is settled for a session once its stalled step ended on the forced teardown', async () => {
    const { registry, reconciler } = await setUp('stageIn:112:stall');
    await reconciler.start();
    await jobOnHostA(registry, '112');
    await waitForPhase(registry, '112', 'Setup', wait);
    await expect(reconciler.settled('112')).resolves.toBeUndefined();
    await registry.updateSession('112', (s) => ({ ...s, desired: 'DataIn' }));
    await new Promise((r) => setTimeout(r, 50));
    let settled = false;
    const settling = reconciler.settled('112').then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    await registry.releaseSessionByForce('112', { by: 'root', reason: 'stage-in hangs' });
    await settling;
    expect(await registry.getSession('112')).toBeUndefined();
  });

  it('removes leftovers of sessions that no longer exist when it starts, and only those', async () => {
    const leftovers = new Set(['111', 'gone']);
    const { registry, reconciler } = await setUp('', { leftovers });
    await jobOnHostA(registry, '111');
    await reconciler.start();
    expect([...leftovers]).toEqual(['111']);
  });
});
