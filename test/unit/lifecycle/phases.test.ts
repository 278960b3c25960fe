import { comparePhases, isPhaseDone, planPhaseRequest } from '../../../src/lifecycle/phases';
import type { Phase, SessionRecord } from '../../../src/registry/model';
import { sessionRecord } from '../../support/session-record';

function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return sessionRecord({
    id: 1,
    token: '42',
    owner: { uid: 1000, gid: 1000 },
    bricks: [{ host: 'h1', device: 'nvme0n1' }],
    reconciler: 'h1',
    observed: { phase: 'Setup', status: 'Completed', updatedAt: 0 },
    ...overrides,
  });
}

const observed = (
  phase: Phase,
  status: 'InProgress' | 'Completed' | 'Error',
  message?: string,
) => ({
  phase,
  status,
  updatedAt: 0,
  ...(message ? { message } : {}),
});

describe('the session state machine', () => {
  it('orders the steps as Slurm drives them', () => {
    expect(comparePhases('Setup', 'DataIn')).toBeLessThan(0);
    expect(comparePhases('Teardown', 'DataOut')).toBeGreaterThan(0);
    expect(comparePhases('PreRun', 'PreRun')).toBe(0);
  });

  it('counts a step as done once it, or a later one, is observed completed', () => {
    expect(isPhaseDone(session(), 'Setup')).toBe(true);
    expect(isPhaseDone(session(), 'DataIn')).toBe(false);
    expect(isPhaseDone(session({ observed: observed('PreRun', 'InProgress') }), 'DataIn')).toBe(
      true,
    );
    expect(isPhaseDone(session({ observed: observed('DataIn', 'Error') }), 'DataIn')).toBe(false);
    expect(isPhaseDone(session({ observed: null }), 'Setup')).toBe(false);
  });

  it('starts the next step, recording its start time and keeping what was observed', () => {
    const plan = planPhaseRequest(session(), 'DataIn', 5000);
    expect(plan).toEqual({
      action: 'write',
      next: session({ desired: 'DataIn', timings: { DataIn: { startedAt: 5000 } } }),
    });
  });

  it('waits for a step that is already under way', () => {
    const s = session({ desired: 'DataIn', observed: observed('DataIn', 'InProgress') });
    expect(planPhaseRequest(s, 'DataIn', 0)).toEqual({ action: 'wait' });
  });

  it('does nothing for a step that is done, or one that was passed already', () => {
    const s = session({ desired: 'PreRun', observed: observed('PreRun', 'InProgress') });
    expect(planPhaseRequest(s, 'DataIn', 0)).toEqual({ action: 'done' });
    expect(planPhaseRequest(s, 'Setup', 0)).toEqual({ action: 'done' });
  });

  it('retries a failed step by clearing the error', () => {
    const s = session({ desired: 'DataIn', observed: observed('DataIn', 'Error', 'no such file') });
    const plan = planPhaseRequest(s, 'DataIn', 7000);
    expect(plan.action).toBe('write');
    expect(plan.action === 'write' && plan.next.observed).toBeNull();
    expect(plan.action === 'write' && plan.next.timings.DataIn).toEqual({ startedAt: 7000 });
  });

  it('completes steps at once for a session no daemon serves', () => {
    const s = session({ bricks: [], reconciler: null });
    const plan = planPhaseRequest(s, 'PostRun', 9000);
    expect(plan.action === 'write' && plan.next.observed).toEqual({
      phase: 'PostRun',
      status: 'Completed',
      updatedAt: 9,
    });
  });

  it('applies step data with the request', () => {
    const plan = planPhaseRequest(
      session({ desired: 'DataIn', observed: observed('DataIn', 'Completed') }),
      'PreRun',
      0,
      (s) => ({
        ...s,
        computeHosts: ['node01'],
      }),
    );
    expect(plan.action === 'write' && plan.next.computeHosts).toEqual(['node01']);
  });

  it('lets teardown supersede an unfinished stage-out, keeping hurry', () => {
    const s = session({ desired: 'DataOut', observed: observed('DataOut', 'InProgress') });
    const plan = planPhaseRequest(s, 'Teardown', 0, (x) => ({ ...x, hurry: true }));
    expect(plan.action === 'write' && plan.next).toMatchObject({
      desired: 'Teardown',
      hurry: true,
    });
  });
});
