import { planStep } from '../../../src/lifecycle/step-plan';
import type { Phase, SessionRecord, StageRequest } from '../../../src/registry/model';
import { sessionRecord } from '../../support/session-record';

const setUp = { phase: 'Setup' as const, status: 'Completed' as const, updatedAt: 0 };
const copy: StageRequest = { source: '/data/in', destination: '$DW_JOB_STRIPED/in', type: 'file' };

function session(desired: Phase, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return sessionRecord({ desired, observed: setUp, computeHosts: ['cn1', 'cn2'], ...overrides });
}

describe('planStep', () => {
  it('maps each phase of a set-up session to its provider calls', () => {
    const hosts = ['cn1', 'cn2'];
    const withCopies = { stageIn: [copy], stageOut: [copy] };
    expect(planStep(session('Setup', { observed: null }))).toEqual({
      phase: 'Setup',
      calls: [{ op: 'create' }],
    });
    expect(planStep(session('DataIn', withCopies))).toEqual({
      phase: 'DataIn',
      calls: [{ op: 'stage', phase: 'DataIn' }],
      transfer: 'DataIn',
    });
    expect(planStep(session('PreRun'))).toEqual({
      phase: 'PreRun',
      calls: [{ op: 'mount', hosts }],
    });
    expect(planStep(session('PostRun'))).toEqual({
      phase: 'PostRun',
      calls: [{ op: 'unmount', hosts }],
    });
    expect(planStep(session('DataOut', withCopies))).toEqual({
      phase: 'DataOut',
      calls: [{ op: 'stage', phase: 'DataOut' }],
      transfer: 'DataOut',
    });
    expect(planStep(session('Teardown'))).toEqual({
      phase: 'Teardown',
      calls: [{ op: 'unmount', hosts }, { op: 'delete' }],
    });
  });

  it('creates the filesystem first when a later step comes before Setup was seen done', () => {
    const failedSetup = { ...setUp, status: 'Error' as const };
    expect(planStep(session('PreRun', { observed: null })).calls).toEqual([
      { op: 'create' },
      { op: 'mount', hosts: ['cn1', 'cn2'] },
    ]);
    expect(planStep(session('DataIn', { observed: failedSetup, stageIn: [copy] })).calls).toEqual([
      { op: 'create' },
      { op: 'stage', phase: 'DataIn' },
    ]);
    // Teardown removes whatever exists; it never creates first.
    expect(planStep(session('Teardown', { observed: null })).calls).toEqual([
      { op: 'unmount', hosts: ['cn1', 'cn2'] },
      { op: 'delete' },
    ]);
  });

  it('plans a stage with nothing to copy as no copy, still reporting counts', () => {
    expect(planStep(session('DataIn'))).toEqual({ phase: 'DataIn', calls: [], transfer: 'DataIn' });
    expect(planStep(session('DataOut', { stageIn: [copy] }))).toEqual({
      phase: 'DataOut',
      calls: [],
      transfer: 'DataOut',
    });
  });

  it('skips stage-out once teardown asked for hurry, saying so, and reports no counts', () => {
    expect(planStep(session('DataOut', { hurry: true, stageOut: [copy] }))).toEqual({
      phase: 'DataOut',
      calls: [],
      message: 'stage-out skipped (teardown with --hurry)',
    });
    expect(planStep(session('DataOut', { hurry: true, observed: null })).calls).toEqual([
      { op: 'create' },
    ]);
  });
});
