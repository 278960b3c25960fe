/**
 * dwstat through the built binary against the real test etcd: two live storage hosts (one of
 * them drained) and one without a liveness lease, and sessions in different states.
 */
import type { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import type { SessionRecord } from '../../../src/registry/model';
import { KeyLayout } from '../../../src/registry/keys';
import { Registry } from '../../../src/registry/registry';
import { runBinary, type CliRun } from '../../support/cli';
import { freePort } from '../../support/etcd-server';
import { testEtcdStore } from '../../support/test-etcd';

const GiB = 1024n ** 3n;
const GRAN = 1600n * GiB;
const T0 = 1700000000; // 2023-11-14T22:13:20Z
const USAGE = 'usage: dwstat [pools|sessions|instances|configurations|nodes|most|all] [--json]';

/** The cells of each row of a table, so rows can be compared whatever the column widths. */
function cells(table: string): string[][] {
  return table.split('\n').map((line) => line.trim().split(/ {2,}/));
}

describe('dwstat', () => {
  let store: EtcdKeystore;
  let prefix: string;
  let clock = T0 * 1000;
  const sessions: Record<string, SessionRecord> = {};

  const dwstat = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
    runBinary('dwstat', args, { prefix, env });

  /** Run dwstat and return its output, after checking it succeeded and wrote nothing else. */
  async function answer(args: string[]): Promise<string> {
    const run = await dwstat(args);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.output.endsWith('\n')).toBe(true);
    return run.output.slice(0, -1);
  }

  beforeAll(async () => {
    const created = testEtcdStore('dwstat');
    store = created.store;
    prefix = created.config.prefix;
    const registry = new Registry(store, new KeyLayout(prefix), { now: () => clock });
    await registry.ensurePool('default', GRAN);
    const bricks = (count: number) =>
      Array.from({ length: count }, (_, i) => ({
        device: `nvme${i}n1`,
        capacityBytes: GRAN,
        pool: 'default',
      }));
    await registry.registerHost({ name: 'storage1', bricks: bricks(6) });
    await registry.registerHost({ name: 'storage2', bricks: bricks(2) });
    await registry.registerHost({ name: 'storage3', bricks: bricks(2) });
    const lease = await store.grantLease(60);
    await registry.markAlive('storage1', lease.id);
    await registry.markAlive('storage2', lease.id);
    await registry.setHostEnabled('storage2', false, 'disk replacement');

    const create = async (
      token: string,
      uid: number,
      granules: bigint,
      change: (session: SessionRecord) => SessionRecord,
      kind: 'job' | 'persistent' = 'job',
    ) => {
      await registry.createSession({
        token,
        kind,
        owner: { uid, gid: uid },
        pool: 'default',
        requestedBytes: granules * GRAN,
        stageIn: [
          { source: '/home/alice/secret.dat', destination: '$DW_JOB_STRIPED/in', type: 'file' },
        ],
      });
      sessions[token] = await registry.updateSession(token, change);
      clock += 60_000;
    };
    const observed = (
      phase: SessionRecord['desired'],
      status: 'InProgress' | 'Completed' | 'Error',
      message?: string,
    ): SessionRecord['observed'] => ({
      phase,
      status,
      updatedAt: T0,
      ...(message ? { message } : {}),
    });
    await create('1001', 1001, 2n, (s) => ({
      ...s,
      desired: 'DataIn',
      observed: observed('DataIn', 'InProgress'),
    }));
    await create('1002', 1002, 0n, (s) => ({
      ...s,
      desired: 'PreRun',
      observed: observed('PreRun', 'Completed'),
      computeHosts: ['nid001', 'nid002'],
    }));
    await create(
      'scratch1',
      1001,
      1n,
      (s) => ({ ...s, observed: observed('Setup', 'Error', 'mkfs failed on /dev/nvme2n1: busy') }),
      'persistent',
    );
    await create('1003', 1003, 1n, (s) => s);
  });

  afterAll(async () => {
    await store.close();
  });

  it('shows the pool table, in bytes and bricks, by default and for pools', async () => {
    const expected = [
      'pool     units  quantity     free     gran  bricks  free_bricks  allocated  unavailable',
      'default  bytes  15.6 TiB  3.1 TiB  1.6 TiB      10            2          4            4',
    ].join('\n');
    expect(await answer([])).toBe(expected);
    expect(await answer(['pools'])).toBe(expected);
  });

  it('shows every session with owner, UTC creation time, state, size and nodes', async () => {
    const id = (token: string) => String(sessions[token]!.id);
    expect(cells(await answer(['sessions']))).toEqual([
      ['sess', 'token', 'owner', 'created', 'state', 'size', 'nodes'],
      [id('1001'), '1001', '1001', '2023-11-14T22:13:20Z', 'DataIn InProgress', '3.1 TiB', '0'],
      [id('1002'), '1002', '1002', '2023-11-14T22:14:20Z', 'PreRun Completed', '0 B', '2'],
      [
        id('scratch1'),
        'scratch1',
        '1001',
        '2023-11-14T22:15:20Z',
        'Setup Error: mkfs failed on <path>: busy',
        '1.6 TiB',
        '0',
      ],
      [id('1003'), '1003', '1003', '2023-11-14T22:16:20Z', 'Setup Pending', '1.6 TiB', '0'],
    ]);
  });

  it('shows one instance per session with bricks, on the only usable host', async () => {
    const id = (token: string) => String(sessions[token]!.id);
    expect(cells(await answer(['instances']))).toEqual([
      ['inst', 'sess', 'token', 'bytes', 'bricks', 'hosts'],
      [id('1001'), id('1001'), '1001', '3.1 TiB', '2', 'storage1'],
      [id('scratch1'), id('scratch1'), 'scratch1', '1.6 TiB', '1', 'storage1'],
      [id('1003'), id('1003'), '1003', '1.6 TiB', '1', 'storage1'],
    ]);
  });

  it('shows an empty configurations table, without needing etcd', async () => {
    const port = await freePort();
    const run = await dwstat(['configurations'], { ETCDCTL_ENDPOINTS: `127.0.0.1:${port}` });
    expect(run).toEqual({
      output: 'conf  state  inst  type  access_type  activs\n',
      stdout: 'conf  state  inst  type  access_type  activs\n',
      stderr: '',
      code: 0,
    });
  });

  it('shows each storage host as up, drained with its reason, or down', async () => {
    expect(await answer(['nodes'])).toBe(
      [
        'host      state                      pool     bricks  allocated     free',
        'storage1  up                         default       6    6.3 TiB  3.1 TiB',
        'storage2  drained: disk replacement  default       2        0 B  3.1 TiB',
        'storage3  down                       default       2        0 B  3.1 TiB',
      ].join('\n'),
    );
  });

  it('shows pools, sessions and instances for most, separated by blank lines', async () => {
    const [pools, sessionsTable, instances] = await Promise.all([
      answer(['pools']),
      answer(['sessions']),
      answer(['instances']),
    ]);
    expect(await answer(['most'])).toBe([pools, sessionsTable, instances].join('\n\n'));
  });

  it('shows every table for all, in order', async () => {
    const tables = await Promise.all(
      ['pools', 'sessions', 'instances', 'configurations', 'nodes'].map((t) => answer([t])),
    );
    expect(await answer(['all'])).toBe(tables.join('\n\n'));
  });

  it('never shows stage paths or paths from messages', async () => {
    for (const args of [['all'], ['all', '--json']]) {
      const output = await answer(args);
      expect(output).not.toContain('/home/alice');
      expect(output).not.toContain('/dev/nvme2n1');
    }
  });

  it('gives the same data as one JSON document with --json', async () => {
    const document = JSON.parse(await answer(['all', '--json']));
    expect(Object.keys(document)).toEqual([
      'pools',
      'sessions',
      'instances',
      'configurations',
      'nodes',
    ]);
    expect(document.pools).toEqual([
      {
        id: 'default',
        units: 'bytes',
        granularity: 1717986918400,
        quantityBytes: '17179869184000',
        freeBytes: '3435973836800',
        bricks: 10,
        freeBricks: 2,
        allocatedBricks: 4,
        unavailableBricks: 4,
      },
    ]);
    expect(document.sessions).toEqual([
      {
        id: sessions['1001']!.id,
        token: '1001',
        kind: 'job',
        owner: 1001,
        created: T0,
        state: 'DataIn InProgress',
        bytes: 3435973836800,
        bricks: 2,
        nodes: 0,
      },
      {
        id: sessions['1002']!.id,
        token: '1002',
        kind: 'job',
        owner: 1002,
        created: T0 + 60,
        state: 'PreRun Completed',
        bytes: 0,
        bricks: 0,
        nodes: 2,
      },
      {
        id: sessions.scratch1!.id,
        token: 'scratch1',
        kind: 'persistent',
        owner: 1001,
        created: T0 + 120,
        state: 'Setup Error: mkfs failed on <path>: busy',
        bytes: 1717986918400,
        bricks: 1,
        nodes: 0,
      },
      {
        id: sessions['1003']!.id,
        token: '1003',
        kind: 'job',
        owner: 1003,
        created: T0 + 180,
        state: 'Setup Pending',
        bytes: 1717986918400,
        bricks: 1,
        nodes: 0,
      },
    ]);
    expect(document.instances[0]).toEqual({
      id: sessions['1001']!.id,
      session: sessions['1001']!.id,
      token: '1001',
      bytes: 3435973836800,
      bricks: sessions['1001']!.bricks,
      hosts: ['storage1'],
    });
    expect(document.instances.map((i: { token: string }) => i.token)).toEqual([
      '1001',
      'scratch1',
      '1003',
    ]);
    expect(document.configurations).toEqual([]);
    expect(document.nodes).toEqual([
      {
        host: 'storage1',
        state: 'up',
        alive: true,
        drained: false,
        pools: ['default'],
        bricks: 6,
        allocatedBricks: 4,
        freeBricks: 2,
        allocatedBytes: 6871947673600,
        freeBytes: 3435973836800,
      },
      {
        host: 'storage2',
        state: 'drained: disk replacement',
        alive: true,
        drained: true,
        drainReason: 'disk replacement',
        pools: ['default'],
        bricks: 2,
        allocatedBricks: 0,
        freeBricks: 2,
        allocatedBytes: 0,
        freeBytes: 3435973836800,
      },
      {
        host: 'storage3',
        state: 'down',
        alive: false,
        drained: false,
        pools: ['default'],
        bricks: 2,
        allocatedBricks: 0,
        freeBricks: 2,
        allocatedBytes: 0,
        freeBytes: 3435973836800,
      },
    ]);
  });

  it('gives only the asked-for table in JSON', async () => {
    const document = JSON.parse(await answer(['--json', 'pools']));
    expect(Object.keys(document)).toEqual(['pools']);
  });

  it.each([
    [['foo'], `dwstat: unknown subcommand "foo"; ${USAGE}\n`],
    [['--verbose'], `dwstat: unknown option "--verbose"; ${USAGE}\n`],
    [['pools', 'nodes'], `dwstat: unexpected argument "nodes"; ${USAGE}\n`],
  ])('answers %j with one usage line and exit 2', async (args, output) => {
    expect(await dwstat(args)).toEqual({ output, stdout: output, stderr: '', code: 2 });
  });

  it('shows the others and names the key of a record that cannot be read', async () => {
    const key = `${prefix}sessions/1999`;
    await store.put(key, '{garbage');
    try {
      const text = await answer(['sessions']);
      const [table, problems] = text.split('\n\n');
      expect(cells(table!).map((row) => row[1])).toEqual([
        'token',
        '1001',
        '1002',
        'scratch1',
        '1003',
      ]);
      expect(problems).toBe(`left out: etcd record ${key} is invalid: not valid JSON`);
      const json = JSON.parse(await answer(['--json', 'sessions'])) as { damaged?: string[] };
      expect(json.damaged).toEqual([`etcd record ${key} is invalid: not valid JSON`]);
    } finally {
      await store.delete(key);
    }
  });

  it('prints the usage line for --help and exits 0', async () => {
    expect(await dwstat(['--help'])).toEqual({
      output: `${USAGE}\n`,
      stdout: `${USAGE}\n`,
      stderr: '',
      code: 0,
    });
  });

  it.each([[[]], [['sessions']], [['all', '--json']]])(
    'prints one line and exits 3 for %j when etcd is unreachable',
    async (args) => {
      const port = await freePort();
      const run = await dwstat(args, { ETCDCTL_ENDPOINTS: `127.0.0.1:${port}` });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(3);
      expect(run.output).toBe(
        `cannot reach etcd at http://127.0.0.1:${port}: connection refused\n`,
      );
    },
  );
});
