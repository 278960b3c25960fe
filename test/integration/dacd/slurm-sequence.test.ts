/**
 * The whole Slurm sequence through the CLI binary with two real dacd processes (local
 * provider, real files, staging as `nobody`): setup → data_in → real_size → paths → pre_run →
 * post_run → data_out → teardown, for a job buffer and for a persistent buffer used by two jobs
 * in a row. Nothing may be left behind.
 */
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DacdCluster, NOBODY, asNobody, setupArgs } from '../../support/dacd-cluster';

const GiB = 1024 ** 3;

/** Parse a path file Slurm reads: `KEY=value` lines. */
function pathFile(path: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );
}

describe('the Slurm sequence with real daemons', () => {
  let cluster: DacdCluster;

  beforeEach(async () => {
    cluster = await DacdCluster.start('sequence');
  });

  afterEach(async () => {
    await cluster.stop();
  });

  const ok = { output: '', code: 0 };

  it('runs a job buffer from setup to teardown', async () => {
    const input = join(cluster.dir, 'input');
    mkdirSync(join(input, 'sub'), { recursive: true });
    writeFileSync(join(input, 'a.dat'), 'alpha');
    writeFileSync(join(input, 'sub', 'b.dat'), 'beta');
    const results = cluster.nobodyDir('results');
    const job = cluster.file(
      'job.sh',
      '#!/bin/bash\n#DW jobdw capacity=3GiB access_mode=striped,private type=scratch\n' +
        `#DW stage_in source=${input} destination=$DW_JOB_STRIPED/in type=directory\n` +
        `#DW stage_out source=$DW_JOB_STRIPED/out destination=${results} type=directory\n` +
        'srun app\n\0',
    );
    const nodes = cluster.file('nodes', 'cn1\ncn2\n');
    const token = '3001';
    const base = ['--token', token, '--job', job];

    const setup = await cluster.cli(setupArgs(token, job, 'default:3GiB'));
    expect(setup).toMatchObject(ok);
    const session = (await cluster.registry.getSession(token))!.record;
    expect(new Set(session.bricks.map((b) => b.host))).toEqual(new Set(['dac1', 'dac2']));

    expect(await cluster.cli(['--function', 'data_in', ...base])).toMatchObject(ok);
    const afterIn = (await cluster.registry.getSession(token))!.record;
    expect(afterIn.transfer).toMatchObject({ phase: 'DataIn', files: 2, bytes: 9n, done: true });
    // What the stage measured before it copied stays with the final counts, with its start.
    expect(afterIn.transfer).toMatchObject({ totalFiles: 2, totalBytes: 9n });
    expect(afterIn.transfer!.startedAt).toBeGreaterThanOrEqual(afterIn.timings.DataIn!.startedAt!);
    expect(afterIn.transfer!.startedAt).toBeLessThanOrEqual(afterIn.timings.DataIn!.finishedAt!);
    expect(afterIn.timings.DataIn?.finishedAt).toBeGreaterThanOrEqual(
      afterIn.timings.DataIn!.startedAt!,
    );

    const realSize = await cluster.cli(['--function', 'real_size', '--token', token]);
    expect(JSON.parse(realSize.output)).toEqual({ token, capacity: 3 * GiB, units: 'bytes' });

    const paths = join(cluster.dir, 'paths');
    expect(await cluster.cli(['--function', 'paths', ...base, '--pathfile', paths])).toMatchObject(
      ok,
    );
    const env = pathFile(paths);
    expect(env.DW_JOB_STRIPED).toBe(`${cluster.mountRoot}/job/${token}/striped/`);

    expect(
      await cluster.cli(['--function', 'pre_run', ...base, '--nodehostnamefile', nodes]),
    ).toMatchObject(ok);
    // The job, as its user, sees the staged files at DW_JOB_STRIPED and writes its results.
    expect(asNobody('cat', [`${env.DW_JOB_STRIPED}in/sub/b.dat`])).toBe('beta');
    asNobody('mkdir', [`${env.DW_JOB_STRIPED}out`]);
    asNobody('cp', [`${env.DW_JOB_STRIPED}in/a.dat`, `${env.DW_JOB_STRIPED}out/result.txt`]);
    asNobody('cp', [`${env.DW_JOB_STRIPED}in/a.dat`, `${env.DW_JOB_PRIVATE}mine.txt`]);

    expect(await cluster.cli(['--function', 'post_run', ...base])).toMatchObject(ok);
    expect(readdirSync(cluster.mountRoot + '/job')).toEqual([]);
    expect(await cluster.cli(['--function', 'data_out', ...base])).toMatchObject(ok);
    const staged = join(results, 'result.txt');
    expect(readFileSync(staged, 'utf8')).toBe('alpha');
    expect((await cluster.registry.getSession(token))!.record.transfer).toMatchObject({
      phase: 'DataOut',
      files: 1,
      bytes: 5n,
      totalFiles: 1,
      totalBytes: 5n,
      done: true,
    });
    expect(statSync(staged)).toMatchObject({ uid: NOBODY.uid, gid: NOBODY.gid });

    expect(await cluster.cli(['--function', 'teardown', ...base])).toMatchObject(ok);
    expect(await cluster.registry.getSession(token)).toBeUndefined();
    expect((await cluster.registry.pools())[0]).toMatchObject({ free: 4, quantity: 4 });
    expect(cluster.leftovers()).toEqual([]);
  });

  it('keeps a persistent buffer for two jobs in a row, then destroys it', async () => {
    const create = await cluster.cli([
      '--function',
      'create_persistent',
      '-c',
      'CLI',
      '-t',
      'shared',
      '-u',
      String(NOBODY.uid),
      '-g',
      String(NOBODY.gid),
      '-C',
      `default:${2 * GiB}`,
    ]);
    expect(create).toMatchObject({ output: 'created shared\n', code: 0 });
    const input = cluster.file('seed.txt', 'seeded');

    const runJob = async (token: string, script: string, work: (dir: string) => void) => {
      const job = cluster.file(`job${token}.sh`, script);
      const base = ['--token', token, '--job', job];
      const paths = join(cluster.dir, `paths${token}`);
      const nodes = cluster.file(`nodes${token}`, 'cn1\n');
      for (const args of [
        setupArgs(token, job, 'default:0'),
        ['--function', 'data_in', ...base],
        ['--function', 'paths', ...base, '--pathfile', paths],
        ['--function', 'pre_run', ...base, '--nodehostnamefile', nodes],
      ]) {
        expect({ args, ...(await cluster.cli(args)) }).toMatchObject({ args, ...ok });
      }
      work(pathFile(paths).DW_PERSISTENT_STRIPED_shared!);
      for (const fn of ['post_run', 'data_out', 'teardown']) {
        expect({ fn, ...(await cluster.cli(['--function', fn, ...base])) }).toMatchObject({
          fn,
          ...ok,
        });
      }
    };

    await runJob(
      '4001',
      '#!/bin/bash\n#DW persistentdw name=shared\n' +
        `#DW stage_in source=${input} destination=$DW_PERSISTENT_STRIPED_shared/seed.txt type=file\n`,
      (dir) => asNobody('cp', [`${dir}seed.txt`, `${dir}written-by-4001.txt`]),
    );
    let seen = '';
    await runJob('4002', '#!/bin/bash\n#DW persistentdw name=shared\nsrun app\n', (dir) => {
      seen = asNobody('cat', [`${dir}written-by-4001.txt`]);
    });
    expect(seen).toBe('seeded');

    const destroy = await cluster.cli([
      '--function',
      'teardown',
      '--token',
      'shared',
      '--job',
      '/dev/null',
    ]);
    expect(destroy).toMatchObject(ok);
    expect(await cluster.registry.sessions()).toEqual([]);
    expect((await cluster.registry.pools())[0]).toMatchObject({ free: 4 });
    expect(cluster.leftovers()).toEqual([]);
  }, 60000);
});
