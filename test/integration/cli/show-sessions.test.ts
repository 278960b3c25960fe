/**
 * `show_sessions` through the built binary, parsed as Slurm parses it (contract §3.1, §3.3):
 * one top-level key holding an array of objects, integers as JSON integers, string tokens.
 */
import type { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import { Registry } from '../../../src/registry/registry';
import { summaryBucketOf } from '../../../src/registry/session-summary';
import { runBinary, type CliRun } from '../../support/cli';
import { freePort } from '../../support/etcd-server';
import { addHosts, openRegistry } from '../../support/registry-fixture';

const GiB = 1024n ** 3n;

/** Parse as Slurm does: apostrophes become quotes first, then one object with one array. */
function slurmSessions(run: CliRun): Record<string, unknown>[] {
  expect(run.output).not.toContain("'");
  const parsed: unknown = JSON.parse(run.output.replace(/'/g, '"'));
  expect(parsed).toEqual(expect.any(Object));
  const keys = Object.keys(parsed as object);
  expect(keys).toEqual(['sessions']);
  const sessions = (parsed as { sessions: unknown }).sessions;
  expect(Array.isArray(sessions)).toBe(true);
  return sessions as Record<string, unknown>[];
}

describe('dw_wlm_cli show_sessions', () => {
  let store: EtcdKeystore;
  let registry: Registry;
  let prefix: string;

  const showSessions = (env: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
    runBinary('dw_wlm_cli', ['--function', 'show_sessions'], { prefix, env });

  beforeEach(async () => {
    const fixture = openRegistry('show-sessions');
    ({ store, registry, prefix } = fixture);
    await addHosts(fixture, {
      pool: 'wlm_pool',
      granularity: GiB,
      hosts: ['storage1'],
      bricksPerHost: 4,
    });
  });

  afterEach(async () => {
    await store.close();
  });

  it('lists job, zero-size and persistent sessions with integer fields and string tokens', async () => {
    const job = await registry.createSession({
      token: '1234',
      kind: 'job',
      owner: { uid: 1001, gid: 1001 },
      pool: 'wlm_pool',
      requestedBytes: 2n * GiB,
    });
    const empty = await registry.createSession({
      token: '1235',
      kind: 'job',
      owner: { uid: 1002, gid: 1002 },
      pool: 'wlm_pool',
      requestedBytes: 0n,
    });
    const persistent = await registry.createSession({
      token: 'p1',
      kind: 'persistent',
      owner: { uid: 1003, gid: 1003 },
      pool: 'wlm_pool',
      requestedBytes: GiB,
    });

    const run = await showSessions();

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const sessions = slurmSessions(run);
    expect(sessions).toEqual(
      [job.session, empty.session, persistent.session].map((s) => ({
        id: s.id,
        token: s.token,
        owner: s.owner.uid,
        created: s.createdAt,
      })),
    );
    for (const session of sessions) {
      expect(Number.isInteger(session.id)).toBe(true);
      expect(Number.isInteger(session.owner)).toBe(true);
      expect(Number.isInteger(session.created)).toBe(true);
      expect(typeof session.token).toBe('string');
    }
    // A float such as 1700000000.0 would be read as 0 by json-c: the text must hold integers.
    expect(run.stdout).toContain(`"id":${job.session.id},"token":"1234"`);
  });

  it('prints an empty array when there are no sessions', async () => {
    const run = await showSessions();
    expect(run).toEqual({
      output: '{"sessions":[]}\n',
      stdout: '{"sessions":[]}\n',
      stderr: '',
      code: 0,
    });
  });

  it('keeps listing a session until it is released', async () => {
    await registry.createSession({
      token: '77',
      kind: 'job',
      owner: { uid: 1001, gid: 1001 },
      pool: 'wlm_pool',
      requestedBytes: GiB,
    });
    expect(slurmSessions(await showSessions()).map((s) => s.token)).toEqual(['77']);
    await registry.releaseSession('77');
    expect(slurmSessions(await showSessions())).toEqual([]);
  });

  it('fails with one line and no JSON when etcd cannot be reached', async () => {
    const run = await showSessions({
      ETCDCTL_ENDPOINTS: `127.0.0.1:${await freePort()}`,
      DAC_ETCD_TIMEOUT_MS: '1000',
    });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toBe('');
    expect(run.output).not.toContain('{');
    expect(run.output).toMatch(
      /^cannot reach etcd at http:\/\/127\.0\.0\.1:\d+: connection refused\n$/,
    );
  });

  it('fails rather than print a partial list when one session summary is unreadable', async () => {
    for (const token of ['1234', '1240']) {
      await registry.createSession({
        token,
        kind: 'job',
        owner: { uid: 1001, gid: 1001 },
        pool: 'wlm_pool',
        requestedBytes: 0n,
      });
    }
    const bucket = `${prefix}summary-buckets/${summaryBucketOf('1240')}`;
    await store.put(bucket, '{"schemaVersion":1,"summaries":[{"id":"oops"}]}');

    const run = await showSessions();

    expect(run.code).toBe(4);
    expect(run.stderr).toBe('');
    expect(run.output).not.toContain('{"sessions"');
    expect(run.output).toBe(
      `etcd record ${bucket} is invalid: summaries.0.id: must be a positive integer; ` +
        'summaries.0.token: must be a string; summaries.0.uid: must be a non-negative integer\n',
    );
  });

  it('fails rather than leave out a session that has no summary (an older version wrote it)', async () => {
    await registry.createSession({
      token: '1234',
      kind: 'job',
      owner: { uid: 1001, gid: 1001 },
      pool: 'wlm_pool',
      requestedBytes: 0n,
    });
    await store.delete(`${prefix}summary-buckets/${summaryBucketOf('1234')}`);

    const run = await showSessions();

    expect(run.code).toBe(4);
    expect(run.output).toBe(
      'etcd holds 1 sessions but 0 session summaries (records of an older version?); ' +
        'restart dacd on any storage host to rewrite the summaries\n',
    );
    await registry.writeMissingSummaries();
    expect(slurmSessions(await showSessions()).map((s) => s.token)).toEqual(['1234']);
  });
});
