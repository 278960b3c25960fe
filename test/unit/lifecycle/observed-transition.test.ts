import {
  transferRecord,
  withStepOutcome,
  withTransferProgress,
} from '../../../src/lifecycle/observed-transition';
import type { SessionRecord } from '../../../src/registry/model';
import { sessionRecord } from '../../support/session-record';

const NOW_MS = 1_700_000_123_456;
const NOW_S = 1_700_000_123;

function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return sessionRecord({
    id: 7,
    desired: 'DataIn',
    observed: { phase: 'Setup', status: 'Completed', updatedAt: 1 },
    timings: { Setup: { startedAt: 1000, finishedAt: 2000 }, DataIn: { startedAt: 3000 } },
    ...overrides,
  });
}

describe('transferRecord', () => {
  it('holds the counts as stored, bytes as a bigint, stamped in seconds', () => {
    expect(transferRecord('DataOut', { bytes: 2 ** 40, files: 3 }, false, NOW_MS)).toEqual({
      phase: 'DataOut',
      bytes: 2n ** 40n,
      files: 3,
      done: false,
      updatedAt: NOW_S,
    });
  });
});

describe('transferRecord with totals', () => {
  it('keeps the totals (bytes as a bigint) and the start in milliseconds', () => {
    const counts = { bytes: 5, files: 1, totalBytes: 2 ** 40, totalFiles: 9, startedAt: 1234 };
    expect(transferRecord('DataIn', counts, true, NOW_MS)).toEqual({
      phase: 'DataIn',
      bytes: 5n,
      files: 1,
      totalBytes: 2n ** 40n,
      totalFiles: 9,
      startedAt: 1234,
      done: true,
      updatedAt: NOW_S,
    });
  });
});

describe('withTransferProgress', () => {
  it('records the counts of the stage the session still asks for', () => {
    const next = withTransferProgress(
      session(),
      { id: 7, phase: 'DataIn' },
      { bytes: 10, files: 1 },
      false,
      NOW_MS,
    );
    expect(next).toEqual({
      ...session(),
      transfer: { phase: 'DataIn', bytes: 10n, files: 1, done: false, updatedAt: NOW_S },
    });
  });

  it('leaves a session that moved on, or a new session of the same token, as it is', () => {
    const counts = { bytes: 10, files: 1 };
    const movedOn = session({ desired: 'Teardown' });
    expect(withTransferProgress(movedOn, { id: 7, phase: 'DataIn' }, counts, true, NOW_MS)).toBe(
      movedOn,
    );
    const another = session({ id: 8 });
    expect(withTransferProgress(another, { id: 7, phase: 'DataIn' }, counts, true, NOW_MS)).toBe(
      another,
    );
  });
});

describe('withStepOutcome', () => {
  it('records a completed step: observed, its finish time, the final counts; keeps lastError', () => {
    const lastError = { message: 'earlier', at: 5 };
    const next = withStepOutcome(
      session({ lastError }),
      { id: 7, phase: 'DataIn' },
      { status: 'Completed', transfer: { bytes: 12345, files: 7 } },
      NOW_MS,
    );
    expect(next.observed).toEqual({ phase: 'DataIn', status: 'Completed', updatedAt: NOW_S });
    expect(next.timings).toEqual({
      Setup: { startedAt: 1000, finishedAt: 2000 },
      DataIn: { startedAt: 3000, finishedAt: NOW_MS },
    });
    expect(next.transfer).toEqual({
      phase: 'DataIn',
      bytes: 12345n,
      files: 7,
      done: true,
      updatedAt: NOW_S,
    });
    expect(next.lastError).toBe(lastError);
  });

  it('records a failed step with its message as lastError, and leaves counts alone', () => {
    const transfer = transferRecord('DataIn', { bytes: 5, files: 1 }, true, 0);
    const next = withStepOutcome(
      session({ transfer }),
      { id: 7, phase: 'DataIn' },
      { status: 'Error', message: 'stage_in source /data/in does not exist' },
      NOW_MS,
    );
    expect(next.observed).toEqual({
      phase: 'DataIn',
      status: 'Error',
      message: 'stage_in source /data/in does not exist',
      updatedAt: NOW_S,
    });
    expect(next.lastError).toEqual({
      message: 'stage_in source /data/in does not exist',
      at: NOW_S,
    });
    expect(next.transfer).toBe(transfer);
  });

  it('stamps the finish of a phase that has no start recorded', () => {
    const next = withStepOutcome(
      session({ desired: 'PreRun', timings: {} }),
      { id: 7, phase: 'PreRun' },
      { status: 'Completed', message: 'note' },
      NOW_MS,
    );
    expect(next.timings).toEqual({ PreRun: { finishedAt: NOW_MS } });
    expect(next.observed?.message).toBe('note');
    expect(next.transfer).toBeUndefined();
  });

  it('leaves a session that moved on, or a new session of the same token, as it is', () => {
    const outcome = { status: 'Completed' as const };
    const movedOn = session({ desired: 'DataOut' });
    expect(withStepOutcome(movedOn, { id: 7, phase: 'DataIn' }, outcome, NOW_MS)).toBe(movedOn);
    const another = session({ id: 9 });
    expect(withStepOutcome(another, { id: 7, phase: 'DataIn' }, outcome, NOW_MS)).toBe(another);
  });
});
