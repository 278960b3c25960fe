/**
 * End to end with Slurm's burst_buffer/lua plugin running slurm/burst_buffer.lua, which calls
 * our CLI; two real dacd and the test etcd. Under the lua plugin `#DW jobdw capacity=` needs
 * `pool=` on the same line (Slurm's rule).
 */
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DacdCluster, NOBODY } from '../support/dacd-cluster';
import { SlurmCluster } from '../support/slurm-cluster';

jest.setTimeout(180_000);

describe('Slurm with burst_buffer/lua', () => {
  let dacd: DacdCluster;
  let slurm: SlurmCluster;

  beforeAll(async () => {
    dacd = await DacdCluster.start('e2e-lua', ['dac1', 'dac2'], {
      brickCount: 2,
      brickCapacityGb: 1,
    });
    slurm = SlurmCluster.start(dacd, 'lua');
  });

  afterAll(async () => {
    slurm?.stop();
    await dacd?.stop();
  });

  it('knows our pool', () => {
    const burst = slurm.command('scontrol', ['show', 'burst']).output;
    expect(burst).toMatch(/^Name=lua /);
    expect(burst).toMatch(/PoolName\[0\]=default Granularity=1GiB TotalSpace=4GiB FreeSpace=4GiB/);
  });

  it('runs a job with jobdw, stage_in and stage_out', async () => {
    const source = join(slurm.home, 'in');
    mkdirSync(source);
    writeFileSync(join(source, 'data.txt'), 'staged through lua\n');
    for (const path of [source, join(source, 'data.txt')]) {
      chownSync(path, NOBODY.uid, NOBODY.gid);
    }
    const results = join(slurm.home, 'out');
    const submitted = slurm.sbatch(
      '#!/bin/bash\n#DW jobdw capacity=2GiB pool=default access_mode=striped type=scratch\n' +
        `#DW stage_in source=${source} destination=$DW_JOB_STRIPED/in type=directory\n` +
        `#DW stage_out source=$DW_JOB_STRIPED/out destination=${results} type=directory\n` +
        'cat "$DW_JOB_STRIPED/in/data.txt"\n' +
        'mkdir "$DW_JOB_STRIPED/out" && echo "from job $SLURM_JOB_ID" > "$DW_JOB_STRIPED/out/r.txt"\n',
    );
    expect(submitted).toMatchObject({ code: 0 });
    const jobId = submitted.jobId!;
    const job = await slurm.waitForJobEnd(jobId);
    expect(job.JobState).toBe('COMPLETED');
    expect(readFileSync(join(slurm.home, `${jobId}.out`), 'utf8')).toBe('staged through lua\n');
    const staged = join(results, 'r.txt');
    expect(readFileSync(staged, 'utf8')).toBe(`from job ${jobId}\n`);
    expect(statSync(staged)).toMatchObject({ uid: NOBODY.uid, gid: NOBODY.gid });
    expect((await dacd.registry.pools())[0]).toMatchObject({ free: 4 });
  });
});
