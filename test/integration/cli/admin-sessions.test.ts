/**
 * `dacctl sessions list|show|teardown` through the built dacctl against the test etcd and two
 * real dacd: what root and another user (`nobody`) may see, the forced teardown of a session
 * while its host's dacd is stopped (its bricks stay allocated, marked, until that dacd starts
 * again and wipes them) and while it runs, as Slurm's `pools` and the operators' views see it,
 * and the errors.
 */
import { runAdmin } from '../../../src/cli/admin/admin';
import { exitCodeFor, userMessage } from '../../../src/errors/exit-codes';
import { runBinary, type CliRun } from '../../support/cli';
import { DacdCluster, NOBODY, setupArgs } from '../../support/dacd-cluster';
import { asNobodyIn } from '../../support/nobody-context';
import { registryViolations } from '../../support/registry-invariants';

const OTHER = { uid: 1234, gid: 1234 };
/** A pattern that matches `text` and nothing else. */
const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
const absent = (token: string) =>
  `session ${token} does not exist (dacctl sessions list shows the sessions)\n`;

// The documents are checked field by field below.
/* eslint-disable @typescript-eslint/no-explicit-any */

describe('dacctl sessions', () => {
  let cluster: DacdCluster;

  const dacctl = (args: string[]): Promise<CliRun> =>
    runBinary('dacctl', args, {
      prefix: cluster.prefix,
      env: { DAC_MOUNT_ROOT: cluster.mountRoot },
    });

  /**
   * dacctl as `nobody`, who owns the jobs of setupArgs: the same command on the same etcd, in
   * this process with the caller's uid set to nobody's (a fresh clone's bin/ need not be
   * reachable by nobody), answering as the binary would.
   */
  async function asNobody(args: string[]): Promise<CliRun> {
    let answer: string;
    let code = 0;
    try {
      const result = await asNobodyIn(cluster, (context) => runAdmin(context, args));
      answer = typeof result === 'object' ? (result.answer ?? '') : (result ?? '');
      if (typeof result === 'object') code = result.exitCode;
    } catch (error) {
      answer = userMessage(error);
      code = exitCodeFor(error);
    }
    const stdout = answer === '' ? '' : `${answer}\n`;
    return { code, stdout, stderr: '', output: stdout };
  }

  /** The answer of a command that must succeed. */
  async function ok(args: string[], run: CliRun | Promise<CliRun> = dacctl(args)): Promise<string> {
    const done = await run;
    expect({ args, code: done.code, stderr: done.stderr }).toEqual({ args, code: 0, stderr: '' });
    return done.output.trimEnd();
  }

  const json = async (args: string[]): Promise<any> => JSON.parse(await ok([...args, '--json']));
  const nobodyJson = async (args: string[]): Promise<any> =>
    JSON.parse(await ok(args, asNobody([...args, '--json'])));
  const tokens = (document: any) => document.sessions.map((s: { token: string }) => s.token);

  /** Slurm's own views. */
  async function slurm(fn: 'pools' | 'show_sessions'): Promise<any> {
    const run = await cluster.cli(['--function', fn]);
    expect(run.code).toBe(0);
    return JSON.parse(run.output);
  }
  const slurmFree = async () => (await slurm('pools')).pools[0].free as number;

  const cells = (table: string) => table.split('\n').map((line) => line.trim().split(/ {2,}/));

  /** Until `check` passes, or 20 s are up. */
  async function eventually(check: () => Promise<void>): Promise<void> {
    const end = Date.now() + 20000;
    for (;;) {
      try {
        return await check();
      } catch (error) {
        if (Date.now() > end) throw new Error(`${String(error)}\n${cluster.logs()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  beforeAll(async () => {
    cluster = await DacdCluster.start('admin-sessions', ['dac1', 'dac2']);
    const job = (token: string) =>
      cluster.file(`job${token}.sh`, '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    for (const [token, capacity, owner] of [
      ['5001', 'default:1GiB', NOBODY],
      ['5002', 'default:1GiB', OTHER],
      ['5003', 'default:2GiB', NOBODY],
    ] as const) {
      const args = setupArgs(token, job(token), capacity);
      args.splice(args.indexOf('--user') + 1, 1, String(owner.uid));
      args.splice(args.indexOf('--groupid') + 1, 1, String(owner.gid));
      const run = await cluster.cli(args);
      expect({ token, code: run.code, output: run.output }).toEqual({ token, code: 0, output: '' });
    }
  }, 90000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('lists every session for root, with owner, bricks and state', async () => {
    const rows = cells(await ok(['sessions', 'list']));
    expect(rows[0]).toEqual([
      'TOKEN',
      'ID',
      'KIND',
      'OWNER',
      'POOL',
      'SIZE',
      'BRICKS',
      'HOSTS',
      'STATE',
      'CREATED',
    ]);
    expect(rows.slice(1).map((r) => [r[0], r[2], r[3], r[5], r[6], r[8]])).toEqual([
      ['5001', 'job', 'nobody (65534)', '1 GiB', '1', 'Setup Completed'],
      ['5002', 'job', 'uid 1234', '1 GiB', '1', 'Setup Completed'],
      ['5003', 'job', 'nobody (65534)', '2 GiB', '2', 'Setup Completed'],
    ]);
    const listed = await json(['sessions', 'list']);
    expect(listed.damaged).toEqual([]);
    expect(listed.sessions[1]).toEqual({
      token: '5002',
      id: expect.any(Number),
      kind: 'job',
      owner: { uid: 1234, gid: 1234, name: null },
      pool: 'default',
      bytes: 1024 ** 3,
      bricks: 1,
      hosts: [expect.stringMatching(/^dac[12]$/)],
      state: 'Setup Completed',
      desired: 'Setup',
      status: 'Completed',
      createdAt: expect.any(Number),
    });
    expect(tokens(await json(['sessions', 'list', '--user', '1234']))).toEqual(['5002']);
    expect(tokens(await json(['sessions', 'list', '--user', 'nobody']))).toEqual(['5001', '5003']);
    expect(tokens(await json(['sessions', 'list', '--state', 'setup']))).toHaveLength(3);
    expect(tokens(await json(['sessions', 'list', '--state', 'Error']))).toEqual([]);
  });

  it('shows another user only their own sessions, and others as if they did not exist', async () => {
    expect(tokens(await nobodyJson(['sessions', 'list']))).toEqual(['5001', '5003']);
    const text = await ok(['sessions', 'list'], asNobody(['sessions', 'list']));
    expect(text).not.toContain('5002');
    expect((await nobodyJson(['sessions', 'show', '5001'])).session.token).toBe('5001');
    for (const token of ['5002', '9999']) {
      expect(await asNobody(['sessions', 'show', token])).toMatchObject({
        code: 1,
        stderr: '',
        output: absent(token),
      });
    }
    expect((await json(['sessions', 'show', '5002'])).session.owner.uid).toBe(1234);
  });

  it('shows one session: bricks, paths and each phase', async () => {
    const { session } = await json(['sessions', 'show', '5001']);
    expect(session).toMatchObject({
      token: '5001',
      owner: { uid: NOBODY.uid, gid: NOBODY.gid, name: 'nobody' },
      bricksByHost: [{ host: expect.stringMatching(/^dac[12]$/), devices: [expect.any(String)] }],
      paths: [{ name: 'DW_JOB_STRIPED', path: `${cluster.mountRoot}/job/5001/striped/` }],
      observed: { phase: 'Setup', status: 'Completed' },
      phases: [
        {
          phase: 'Setup',
          startedAt: expect.any(Number),
          finishedAt: expect.any(Number),
          durationMs: expect.any(Number),
        },
      ],
      transfer: null,
      lastError: null,
    });
    expect(Math.abs(session.phases[0].startedAt - Date.now())).toBeLessThan(120000);
    const text = await ok(['sessions', 'show', '5001']);
    expect(text).toContain('owner:     nobody (65534), gid 65534');
    // Its history, as `events --session` has it.
    const shown = await json(['sessions', 'show', '5001']);
    expect(shown.events).toEqual((await json(['events', '--session', '5001'])).events);
    expect(shown.events.map((e: { kind: string }) => e.kind)).toEqual(
      expect.arrayContaining(['session-created', 'session-state']),
    );
    expect(shown).toMatchObject({ earlierEvents: 0, damaged: [] });
    expect(text).toMatch(/\n\nevents \(\d+\):\nTIME +KIND +SESSION +HOST +BY +WHAT\n/);
    expect((await nobodyJson(['sessions', 'show', '5001'])).events).toEqual(shown.events);
    expect(text).toContain(`DW_JOB_STRIPED  ${cluster.mountRoot}/job/5001/striped/`);
  });

  it('refuses a teardown by anybody but root, even of their own session', async () => {
    const run = await asNobody(['sessions', 'teardown', '5001', '--force', '-r', 'x']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 1, stderr: '' });
    expect(run.output).toMatch(
      /^dacctl sessions teardown: only root may tear a session down by force [^\n]*\n$/,
    );
  });

  it.each<[string[], number, RegExp]>([
    [
      ['sessions', 'teardown', '5001', '--force'],
      2,
      /^dacctl sessions teardown: Missing required argument: reason \(see dacctl sessions teardown --help\)\n$/,
    ],
    [
      ['sessions', 'teardown', '5001', '-r', 'x'],
      2,
      /^dacctl sessions teardown: --force is required/,
    ],
    [['sessions', 'teardown', '9999', '--force', '-r', 'x'], 1, exactly(absent('9999'))],
    [['sessions', 'show', '9999'], 1, exactly(absent('9999'))],
    [['sessions', 'show', 'a/b'], 2, /^session token "a\/b" must be a job id or a buffer name\n$/],
    [['sessions', 'list', '--state', 'Done'], 2, /^--state "Done" must be a phase \(Setup, /],
    [['sessions', 'list', '--user', 'nosuchuser'], 2, /^--user "nosuchuser" is neither a uid/],
    [
      ['sessions'],
      2,
      /^dacctl sessions: name an action: list, show, teardown \(see dacctl sessions --help\)\n$/,
    ],
  ])('refuses %j in one line (exit %d)', async (args, code, message) => {
    const run = await dacctl(args);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code, stderr: '' });
    expect(run.output).toMatch(message);
  });

  it('tears down by force while the host is dead; its dacd wipes the bricks when it starts', async () => {
    const { session } = await json(['sessions', 'show', '5003']);
    const primary: string = session.reconciler;
    const layout: { host: string; devices: string[] }[] = session.bricksByHost;
    const onPrimary = layout.find((h) => h.host === primary)!.devices;
    const volume = `bricks/${primary}/${onPrimary[0]}/5003`;
    expect(cluster.leftovers()).toContain(volume);
    await cluster.dacd(primary).stop();
    cluster.daemons.delete(primary);

    const bricks = (n: number) => `${n} brick${n === 1 ? '' : 's'}`;
    const where = layout.map((h) => `${bricks(h.devices.length)} on ${h.host}`).join(' and ');
    expect(await ok(['sessions', 'teardown', '5003', '--force', '-r', `${primary} is dead`])).toBe(
      `tore down session 5003 by force: ${where} wait for ${layout.length === 1 ? '' : 'their '}` +
        `dacd to wipe them (dacd on ${primary} is not running: it wipes when it starts)`,
    );
    // Gone for everybody, Slurm included.
    expect(tokens(await json(['sessions', 'list']))).toEqual(['5001', '5002']);
    const history = (await json(['events', '--session', '5003'])).events;
    expect(history[history.length - 1]).toMatchObject({
      kind: 'session-forced-teardown',
      token: '5003',
      uid: NOBODY.uid,
      by: 'root',
      message: `torn down by force: ${primary} is dead`,
    });
    expect(tokens(await slurm('show_sessions'))).toEqual(['5001', '5002']);
    expect((await asNobody(['sessions', 'show', '5003'])).output).toBe(absent('5003'));

    // A brick on a host whose dacd runs is wiped at once; the dead host's wait.
    await eventually(async () => {
      const listed = (await json(['bricks', 'list'])).bricks;
      const wiping = listed.filter((b: { state: string }) => b.state === 'wiping');
      expect(wiping.map((b: { host: string; device: string }) => `${b.host}/${b.device}`)).toEqual(
        onPrimary.map((device) => `${primary}/${device}`),
      );
      expect(wiping[0]).toMatchObject({
        session: { token: '5003', index: 0 },
        wipe: { by: 'root', reason: `${primary} is dead`, at: expect.any(Number) },
      });
      expect(Math.abs(wiping[0].wipe.at - Date.now() / 1000)).toBeLessThan(120);
    });
    // Still allocated, never free.
    const pools = (await json(['pools', 'list'])).pools[0];
    expect(pools).toMatchObject({ bricks: 4, allocated: 2 + onPrimary.length });
    // Slurm: the dead host offers nothing; the live one what 5003 held there, now wiped.
    expect(await slurmFree()).toBe(2 - onPrimary.length);
    const text = await ok(['bricks', 'list']);
    expect(text).toContain(
      `wiping ${primary} ${onPrimary.join(', ')} (session 5003): torn down by root at `,
    );
    const host = await ok(['hosts', 'show', primary]);
    expect(host).toContain(
      `wiping:    ${bricks(onPrimary.length)} of sessions torn down by force; dacd frees them ` +
        'once wiped (when it starts)',
    );
    expect(host).not.toMatch(/sessions: .*5003/);
    expect(cluster.leftovers()).toContain(volume);
    // A drain that waits for the host to empty says its bricks are being wiped, not held.
    const wipingText = onPrimary
      .map((device) => `${primary}/${device}: wiping (torn down by force: ${primary} is dead)`)
      .join(', ');
    const holders: string[] = (await json(['bricks', 'list', '--host', primary])).bricks
      .filter((b: { state: string }) => b.state === 'allocated')
      .map((b: { session: { token: string } }) => b.session.token);
    const sessionsText = [...new Set(holders)].map((t) => `${primary} (session ${t})`).join(', ');
    const drain = ['hosts', 'drain', primary, '-r', 'dead', '--wait', '--timeout', '1'];
    expect(await dacctl(drain)).toMatchObject({
      code: 3,
      stderr: '',
      output:
        `drained ${primary}: dead; after 1 s ` +
        (holders.length > 0 ? `sessions still hold bricks on ${sessionsText}; ` : '') +
        `not wiped yet: ${wipingText}\n`,
    });
    const waited = await dacctl([...drain, '--json']);
    expect({ code: waited.code, stderr: waited.stderr }).toEqual({ code: 3, stderr: '' });
    const document = JSON.parse(waited.output);
    expect(document.held.filter((b: { state: string }) => b.state !== 'wiping')).toEqual(
      holders.map((token) =>
        expect.objectContaining({
          host: primary,
          state: 'allocated',
          session: { token, index: 0 },
        }),
      ),
    );
    document.held = document.held.filter((b: { state: string }) => b.state === 'wiping');
    expect(document).toEqual({
      drained: [primary],
      reason: 'dead',
      held: onPrimary.map((device, index) => ({
        host: primary,
        device,
        pool: 'default',
        capacityBytes: 1024 ** 3,
        state: 'wiping',
        session: { token: '5003', index },
        wipe: { by: 'root', reason: `${primary} is dead`, at: expect.any(Number) },
      })),
    });
    expect(await ok(['hosts', 'undrain', primary])).toBe(`undrained ${primary}`);

    await cluster.startDacd(primary);
    await eventually(async () => {
      const listed = (await json(['bricks', 'list'])).bricks;
      expect(listed.filter((b: { state: string }) => b.state === 'wiping')).toEqual([]);
      // Both sessions left hold one brick each; Slurm sees the other two free.
      expect(await slurmFree()).toBe(2);
    });
    expect(cluster.leftovers().filter((entry) => entry.endsWith('/5003'))).toEqual([]);
    expect(cluster.dacd(primary).log()).toContain('bricks wiped and freed');
    expect(await registryViolations(cluster.store, cluster.registry.keys)).toEqual([]);
  }, 90000);

  it('tears down by force while dacd runs: it wipes the volume and frees the brick', async () => {
    const { session } = await json(['sessions', 'show', '5001']);
    const host: string = session.reconciler;
    expect(cluster.leftovers()).toEqual(expect.arrayContaining([expect.stringMatching(/\/5001$/)]));
    expect(await ok(['sessions', 'teardown', '5001', '--force', '-r', 'stage-in hangs'])).toBe(
      `tore down session 5001 by force: 1 brick on ${host} waits for dacd to wipe it`,
    );
    await eventually(async () => {
      expect(await slurmFree()).toBe(3);
      expect(cluster.leftovers().filter((entry) => entry.endsWith('/5001'))).toEqual([]);
    });
    // Slurm's own teardown of it afterwards finds nothing, and succeeds.
    const slurmTeardown = await cluster.cli([
      '--function',
      'teardown',
      '--token',
      '5001',
      '--job',
      '/x',
    ]);
    expect(slurmTeardown.code).toBe(0);
    const other = await cluster.cli(['--function', 'teardown', '--token', '5002', '--job', '/x']);
    expect(other.code).toBe(0);
    expect(await slurmFree()).toBe(4);
    expect(cluster.leftovers()).toEqual([]);
    expect(await registryViolations(cluster.store, cluster.registry.keys)).toEqual([]);
  }, 60000);

  it('tears down by force a session whose record cannot be read, by its allocation records', async () => {
    const job = cluster.file('job5004.sh', '#!/bin/bash\n#DW jobdw capacity=2GiB\n');
    expect((await cluster.cli(setupArgs('5004', job, 'default:2GiB'))).code).toBe(0);
    const held = (await json(['bricks', 'list'])).bricks.filter(
      (b: { session?: { token: string } }) => b.session?.token === '5004',
    );
    expect(held).toHaveLength(2);
    const key = cluster.registry.keys.session('5004');
    await cluster.store.put(key, '{"schemaVersion":1,"token":"5004", garbage');
    const listed = await json(['sessions', 'list']);
    expect(listed.sessions).toEqual([]);
    expect(listed.damaged).toEqual([expect.stringContaining(key)]);

    const hosts = [...new Set(held.map((b: { host: string }) => b.host))] as string[];
    const where = hosts
      .map((host) => {
        const n = held.filter((b: { host: string }) => b.host === host).length;
        return `${n} brick${n === 1 ? '' : 's'} on ${host}`;
      })
      .join(' and ');
    expect(await ok(['sessions', 'teardown', '5004', '--force', '-r', 'record damaged'])).toBe(
      'tore down session 5004 by force (its record could not be read; its bricks are those ' +
        `whose allocation records name it): ${where} wait for ` +
        `${hosts.length === 1 ? '' : 'their '}dacd to wipe them`,
    );
    expect(await cluster.store.get(key)).toBeUndefined();
    expect(tokens(await slurm('show_sessions'))).toEqual([]);
    expect((await json(['sessions', 'list'])).damaged).toEqual([]);
    const history = (await json(['events', '--session', '5004'])).events;
    expect(history[history.length - 1]).toEqual({
      schemaVersion: 1,
      at: expect.any(Number),
      kind: 'session-forced-teardown',
      token: '5004',
      by: 'root',
      message: 'torn down by force: record damaged (its record could not be read)',
    });
    // Their dacd wipes the volumes and frees the bricks, as for any forced teardown.
    await eventually(async () => {
      expect(await slurmFree()).toBe(4);
      expect(cluster.leftovers()).toEqual([]);
    });
    expect(await registryViolations(cluster.store, cluster.registry.keys)).toEqual([]);
    expect((await dacctl(['sessions', 'teardown', '5004', '--force', '-r', 'x'])).output).toBe(
      absent('5004'),
    );
  }, 60000);
});
