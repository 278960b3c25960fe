/**
 * One step carried out against mocked ports: which provider calls it makes, what it writes,
 * and the teardown-failure policy's drain. The reconcile loop as a whole is in
 * reconciler.test.ts.
 */
import pino from 'pino';
import {
  anyFunction,
  anyString,
  anything,
  capture,
  instance,
  mock,
  verify,
  when,
} from 'ts-mockito';
import { StepRunner } from '../../../src/dacd/step-runner';
import { AbortedError, StageError, StoreUnavailableError } from '../../../src/errors/errors';
import type { FilesystemProvider } from '../../../src/pfsprovider/provider';
import type { Phase, SessionRecord } from '../../../src/registry/model';
import { Registry } from '../../../src/registry/registry';
import { sessionRecord } from '../../support/session-record';

const silent = pino({ enabled: false });
const options = { progressIntervalMs: 0, attempts: 2, retryDelayMs: 1 };

function session(desired: Phase, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return sessionRecord({
    token: '42',
    desired,
    reconciler: 'storage1',
    computeHosts: ['cn1'],
    observed: { phase: 'Setup', status: 'Completed', updatedAt: 0 },
    ...overrides,
  });
}

let provider: FilesystemProvider;
let registry: Registry;

beforeEach(() => {
  provider = mock<FilesystemProvider>();
  registry = mock(Registry);
  when(registry.updateSession(anyString(), anyFunction())).thenCall(
    (_token: string, change: (s: SessionRecord) => SessionRecord) =>
      Promise.resolve(change(session('Setup'))),
  );
  when(registry.setHostEnabled(anyString(), anything(), anyString(), anyString())).thenResolve();
});

function runner(): StepRunner {
  return new StepRunner(instance(registry), instance(provider), 'storage1', silent, options);
}

/** What the n-th session update (0 = first) makes of `current`. */
function update(n: number, current: SessionRecord): SessionRecord {
  const [token, change] = capture(registry.updateSession).byCallIndex(n);
  expect(token).toBe('42');
  return change(current);
}

