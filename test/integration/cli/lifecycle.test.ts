/**
 * The steps Slurm drives (setup, data_in, pre_run, post_run, data_out, teardown,
 * create_persistent, destroy) through the built binary, against the real etcd, with a
 * stand-in for dacd reporting the observed states.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import { Registry } from '../../../src/registry/registry';
import { runBinary, type CliRun } from '../../support/cli';
import { FakeDacd } from '../../support/fake-dacd';
import { addHosts, openRegistry } from '../../support/registry-fixture';

const GiB = 1024n ** 3n;

describe('Slurm steps through dw_wlm_cli', () => {
  let store: EtcdKeystore;
  let registry: Registry;
  let prefix: string;
  let dacd: FakeDacd;
  let dir: string;

  const cli = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
    runBinary('dw_wlm_cli', args, { prefix, env });

  function script(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  const setupArgs = (token: string, capacity: string, job: string) => [
    '--function',
    'setup',
    '--token',
    token,
    '--caller',
    'SLURM',
    '--user',
    '1001',
    '--groupid',
    '1002',
    '--capacity',
    capacity,
    '--job',
    job,
  ];

  beforeEach(async () => {
    const fixture = openRegistry('lifecycle');
    ({ store, registry, prefix } = fixture);
    // The stand-in dacd makes the hosts alive on its own lease.
    await addHosts(fixture, {
      pool: 'wlm_pool',
      granularity: GiB,
      hosts: ['storage1', 'storage2'],
      bricksPerHost: 3,
      dead: ['storage1', 'storage2'],
    });
    dacd = new FakeDacd(store, registry, ['storage1', 'storage2']);
    await dacd.start();
    dir = mkdtempSync(join(tmpdir(), 'dac-lifecycle-'));
  });

  afterEach(async () => {
    await dacd.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a job buffer from setup to teardown and frees its bricks', async () => {
    const job = script(
      'job.sh',
      '#!/bin/bash\n#SBATCH -N 2\n#DW jobdw capacity=2GiB access_mode=striped type=scratch\n' +
        '#DW stage_in source=/home/alice/in.dat destination=$DW_JOB_STRIPED/in.dat type=file\n' +
        '#DW stage_out source=$DW_JOB_STRIPED/out destination=/home/alice/out type=directory\n' +
        'srun app\n\0',
    );
    const nodes = script('client_nids', 'node01\nnode02\n');

    const setup = await cli(setupArgs('1234', 'wlm_pool:2GiB', job));
    expect(setup).toMatchObject({ output: '', code: 0 });
    const session = (await registry.getSession('1234'))!.record;
    expect(session).toMatchObject({
      kind: 'job',
      owner: { uid: 1001, gid: 1002 },
      pool: 'wlm_pool',
      requestedBytes: 2n * GiB,
      accessMode: 'striped',
      stageIn: [
        { source: '/home/alice/in.dat', destination: '$DW_JOB_STRIPED/in.dat', type: 'file' },
      ],
      stageOut: [
        { source: '$DW_JOB_STRIPED/out', destination: '/home/alice/out', type: 'directory' },
      ],
      observed: { phase: 'Setup', status: 'Completed' },
    });
    expect(new Set(session.bricks.map((b) => b.host))).toEqual(new Set(['storage1', 'storage2']));
    expect((await registry.pools())[0]?.free).toBe(4);

    for (const [fn, extra] of [
      ['data_in', ['--job', job]],
      ['pre_run', ['--job', job, '--nodehostnamefile', nodes]],
      ['post_run', ['--job', job]],
      ['data_out', ['--job', job]],
    ] as const) {
      const run = await cli(['--function', fn, '--token', '1234', ...extra]);
      expect({ fn, ...run }).toEqual({ fn, output: '', stdout: '', stderr: '', code: 0 });
    }
    expect((await registry.getSession('1234'))!.record.computeHosts).toEqual(['node01', 'node02']);
    expect(dacd.reports).toEqual([
      '1234:Setup:Completed',
      '1234:DataIn:Completed',
      '1234:PreRun:Completed',
      '1234:PostRun:Completed',
      '1234:DataOut:Completed',
    ]);

    const teardown = await cli(['--function', 'teardown', '--token', '1234', '--job', job]);
    expect(teardown).toMatchObject({ output: '', code: 0 });
    expect(await registry.getSession('1234')).toBeUndefined();
    expect((await registry.pools())[0]?.free).toBe(6);
  });

  it('refuses a repeated setup that asks for another owner or size, changing nothing', async () => {
    const job = script('job.sh', '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    expect((await cli(setupArgs('78', 'wlm_pool:1GiB', job))).code).toBe(0);
    const first = await registry.getSession('78');
    const bigger = await cli(setupArgs('78', 'wlm_pool:2GiB', job));
    expect(bigger).toMatchObject({
      output:
        'session 78 exists already (uid 1001 gid 1002, 1 GiB in pool wlm_pool); this setup ' +
        'asks for uid 1001 gid 1002, 2 GiB in pool wlm_pool: tear the session down first\n',
      code: 1,
    });
    const otherUser = setupArgs('78', 'wlm_pool:1GiB', job);
    otherUser[otherUser.indexOf('1001')] = '1003';
    expect(await cli(otherUser)).toMatchObject({
      output:
        'session 78 exists already (uid 1001 gid 1002, 1 GiB in pool wlm_pool); this setup ' +
        'asks for uid 1003 gid 1002, 1 GiB in pool wlm_pool: tear the session down first\n',
      code: 1,
    });
    expect(await registry.getSession('78')).toEqual(first);
    expect(await cli(['--function', 'teardown', '--token', '78', '--job', job])).toMatchObject({
      code: 0,
    });
  });

  it('repeats a step without allocating twice or failing', async () => {
    const job = script('job.sh', '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    expect((await cli(setupArgs('77', 'wlm_pool:1GiB', job))).code).toBe(0);
    const first = (await registry.getSession('77'))!.record;
    expect((await cli(setupArgs('77', 'wlm_pool:1GiB', job))).code).toBe(0);
    expect((await registry.getSession('77'))!.record.id).toBe(first.id);
    expect((await registry.pools())[0]?.free).toBe(5);
    for (let i = 0; i < 2; i += 1) {
      expect(await cli(['--function', 'data_in', '--token', '77', '--job', job])).toMatchObject({
        output: '',
        code: 0,
      });
    }
    expect(dacd.reports.filter((r) => r === '77:DataIn:Completed')).toHaveLength(1);
  });

  it('answers an unknown token as Slurm expects', async () => {
    const dummy = script('burst_buffer_script', '#!/bin/bash\nexit 0\n\0');
    for (const fn of ['teardown', 'data_in', 'data_out']) {
      const run = await cli(['--function', fn, '--token', '999', '--job', dummy]);
      expect({ fn, ...run }).toMatchObject({
        fn,
        output: 'No matching session for token 999 (token not found)\n',
        code: 0,
      });
    }
    const hurry = await cli([
      '--function',
      'teardown',
      '--token',
      '999',
      '--job',
      dummy,
      '--hurry',
    ]);
    expect(hurry.code).toBe(0);
    const preRun = await cli(['--function', 'pre_run', '--token', '999', '--job', dummy]);
    expect(preRun).toMatchObject({
      output: 'No matching session for token 999 (token not found)\n',
      code: 1,
    });
  });

  it('reports the host manager error in one line', async () => {
    const job = script('job.sh', '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    expect((await cli(setupArgs('55', 'wlm_pool:1GiB', job))).code).toBe(0);
    dacd.behaviour.set('55', {
      fail: { phase: 'DataIn', message: 'source /home/alice/in.dat does not exist' },
    });
    const run = await cli(['--function', 'data_in', '--token', '55', '--job', job]);
    const host = (await registry.getSession('55'))!.record.reconciler;
    expect(run).toEqual({
      output: `stage-in failed on ${host}: source /home/alice/in.dat does not exist\n`,
      stdout: `stage-in failed on ${host}: source /home/alice/in.dat does not exist\n`,
      stderr: '',
      code: 1,
    });
    // Slurm retries after the user fixed the problem: the step runs again.
    dacd.behaviour.delete('55');
    expect((await cli(['--function', 'data_in', '--token', '55', '--job', job])).code).toBe(0);
  });

  it('gives up before Slurm does when the host manager never answers', async () => {
    const job = script('job.sh', '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    expect((await cli(setupArgs('56', 'wlm_pool:1GiB', job))).code).toBe(0);
    dacd.behaviour.set('56', { stall: 'DataIn' });
    const run = await cli(['--function', 'data_in', '--token', '56', '--job', job], {
      DAC_STAGE_IN_TIMEOUT: '3',
    });
    const host = (await registry.getSession('56'))!.record.reconciler;
    expect(run).toMatchObject({
      output: `stage-in did not finish within 1 s (storage host ${host} is still working on it)\n`,
      code: 3,
    });
  });

  it('names the storage host when it is down', async () => {
    const job = script('job.sh', '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    expect((await cli(setupArgs('57', 'wlm_pool:1GiB', job))).code).toBe(0);
    dacd.behaviour.set('57', { stall: 'DataIn' });
    await dacd.killHosts();
    const host = (await registry.getSession('57'))!.record.reconciler;
    const run = await cli(['--function', 'data_in', '--token', '57', '--job', job], {
      DAC_HOST_GRACE_SECONDS: '1',
    });
    expect(run).toMatchObject({
      output: `storage host ${host} is down (no liveness lease for 1 s), so stage-in cannot finish\n`,
      code: 3,
    });
  });

  it('tears down with the host down after the grace period, draining the host', async () => {
    const job = script('job.sh', '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    expect((await cli(setupArgs('58', 'wlm_pool:1GiB', job))).code).toBe(0);
    const host = (await registry.getSession('58'))!.record.reconciler!;
    await dacd.killHosts();
    const run = await cli(['--function', 'teardown', '--token', '58', '--job', job, '--hurry'], {
      DAC_HOST_GRACE_SECONDS: '1',
    });
    expect(run).toMatchObject({ output: '', code: 0 });
    expect(await registry.getSession('58')).toBeUndefined();
    const state = (await registry.readInventory()).hosts.get(host)!;
    expect(state.record.enabled).toBe(false);
    expect(state.record.drainReason).toBe(
      `session 58 was released while this host was down; wipe its bricks, then dacctl hosts undrain ${host}`,
    );
  });

  it('sets up a job without a buffer even when the pool is full', async () => {
    const big = script('big.sh', '#!/bin/bash\n#DW jobdw capacity=6GiB\n');
    expect((await cli(setupArgs('60', 'wlm_pool:6GiB', big))).code).toBe(0);
    expect((await registry.pools())[0]?.free).toBe(0);
    const none = script('none.sh', '#!/bin/bash\n#SBATCH -N1\nhostname\n');
    expect(await cli(setupArgs('61', 'wlm_pool:0', none))).toMatchObject({ output: '', code: 0 });
    const session = (await registry.getSession('61'))!.record;
    expect(session).toMatchObject({ bricks: [], reconciler: null, requestedBytes: 0n });
    for (const fn of ['data_in', 'pre_run', 'post_run', 'data_out', 'teardown']) {
      expect({
        fn,
        ...(await cli(['--function', fn, '--token', '61', '--job', none])),
      }).toMatchObject({
        fn,
        output: '',
        code: 0,
      });
    }
    expect(await registry.getSession('61')).toBeUndefined();
  });

  it('fails with the numbers when the pool cannot hold the request', async () => {
    const job = script('job.sh', '#!/bin/bash\n#DW jobdw capacity=7GiB\n');
    const run = await cli(setupArgs('62', 'wlm_pool:7GiB', job));
    expect(run).toMatchObject({
      output: 'pool "wlm_pool" has 6 free bricks of 1 GiB; this request needs 7 (7 GiB)\n',
      code: 3,
    });
    expect(await registry.getSession('62')).toBeUndefined();
  });

  it('accepts every capacity form Slurm sends', async () => {
    const job = script('job.sh', '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    const cases: [string, bigint][] = [
      ['wlm_pool:1GiB', GiB],
      ['wlm_pool:1040MiB', 1040n * 1024n ** 2n],
      ['wlm_pool:2GB', 2000000000n],
      ['wlm_pool:1073741824', GiB],
    ];
    let token = 100;
    for (const [capacity, bytes] of cases) {
      token += 1;
      const run = await cli(setupArgs(String(token), capacity, job));
      expect({ capacity, ...run }).toMatchObject({ capacity, output: '', code: 0 });
      expect((await registry.getSession(String(token)))!.record.requestedBytes).toBe(bytes);
      await cli(['--function', 'teardown', '--token', String(token), '--job', job]);
    }
    const nodes = await cli(setupArgs('120', 'wlm_pool:4N', job));
    expect(nodes).toMatchObject({
      output: '--capacity in nodes is not supported; request a size in bytes\n',
      code: 1,
    });
  });

  it('creates, uses and destroys a persistent buffer', async () => {
    const create = await runBinary(
      'dw_wlm_cli',
      [
        '--function',
        'create_persistent',
        '-c',
        'CLI',
        '-t',
        'p1',
        '-u',
        '65534',
        '-C',
        'wlm_pool:2147483648',
      ],
      { prefix },
    );
    expect(create).toMatchObject({ output: 'created p1\n', code: 0 });
    const buffer = (await registry.getSession('p1'))!.record;
    // Slurm sends no group: the owner's primary group comes from the user database.
    expect(buffer).toMatchObject({
      kind: 'persistent',
      owner: { uid: 65534, gid: 65534 },
      accessMode: 'striped',
      type: 'scratch',
      observed: { phase: 'Setup', status: 'Completed' },
    });
    expect(buffer.bricks).toHaveLength(2);

    const job = script('use.sh', '#!/bin/bash\n#DW persistentdw name=p1\nsrun app\n');
    expect(await cli(setupArgs('70', 'wlm_pool:0', job))).toMatchObject({ output: '', code: 0 });
    expect((await registry.getSession('70'))!.record).toMatchObject({
      persistentAttachments: ['p1'],
      reconciler: buffer.reconciler,
      bricks: [],
    });

    const busy = await cli(['--function', 'teardown', '--token', 'p1', '--job', job]);
    expect(busy).toMatchObject({
      output:
        'persistent buffer p1 is in use by job 70; it can be destroyed when they have finished\n',
      code: 1,
    });
    expect((await cli(['--function', 'teardown', '--token', '70', '--job', job])).code).toBe(0);
    expect(await cli(['--function', 'teardown', '--token', 'p1', '--job', job])).toMatchObject({
      output: '',
      code: 0,
    });
    expect(await registry.getSession('p1')).toBeUndefined();
    expect((await registry.pools())[0]?.free).toBe(6);
  });

  it('refuses a persistentdw buffer that does not exist, naming the line', async () => {
    const job = script('use.sh', '#!/bin/bash\n#SBATCH -N1\n#DW persistentdw name=nosuch\n');
    expect(await cli(setupArgs('71', 'wlm_pool:0', job))).toMatchObject({
      output:
        'persistent buffer nosuch (line 3) does not exist; create it with #BB create_persistent first\n',
      code: 1,
    });
  });

  it('refuses a persistent buffer name taken by another user', async () => {
    const args = (uid: string) => [
      '--function',
      'create_persistent',
      '-c',
      'CLI',
      '-t',
      'shared',
      '-u',
      uid,
      '-g',
      uid,
      '-C',
      'wlm_pool:1073741824',
    ];
    expect((await runBinary('dw_wlm_cli', args('1001'), { prefix })).output).toBe(
      'created shared\n',
    );
    expect((await runBinary('dw_wlm_cli', args('1001'), { prefix })).output).toBe(
      'created shared\n',
    );
    expect(await runBinary('dw_wlm_cli', args('1002'), { prefix })).toMatchObject({
      output: 'a burst buffer named shared already exists (owner uid 1001)\n',
      code: 1,
    });
  });

  it('validates create_persistent arguments', async () => {
    const base = ['--function', 'create_persistent', '-c', 'CLI', '-u', '1001', '-g', '1001'];
    const bad = await runBinary(
      'dw_wlm_cli',
      [...base, '-t', '9lives', '-C', 'wlm_pool:1073741824'],
      { prefix },
    );
    expect(bad.code).toBe(1);
    expect(bad.output).toMatch(/^burst buffer name "9lives": .+\n$/);
    const cache = await runBinary(
      'dw_wlm_cli',
      [...base, '-t', 'ok1', '-C', 'wlm_pool:1073741824', '-T', 'cache'],
      { prefix },
    );
    expect(cache.code).toBe(1);
    expect(cache.output).toMatch(/^type=cache: .+\n$/);
    expect(await registry.getSession('ok1')).toBeUndefined();
  });
});
