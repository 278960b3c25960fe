/**
 * The operators' commands for pools, hosts and bricks, through the built dacctl against the
 * test etcd and two real dacd: what they show, drain and undrain as Slurm's `pools` sees it,
 * waiting for a drained host to empty, removing a host and a pool, and the errors.
 */
import { EVENTS } from '../../../src/cli/admin/events';
import { runBinary, type CliRun } from '../../support/cli';
import { DacdCluster, setupArgs } from '../../support/dacd-cluster';
import { asNobodyIn } from '../../support/nobody-context';

const GiB = 1024 ** 3;

describe('dacctl pools, hosts, bricks and df', () => {
  let cluster: DacdCluster;

  const dacctl = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
    runBinary('dacctl', args, { prefix: cluster.prefix, env });

  /** The answer of a command that must succeed. */
  async function ok(args: string[]): Promise<string> {
    const run = await dacctl(args);
    expect({ args, code: run.code, stderr: run.stderr }).toEqual({ args, code: 0, stderr: '' });
    return run.output.trimEnd();
  }

  // The documents are checked field by field below.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const json = async (args: string[]) => JSON.parse(await ok([...args, '--json'])) as any;

  /** Slurm's own view: `dw_wlm_cli --function pools`. */
  async function slurmPools(): Promise<{ id: string; quantity: number; free: number }[]> {
    const run = await cluster.cli(['--function', 'pools']);
    expect(run.code).toBe(0);
    return (JSON.parse(run.output) as { pools: { id: string; quantity: number; free: number }[] })
      .pools;
  }

  /** The cells of each row of a table. */
  const cells = (table: string) => table.split('\n').map((line) => line.trim().split(/ {2,}/));

  beforeAll(async () => {
    cluster = await DacdCluster.start('admin-hosts', ['dac1', 'dac2']);
  }, 60000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('lists the hosts, their bricks and state, as a table and as JSON', async () => {
    expect(cells(await ok(['hosts', 'list']))).toEqual([
      ['HOST', 'STATE', 'POOLS', 'BRICKS', 'ALLOCATED', 'FREE', 'TOTAL', 'DRAINED BY', 'SINCE'],
      ['dac1', 'up', 'default', '2', '0', '2', '2 GiB', '-', '-'],
      ['dac2', 'up', 'default', '2', '0', '2', '2 GiB', '-', '-'],
    ]);
    const { hosts, damaged } = await json(['hosts', 'list']);
    expect(damaged).toEqual([]);
    expect(hosts[0]).toEqual({
      host: 'dac1',
      state: 'up',
      alive: true,
      drained: false,
      pools: ['default'],
      bricks: 2,
      allocated: 0,
      free: 2,
      unavailable: 0,
      totalBytes: 2 * GiB,
      allocatedBytes: 0,
      freeBytes: 2 * GiB,
      unavailableBytes: 0,
    });
  });

  it('drains a host for its running session, and waits for it to empty', async () => {
    const job = cluster.file('job4001.sh', '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    expect((await cluster.cli(setupArgs('4001', job, 'default:1GiB'))).code).toBe(0);
    const { bricks } = await json(['bricks', 'list']);
    const held = bricks.filter((b: { state: string }) => b.state === 'allocated');
    expect(held).toHaveLength(1);
    expect(held[0].session).toEqual({ token: '4001', index: 0 });
    const host: string = held[0].host;
    const other = host === 'dac1' ? 'dac2' : 'dac1';

    expect(await ok(['hosts', 'drain', host, '-r', 'NVMe firmware update'])).toBe(
      `drained ${host}: NVMe firmware update`,
    );
    // Slurm sees the drained host's free brick go at once.
    expect(await slurmPools()).toEqual([
      expect.objectContaining({ id: 'default', quantity: 4, free: 2 }),
    ]);
    const shown = await json(['hosts', 'show', host]);
    expect(shown.host).toMatchObject({
      state: 'drained: NVMe firmware update',
      drained: true,
      drain: { reason: 'NVMe firmware update', by: 'root', at: expect.any(Number) },
      allocated: 1,
      unavailable: 1,
    });
    expect(Math.abs(shown.host.drain.at - Date.now() / 1000)).toBeLessThan(60);
    expect(shown.sessions).toEqual(['4001']);
    const text = await ok(['hosts', 'show', host]);
    expect(text).toContain('drained:   by root at ');
    expect(text).toContain('sessions:  4001');
    // The session runs on; a wait that is too short says who is still there.
    const short = await dacctl(['hosts', 'drain', host, '-r', 'x', '--wait', '--timeout', '1']);
    expect(short).toMatchObject({ code: 3, stderr: '' });
    expect(short.output).toContain(`sessions still hold bricks on ${host} (session 4001)`);
    // No new session lands on it.
    const job2 = cluster.file('job4002.sh', '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    expect((await cluster.cli(setupArgs('4002', job2, 'default:1GiB'))).code).toBe(0);
    const after = (await json(['bricks', 'list', '--host', host])).bricks;
    expect(after.filter((b: { state: string }) => b.state === 'allocated')).toHaveLength(1);

    const waiting = dacctl(['hosts', 'drain', host, '-r', 'NVMe firmware update', '--wait']);
    await new Promise((r) => setTimeout(r, 1500));
    expect(
      (await cluster.cli(['--function', 'teardown', '--token', '4001', '--job', job])).code,
    ).toBe(0);
    const waited = await waiting;
    expect(waited).toMatchObject({ code: 0, stderr: '' });
    expect(waited.output).toContain('no session holds a brick there now');

    expect(await ok(['hosts', 'undrain', `dac[1-2]`])).toBe('undrained dac1, dac2');
    expect(await slurmPools()).toEqual([
      expect.objectContaining({ id: 'default', quantity: 4, free: 3 }),
    ]);
    const undrained = await json(['hosts', 'show', host]);
    expect(undrained.host.state).toBe('up');
    expect(undrained.host.drain).toBeUndefined();
    expect(
      (await cluster.cli(['--function', 'teardown', '--token', '4002', '--job', job2])).code,
    ).toBe(0);
    expect(other).not.toBe(host);
  }, 90000);

  it('shows pools and capacity by pool and by host', async () => {
    expect(cells(await ok(['pools', 'list']))).toEqual([
      ['POOL', 'GRANULARITY', 'BRICKS', 'ALLOCATED', 'FREE', 'UNAVAILABLE', 'TOTAL', 'FREE BYTES'],
      ['default', '1 GiB', '4', '0', '4', '0', '4 GiB', '4 GiB'],
    ]);
    const df = await json(['df']);
    expect(df.total).toMatchObject({ bricks: 4, free: 4, totalBytes: 4 * GiB });
    expect(df.hosts.map((h: { host: string; pool: string }) => `${h.host}/${h.pool}`)).toEqual([
      'dac1/default',
      'dac2/default',
    ]);
    const pool = await json(['pools', 'show', 'default']);
    expect(pool.pool).toMatchObject({ name: 'default', granularityBytes: GiB, bricks: 4 });
    expect(pool.hosts).toHaveLength(2);
  });

  it('removes a host only once its dacd is stopped, and a pool only once it is empty', async () => {
    const running = await dacctl(['hosts', 'remove', 'dac2']);
    expect(running).toMatchObject({ code: 1, stderr: '' });
    expect(running.output).toMatch(
      /^host dac2: its dacd is running \(pid \d+ on .+\); stop it first\n$/,
    );
    const pool = await dacctl(['pools', 'remove', 'default']);
    expect(pool.code).toBe(1);
    expect(pool.output).toContain('pool default: hosts dac1, dac2 have bricks in it');

    await cluster.dacd('dac2').stop();
    cluster.daemons.delete('dac2');
    expect(await ok(['hosts', 'remove', 'dac2'])).toBe('removed host dac2');
    expect((await json(['hosts', 'list'])).hosts.map((h: { host: string }) => h.host)).toEqual([
      'dac1',
    ]);
    expect(await slurmPools()).toEqual([
      expect.objectContaining({ id: 'default', quantity: 2, free: 2 }),
    ]);
    const again = await dacctl(['hosts', 'remove', 'dac2']);
    expect(again).toMatchObject({ code: 1, output: 'host dac2 is not registered\n' });
  }, 60000);

  it.each<[string[], number, RegExp]>([
    [['hosts', 'drain', 'dac1', '-r', ' '], 2, /^--reason: give why, in 1 to 500 characters\n$/],
    [['events', '--since', '2w'], 2, /^--since "2w": give a number and a unit/],
    [
      ['hosts', 'drain', 'dac1'],
      2,
      /^dacctl hosts drain: Missing required argument: reason \(see dacctl hosts drain --help\)\n$/,
    ],
    [
      ['hosts', 'drain', 'dac[1-', '-r', 'x'],
      2,
      /^host list "dac\[1-": a bracket is not closed\n$/,
    ],
    [
      ['hosts', 'drain', 'dac9', '-r', 'x'],
      1,
      /^host dac9 is not registered \(dacctl hosts list shows the hosts\)\n$/,
    ],
    [
      ['hosts'],
      2,
      /^dacctl hosts: name an action: list, show, drain, undrain, remove \(see dacctl hosts --help\)\n$/,
    ],
    [['hosts', 'list', '--bogus'], 2, /^dacctl hosts list: Unknown argument: bogus/],
    [['pools', 'show', 'nosuch'], 1, /^pool nosuch does not exist/],
    [['bricks', 'lst'], 2, /^dacctl bricks: Unknown argument: lst/],
  ])('refuses %j in one line (exit %d)', async (args, code, message) => {
    const run = await dacctl(args);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code, stderr: '' });
    expect(run.output).toMatch(message);
  });

  it('keeps the history of sessions and hosts, and shows a user only their own sessions', async () => {
    const kinds = async (args: string[]) =>
      (await json(['events', ...args])).events.map(
        (e: { kind: string; token?: string; message: string }) =>
          `${e.kind} ${e.token ?? '-'}: ${e.message}`,
      );
    const of4001 = await kinds(['--session', '4001']);
    expect(of4001[0]).toMatch(
      /^session-created 4001: job buffer of 1 GiB \(1 bricks\) in pool default on dac\d$/,
    );
    expect(of4001).toEqual(
      expect.arrayContaining([
        'session-step 4001: Teardown asked for',
        'session-released 4001: released',
      ]),
    );
    expect(of4001[of4001.length - 1]).toBe('session-released 4001: released');
    const hostEvents = await json(['events', '--host', 'dac[1-2]']);
    expect(
      hostEvents.events
        .filter((e: { token?: string }) => e.token === undefined)
        .map((e: { kind: string; host: string; by: string }) => `${e.kind} ${e.host} by ${e.by}`),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^host-drained dac\d by root$/),
        'host-undrained dac1 by root',
        'host-removed dac2 by root',
      ]),
    );

    // A session of another user: root sees it, nobody (who owns 4001) does not.
    const job = cluster.file('job4003.sh', '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    const other = setupArgs('4003', job, 'default:1GiB').map((a) => (a === '65534' ? '1234' : a));
    expect((await cluster.cli(other)).code).toBe(0);
    expect(await kinds(['--session', '4003'])).toHaveLength(2);
    // As nobody, in this process (nobody may not be able to reach a clone's bin/): the same
    // command on the same etcd, with the uid it checks set to nobody's.
    const answer = (await asNobodyIn(cluster, (context) =>
      EVENTS.run(context, { json: true, since: '24h', follow: false }),
    )) as string;
    const asNobody = JSON.parse(answer) as { events: { token?: string }[] };
    const tokens = new Set(asNobody.events.map((e) => e.token));
    expect(tokens.has('4001')).toBe(true);
    expect(tokens.has('4003')).toBe(false);
    expect(
      (await cluster.cli(['--function', 'teardown', '--token', '4003', '--job', job])).code,
    ).toBe(0);

    // --follow prints what comes, as it comes.
    const following = runBinary('dacctl', ['events', '--follow', '--since', '1s'], {
      prefix: cluster.prefix,
      killAfterMs: 4000,
    });
    await new Promise((r) => setTimeout(r, 2000));
    expect(await ok(['hosts', 'drain', 'dac1', '-r', 'watch me'])).toBe('drained dac1: watch me');
    const followed = await following;
    expect(followed.output).toMatch(/host-drained {2}- {2}dac1 {2}root {2}drained: watch me\n/);
    await ok(['hosts', 'undrain', 'dac1']);
  }, 60000);

  it('gives help at every level', async () => {
    const top = await ok(['hosts', '--help']);
    expect(top).toContain('dacctl hosts drain <hosts>');
    const drain = await ok(['hosts', 'drain', '--help']);
    expect(drain).toContain('--reason');
    expect(drain).toContain('dacctl hosts drain dac[01-04] -r "firmware update"');
    const all = await ok(['help']);
    expect(all).toContain('hosts drain <hosts>');
    expect(all).toContain('--function');
  });
});
