import { AbortedError, StageError, StoreUnavailableError } from '../../../src/errors/errors';
import { judgeFailure } from '../../../src/lifecycle/step-failure';

const dataIn = { token: '42', phase: 'DataIn' as const, host: 'storage1' };
const teardown = { ...dataIn, phase: 'Teardown' as const };

describe('judgeFailure', () => {
  it('reports our own error with its message for the job owner', () => {
    const error = new StageError('stage_in source /data/in does not exist');
    expect(judgeFailure(dataIn, error, false)).toEqual({
      kind: 'report',
      outcome: { status: 'Error', message: 'stage_in source /data/in does not exist' },
    });
  });

  it('words any other error as an internal error, keeping its text out of the record', () => {
    expect(judgeFailure(dataIn, new TypeError('x is undefined'), false)).toEqual({
      kind: 'report',
      outcome: { status: 'Error', message: 'internal error in dacd' },
    });
  });

  it('reports nothing for an aborted step, whatever was thrown', () => {
    expect(judgeFailure(dataIn, new AbortedError('DataIn superseded'), false)).toEqual({
      kind: 'aborted',
      reason: 'DataIn superseded',
    });
    expect(judgeFailure(teardown, new StageError('device busy'), true)).toEqual({
      kind: 'aborted',
      reason: 'device busy',
    });
    expect(judgeFailure(dataIn, 'killed', true)).toEqual({ kind: 'aborted', reason: 'killed' });
  });

  it('completes a teardown that could not clean up, draining the host with the reason', () => {
    expect(
      judgeFailure(teardown, new StoreUnavailableError('ssh to storage1 failed'), false),
    ).toEqual({
      kind: 'report',
      drainReason: 'cleanup of session 42 failed: ssh to storage1 failed',
      outcome: {
        status: 'Completed',
        message:
          'the buffer was released but not cleaned up (ssh to storage1 failed); storage host storage1 is drained',
      },
    });
    const verdict = judgeFailure(teardown, new Error('EBUSY'), false);
    expect(verdict).toMatchObject({ drainReason: 'cleanup of session 42 failed: Error: EBUSY' });
  });

  it('keeps a drain reason within what a host record holds', () => {
    const verdict = judgeFailure(teardown, new StageError('x'.repeat(600)), false);
    if (verdict.kind !== 'report') throw new Error('expected a report');
    expect(verdict.drainReason).toHaveLength(500);
    expect(verdict.drainReason).toMatch(/^cleanup of session 42 failed: x+$/);
    expect(verdict.outcome.message).toContain('x'.repeat(600));
  });
});
