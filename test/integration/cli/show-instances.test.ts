/**
 * `show_instances` through the built binary, parsed as Slurm parses it (contract §3.1, §3.4):
 * one instance per session holding bricks, with integer `id`, `capacity.bytes` and
 * `links.session` equal to the session's `id` in `show_sessions`.
 */
import type { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import { Registry } from '../../../src/registry/registry';
import { runBinary, type CliRun } from '../../support/cli';
import { freePort } from '../../support/etcd-server';
import { addHosts, openRegistry } from '../../support/registry-fixture';

const GiB = 1024n ** 3n;
/** Large bricks, so that sizes go past 2^32 and must still print as plain integers. */
const GRAN = 1600n * GiB;

interface Instance {
  id: unknown;
  capacity: { bytes: unknown; nodes: unknown };
  links: { session: unknown };
}

/** Parse as Slurm does: apostrophes become quotes first, then one object with one array. */
function slurmArray(run: CliRun, key: string): unknown[] {
  expect(run.output).not.toContain("'");
  const parsed = JSON.parse(run.output.replace(/'/g, '"')) as Record<string, unknown>;
  expect(Object.keys(parsed)).toEqual([key]);
  expect(Array.isArray(parsed[key])).toBe(true);
  return parsed[key] as unknown[];
}

describe('dw_wlm_cli show_instances', () => {
  let store: EtcdKeystore;
  let registry: Registry;
  let prefix: string;

  const cli = (fn: string, env: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
    runBinary('dw_wlm_cli', ['--function', fn], { prefix, env });

  beforeEach(async () => {
    const fixture = openRegistry('show-instances');
    ({ store, registry, prefix } = fixture);
    await addHosts(fixture, {
      pool: 'wlm_pool',
      granularity: GRAN,
      hosts: ['storage1', 'storage2'],
      bricksPerHost: 3,
    });
  });

  afterEach(async () => {
    await store.close();
  });

  it('gives each session with bricks one instance of its allocated bytes and nodes', async () => {
    const job = await registry.createSession({
      token: '1234',
      kind: 'job',
      owner: { uid: 1001, gid: 1001 },
      pool: 'wlm_pool',
      requestedBytes: 2n * GRAN + 1n, // rounds up to 3 bricks
    });
    await registry.updateSession('1234', (s) => ({ ...s, computeHosts: ['node01', 'node02'] }));
    const persistent = await registry.createSession({
      token: 'p1',
      kind: 'persistent',
      owner: { uid: 1003, gid: 1003 },
      pool: 'wlm_pool',
      requestedBytes: GRAN,
    });
    await registry.createSession({
      token: '1235',
      kind: 'job',
      owner: { uid: 1002, gid: 1002 },
      pool: 'wlm_pool',
      requestedBytes: 0n,
    });

    const run = await cli('show_instances');

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const instances = slurmArray(run, 'instances') as Instance[];
    expect(instances).toEqual([
      {
        id: job.session.id,
        capacity: { bytes: Number(3n * GRAN), nodes: 2 },
        links: { session: job.session.id },
      },
      {
        id: persistent.session.id,
        capacity: { bytes: Number(GRAN), nodes: 0 },
        links: { session: persistent.session.id },
      },
    ]);
    // Exact integers in the text: no exponent, no fraction (json-c reads a float as 0).
    expect(run.stdout).toContain(`"bytes":${3n * GRAN},"nodes":2`);
    for (const instance of instances) {
      expect(Number.isInteger(instance.id)).toBe(true);
      expect(Number.isInteger(instance.capacity.bytes)).toBe(true);
      expect(Number.isInteger(instance.links.session)).toBe(true);
    }
  });

  it('links every instance to a session id that show_sessions reports', async () => {
    await registry.createSession({
      token: '42',
      kind: 'job',
      owner: { uid: 1001, gid: 1001 },
      pool: 'wlm_pool',
      requestedBytes: GRAN,
    });
    const instances = slurmArray(await cli('show_instances'), 'instances') as Instance[];
    const sessions = slurmArray(await cli('show_sessions'), 'sessions') as { id: unknown }[];
    expect(instances).toHaveLength(1);
    expect(sessions.map((s) => s.id)).toEqual(instances.map((i) => i.links.session));
  });

  it('prints an empty array when no session holds bricks', async () => {
    await registry.createSession({
      token: '1235',
      kind: 'job',
      owner: { uid: 1002, gid: 1002 },
      pool: 'wlm_pool',
      requestedBytes: 0n,
    });
    const run = await cli('show_instances');
    expect(run).toEqual({
      output: '{"instances":[]}\n',
      stdout: '{"instances":[]}\n',
      stderr: '',
      code: 0,
    });
  });

  it('fails with one line and no JSON when etcd cannot be reached', async () => {
    const run = await cli('show_instances', {
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
});
