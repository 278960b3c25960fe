import { hourOf, hoursBetween } from '../../../src/registry/event-log';
import { sessionEvents } from '../../../src/registry/session-events';
import { sessionRecord } from '../../support/session-record';

const AT = Date.UTC(2026, 11, 7, 15, 4, 5);
const GiB = 1024n ** 3n;

describe('sessionEvents', () => {
  const created = sessionRecord({
    granularityBytes: GiB,
    bricks: [
      { host: 'dac1', device: 'nvme0n1' },
      { host: 'dac2', device: 'nvme0n1' },
    ],
    reconciler: 'dac1',
    owner: { uid: 1001, gid: 1001 },
  });

  it('records a new session with its size and hosts', () => {
    expect(sessionEvents(undefined, created, AT)).toEqual([
      {
        schemaVersion: 1,
        at: AT,
        kind: 'session-created',
        token: '4242',
        uid: 1001,
        host: 'dac1',
        message: 'job buffer of 2 GiB (2 bricks) in pool default on dac1, dac2',
      },
    ]);
  });

  it('records a step asked for and each state dacd reports, not progress', () => {
    const asked = { ...created, desired: 'DataIn' as const };
    expect(sessionEvents(created, asked, AT).map((e) => [e.kind, e.message])).toEqual([
      ['session-step', 'DataIn asked for'],
    ]);
    const copying = {
      ...asked,
      transfer: { phase: 'DataIn' as const, bytes: 5n, files: 1, done: false, updatedAt: 1 },
    };
    expect(sessionEvents(asked, copying, AT)).toEqual([]);
    const failed = {
      ...copying,
      observed: {
        phase: 'DataIn' as const,
        status: 'Error' as const,
        message: 'no such file',
        updatedAt: 2,
      },
    };
    expect(sessionEvents(copying, failed, AT).map((e) => [e.kind, e.message])).toEqual([
      ['session-state', 'DataIn Error: no such file'],
    ]);
    expect(sessionEvents(failed, { ...failed, transfer: undefined }, AT)).toEqual([]);
  });

  it('records a teardown with --hurry, and the release', () => {
    const hurry = { ...created, desired: 'Teardown' as const, hurry: true };
    expect(sessionEvents(created, hurry, AT)[0]?.message).toBe('Teardown asked for (hurry)');
    expect(sessionEvents(hurry, undefined, AT)).toEqual([
      expect.objectContaining({ kind: 'session-released', token: '4242', uid: 1001 }),
    ]);
  });
});

describe('event hours', () => {
  it('names the UTC hour', () => {
    expect(hourOf(AT)).toBe('2026120715');
  });
  it('lists every hour of a span, the partial ones at both ends too', () => {
    expect(hoursBetween(AT - 2 * 3600 * 1000, AT)).toEqual([
      '2026120713',
      '2026120714',
      '2026120715',
    ]);
    expect(hoursBetween(AT, AT)).toEqual(['2026120715']);
  });
});
