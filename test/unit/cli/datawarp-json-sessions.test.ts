import {
  instancesAnswer,
  InvalidAnswerError,
  realSizeAnswer,
  sessionsAnswer,
} from '../../../src/cli/datawarp-json';
import type { SessionSummary } from '../../../src/registry/model';
import { summariseSession, type SummarisedSession } from '../../../src/registry/session-summary';

const GiB = 1024n ** 3n;

function session(overrides: Partial<SummarisedSession> = {}): SessionSummary {
  return summariseSession({
    id: 41,
    token: '1234',
    owner: { uid: 1001, gid: 1002 },
    createdAt: 1700000000,
    bricks: [
      { host: 'storage1', device: 'nvme0n1' },
      { host: 'storage2', device: 'nvme0n1' },
    ],
    granularityBytes: GiB,
    computeHosts: ['node01'],
    ...overrides,
  });
}

describe('DataWarp JSON for sessions', () => {
  it('counts whole bricks of the session granularity as its size', () => {
    expect(session().bytes).toBe(2n * GiB);
    expect(session().nodes).toBe(1);
    expect(session({ bricks: [], granularityBytes: 0n }).bytes).toBe(0n);
  });

  it('lists sessions with integer id, owner and created and a string token', () => {
    const text = sessionsAnswer([
      session(),
      session({ id: 42, token: 'p1', owner: { uid: 7, gid: 7 }, createdAt: 1700000100 }),
    ]);
    expect(text).toBe(
      '{"sessions":[{"id":41,"token":"1234","owner":1001,"created":1700000000},' +
        '{"id":42,"token":"p1","owner":7,"created":1700000100}]}',
    );
  });

  it('writes the JSON that JSON.stringify writes of the same objects', () => {
    const sessions = Array.from({ length: 50 }, (_, i) =>
      session({
        id: i + 1,
        token: i % 3 === 0 ? `persistent_${i}` : String(1000000 + i),
        owner: { uid: i * 7, gid: 0 },
        createdAt: 1700000000 + i,
        bricks: i % 4 === 0 ? [] : [{ host: `storage${i}`, device: 'nvme0n1' }],
        computeHosts: Array.from({ length: i % 5 }, (_, n) => `node${n}`),
      }),
    );
    expect(sessionsAnswer(sessions)).toBe(
      JSON.stringify({
        sessions: sessions.map((s) => ({
          id: s.id,
          token: s.token,
          owner: s.uid,
          created: s.createdAt,
        })),
      }),
    );
    expect(instancesAnswer(sessions)).toBe(
      JSON.stringify({
        instances: sessions
          .filter((s) => s.bytes > 0n)
          .map((s) => ({
            id: s.id,
            capacity: { bytes: Number(s.bytes), nodes: s.nodes },
            links: { session: s.id },
          })),
      }),
    );
  });

  it('escapes a token as JSON, and refuses one with an apostrophe', () => {
    const odd = session({ token: 'a"b\\c' });
    expect(JSON.parse(sessionsAnswer([odd]))).toEqual({
      sessions: [{ id: 41, token: 'a"b\\c', owner: 1001, created: 1700000000 }],
    });
    expect(() => sessionsAnswer([session({ token: "it's" })])).toThrow(InvalidAnswerError);
  });

  it('refuses an id or owner that is not a non-negative safe integer', () => {
    expect(() => sessionsAnswer([{ ...session(), id: 1.5 }])).toThrow(
      'id of session 1234 (1.5) cannot be given to Slurm as an integer',
    );
    expect(() => sessionsAnswer([{ ...session(), uid: -1 }])).toThrow(InvalidAnswerError);
  });

  it('gives an empty sessions array when there are none', () => {
    expect(sessionsAnswer([])).toBe('{"sessions":[]}');
  });

  it('gives an empty instances array when no session holds bricks', () => {
    expect(instancesAnswer([])).toBe('{"instances":[]}');
    expect(instancesAnswer([session({ bricks: [], granularityBytes: 0n })])).toBe(
      '{"instances":[]}',
    );
  });

  it('lists instances only for sessions that hold bricks, linked by integer id', () => {
    const text = instancesAnswer([
      session(),
      session({ id: 43, token: '99', bricks: [], granularityBytes: 0n, computeHosts: [] }),
    ]);
    expect(text).toBe(
      '{"instances":[{"id":41,"capacity":{"bytes":2147483648,"nodes":1},"links":{"session":41}}]}',
    );
  });

  it('prints byte counts beyond 2^32 as plain integers', () => {
    const big = session({ granularityBytes: 1600n * GiB });
    expect(instancesAnswer([big])).toContain('"bytes":3435973836800,');
    expect(realSizeAnswer(big)).toBe('{"token":"1234","capacity":3435973836800,"units":"bytes"}');
  });

  it('refuses a size a double cannot hold exactly rather than print it rounded', () => {
    const huge = session({ granularityBytes: 2n ** 60n });
    expect(() => realSizeAnswer(huge)).toThrow(InvalidAnswerError);
    expect(() => instancesAnswer([huge])).toThrow(InvalidAnswerError);
  });

  it('reports real_size in bytes, 0 for a zero-size session', () => {
    expect(realSizeAnswer(session())).toBe(
      '{"token":"1234","capacity":2147483648,"units":"bytes"}',
    );
    expect(realSizeAnswer(session({ bricks: [], granularityBytes: 0n }))).toBe(
      '{"token":"1234","capacity":0,"units":"bytes"}',
    );
  });
});