describe('StepRunner', () => {
  it('mounts on the compute hosts after creating a filesystem whose setup was not seen', async () => {
    const preRun = session('PreRun', { observed: null });
    await runner().run(preRun, new AbortController().signal);
    verify(provider.create(anything())).once();
    verify(provider.mount(anything(), anything())).once();
    verify(provider.create(anything())).calledBefore(provider.mount(anything(), anything()));
    expect(capture(provider.mount).last()[1]).toEqual(['cn1']);
    const done = update(0, preRun);
    expect(done.observed).toMatchObject({ phase: 'PreRun', status: 'Completed' });
    expect(done.timings.PreRun?.finishedAt).toEqual(expect.any(Number));
  });

  it('reports zero counts for a stage-in with nothing to copy, calling no stage', async () => {
    const dataIn = session('DataIn');
    await runner().run(dataIn, new AbortController().signal);
    verify(provider.stageIn(anything())).never();
    expect(update(0, dataIn).transfer).toMatchObject({ phase: 'DataIn', bytes: 0n, files: 0 });
  });

  it('writes the totals and the start with every count, and keeps them in the outcome', async () => {
    const totals = { totalBytes: 300, totalFiles: 3 };
    when(provider.stageIn(anything())).thenCall(
      (context: { onProgress(p: { bytes: number; files: number }, t?: typeof totals): void }) => {
        context.onProgress({ bytes: 0, files: 0 }, totals);
        context.onProgress({ bytes: 100, files: 1 }, totals);
        return Promise.resolve({ bytes: 300, files: 3 });
      },
    );
    const stageIn = [{ source: '/in', destination: '$DW_JOB_STRIPED/in', type: 'file' as const }];
    const dataIn = session('DataIn', { stageIn });
    const before = Date.now();
    await runner().run(dataIn, new AbortController().signal);
    verify(registry.updateSession(anyString(), anyFunction())).times(3);
    const first = update(0, dataIn).transfer!;
    expect(first).toMatchObject({ bytes: 0n, files: 0, totalBytes: 300n, totalFiles: 3 });
    expect(first.done).toBe(false);
    expect(first.startedAt).toBeGreaterThanOrEqual(before);
    expect(first.startedAt).toBeLessThanOrEqual(Date.now());
    expect(update(1, dataIn).transfer).toEqual({ ...first, bytes: 100n, files: 1 });
    const done = update(2, dataIn);
    expect(done.observed).toMatchObject({ phase: 'DataIn', status: 'Completed' });
    expect(done.transfer).toMatchObject({
      bytes: 300n,
      files: 3,
      totalBytes: 300n,
      totalFiles: 3,
      startedAt: first.startedAt,
      done: true,
    });
  });

  it('keeps the totals with the last counts of a stage that fails', async () => {
    when(provider.stageIn(anything())).thenCall(
      (context: { onProgress(p: { bytes: number; files: number }, t?: object): void }) => {
        context.onProgress({ bytes: 99, files: 3 }, { totalBytes: 1000, totalFiles: 10 });
        return Promise.reject(new StageError('the buffer is full'));
      },
    );
    const stageIn = [{ source: '/in', destination: '$DW_JOB_STRIPED/in', type: 'file' as const }];
    const dataIn = session('DataIn', { stageIn });
    await runner().run(dataIn, new AbortController().signal);
    expect(update(1, dataIn).transfer).toMatchObject({
      bytes: 99n,
      totalBytes: 1000n,
      totalFiles: 10,
      done: true,
    });
    expect(update(1, dataIn).transfer!.startedAt).toEqual(expect.any(Number));
  });

  it('records no totals when the provider could not measure, and zero totals for nothing to copy', async () => {
    when(provider.stageIn(anything())).thenCall(
      (context: { onProgress(p: { bytes: number; files: number }): void }) => {
        context.onProgress({ bytes: 1, files: 1 });
        return Promise.resolve({ bytes: 1, files: 1 });
      },
    );
    const stageIn = [{ source: '/in', destination: '$DW_JOB_STRIPED/in', type: 'file' as const }];
    const dataIn = session('DataIn', { stageIn });
    await runner().run(dataIn, new AbortController().signal);
    const final = update(1, dataIn).transfer!;
    expect(final).toMatchObject({ bytes: 1n, files: 1, done: true });
    expect(final.totalBytes).toBeUndefined();
    expect(final.totalFiles).toBeUndefined();

    const nothing = session('DataIn');
    await runner().run(nothing, new AbortController().signal);
    expect(update(2, nothing).transfer).toMatchObject({ totalBytes: 0n, totalFiles: 0 });
  });

  it('retries a transient failure and reports the step done', async () => {
    when(provider.unmount(anything(), anything()))
      .thenReject(new StoreUnavailableError('ssh reset'))
      .thenResolve();
    const postRun = session('PostRun');
    await runner().run(postRun, new AbortController().signal);
    verify(provider.unmount(anything(), anything())).twice();
    expect(update(0, postRun).observed).toMatchObject({ phase: 'PostRun', status: 'Completed' });
  });

  it('when cleanup fails, drains the host with the reason and reports the teardown done', async () => {
    when(provider.delete(anything())).thenReject(new StageError('device busy'));
    const teardown = session('Teardown');
    await runner().run(teardown, new AbortController().signal);
    verify(
      registry.setHostEnabled(
        'storage1',
        false,
        'cleanup of session 42 failed: device busy',
        'dacd on storage1',
      ),
    ).once();
    verify(registry.setHostEnabled(anyString(), anything(), anyString(), anyString())).calledBefore(
      registry.updateSession(anyString(), anyFunction()),
    );
    expect(update(0, teardown).observed).toMatchObject({
      phase: 'Teardown',
      status: 'Completed',
      message:
        'the buffer was released but not cleaned up (device busy); storage host storage1 is drained',
    });
  });

  it('still reports the teardown when the host cannot be drained', async () => {
    when(provider.delete(anything())).thenReject(new StageError('device busy'));
    when(registry.setHostEnabled(anyString(), anything(), anyString(), anyString())).thenReject(
      new StoreUnavailableError('etcd is unreachable'),
    );
    const teardown = session('Teardown');
    await runner().run(teardown, new AbortController().signal);
    expect(update(0, teardown).observed?.status).toBe('Completed');
  });

  it('writes nothing for an aborted step', async () => {
    const controller = new AbortController();
    when(provider.stageOut(anything())).thenCall(() => {
      controller.abort();
      return Promise.reject(new AbortedError('teardown with --hurry'));
    });
    const stageOut = [
      { source: '$DW_JOB_STRIPED/out', destination: '/out', type: 'file' as const },
    ];
    await runner().run(session('DataOut', { stageOut }), controller.signal);
    verify(registry.updateSession(anyString(), anyFunction())).never();
    verify(registry.setHostEnabled(anyString(), anything(), anyString(), anyString())).never();
  });

  it('records a failed stage-in as the step error, after the last counts it copied', async () => {
    when(provider.stageIn(anything())).thenCall(
      (context: { onProgress(p: { bytes: number; files: number }): void }) => {
        context.onProgress({ bytes: 99, files: 3 });
        return Promise.reject(new StageError('the buffer is full'));
      },
    );
    const stageIn = [{ source: '/in', destination: '$DW_JOB_STRIPED/in', type: 'file' as const }];
    const dataIn = session('DataIn', { stageIn });
    await runner().run(dataIn, new AbortController().signal);
    verify(registry.updateSession(anyString(), anyFunction())).times(3);
    expect(update(0, dataIn).transfer).toMatchObject({ bytes: 99n, done: false });
    expect(update(1, dataIn).transfer).toMatchObject({ bytes: 99n, done: true });
    const failed = update(2, dataIn);
    expect(failed.observed).toMatchObject({ status: 'Error', message: 'the buffer is full' });
    expect(failed.lastError?.message).toBe('the buffer is full');
  });
});
