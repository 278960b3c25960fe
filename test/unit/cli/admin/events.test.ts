import { durationMs, eventCells, shows } from '../../../../src/cli/admin/events';
import { UsageError } from '../../../../src/errors/exit-codes';
import type { EventRecord } from '../../../../src/registry/model';

const event = (fields: Partial<EventRecord>): EventRecord => ({
  schemaVersion: 1,
  at: Date.UTC(2026, 11, 7, 15, 4, 5),
  kind: 'session-state',
  message: 'DataIn Completed',
  ...fields,
});

describe('dacctl events', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
  ])('reads --since %s', (text, ms) => {
    expect(durationMs(text)).toBe(ms);
  });

  it.each(['', '5', 'h', '1.5h', '2w', '-1h'])('refuses --since %j, naming the flag', (text) => {
    expect(() => durationMs(text)).toThrow(UsageError);
    expect(() => durationMs(text)).toThrow(`--since "${text}": give a number and a unit`);
  });

  it('shows a user the events of their own sessions and of hosts only', () => {
    const mine = event({ token: '1', uid: 1000 });
    const theirs = event({ token: '2', uid: 2000 });
    const host = event({ kind: 'host-drained', host: 'dac1', message: 'drained: x' });
    const user = { uid: 1000 };
    expect([mine, theirs, host].filter((e) => shows(user, e))).toEqual([mine, host]);
    expect([mine, theirs, host].filter((e) => shows({}, e))).toEqual([mine, theirs, host]);
  });

  it('filters by session and by host', () => {
    const a = event({ token: '1', host: 'dac1' });
    const b = event({ token: '2', host: 'dac2' });
    expect([a, b].filter((e) => shows({ session: '2' }, e))).toEqual([b]);
    expect([a, b].filter((e) => shows({ hosts: new Set(['dac1']) }, e))).toEqual([a]);
  });

  it('writes a row with the time in UTC', () => {
    expect(eventCells(event({ token: '7', by: 'alice' }))).toEqual([
      '2026-12-07 15:04:05Z',
      'session-state',
      '7',
      '-',
      'alice',
      'DataIn Completed',
    ]);
  });
});
