/**
 * End to end with a real slurmctld and slurmd (burst_buffer/datawarp), two real dacd (local
 * provider) and the test etcd. Jobs are submitted by `nobody`, as users would.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { DacdCluster, NOBODY } from '../support/dacd-cluster';
import { SlurmCluster } from '../support/slurm-cluster';

jest.setTimeout(180_000);

describe('Slurm with burst_buffer/datawarp', () => {
  let dacd: DacdCluster;
  let slurm: SlurmCluster;

  beforeAll(async () => {
    dacd = await DacdCluster.start('e2e-datawarp', ['dac1', 'dac2'], {
      brickCount: 4,
      brickCapacityGb: 1,
    });
    slurm = SlurmCluster.start(dacd, 'datawarp');
  });

  afterAll(async () => {
    slurm?.stop();
    await dacd?.stop();
  });

  /** A directory of nobody's with one input file. */
  function input(name: string, content: string): string {
    const dir = join(slurm.home, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'data.txt'), content);
    chownSync(dir, NOBODY.uid, NOBODY.gid);
    chownSync(join(dir, 'data.txt'), NOBODY.uid, NOBODY.gid);
    return dir;
  }

  const output = (jobId: string) => readFileSync(join(slurm.home, `${jobId}.out`), 'utf8');

  it('shows our pool in scontrol show burst, and dwstat in scontrol show bbstat', () => {
    const burst = slurm.command('scontrol', ['show', 'burst']).output;
    expect(burst).toMatch(/Name=datawarp DefaultPool=default Granularity=1GiB TotalSpace=8GiB/);
    expect(burst).toMatch(/FreeSpace=8GiB/);
    const bbstat = slurm.command('scontrol', ['show', 'bbstat']).output;
    expect(bbstat).toMatch(/^pool\s+units\s+quantity\s+free\s+gran/m);
    expect(bbstat).toMatch(/^default\s+bytes\s+8 GiB\s+8 GiB\s+1 GiB/m);
    expect(slurm.command('scontrol', ['show', 'bbstat', 'nodes']).output).toMatch(/^dac1\s+up/m);
  });

  it('runs a job with jobdw, stage_in and stage_out', async () => {
    const source = input('in1', 'staged by dacd\n');
    const results = join(slurm.home, 'out1');
    const submitted = slurm.sbatch(
      '#!/bin/bash\n#DW jobdw capacity=2GiB access_mode=striped type=scratch\n' +
        `#DW stage_in source=${source} destination=$DW_JOB_STRIPED/in type=directory\n` +
        `#DW stage_out source=$DW_JOB_STRIPED/out destination=${results} type=directory\n` +
        'echo "striped=$DW_JOB_STRIPED user=$(id -un)"\n' +
        'cat "$DW_JOB_STRIPED/in/data.txt"\n' +
        'mkdir "$DW_JOB_STRIPED/out" && echo "result of $SLURM_JOB_ID" > "$DW_JOB_STRIPED/out/r.txt"\n',
    );
    expect(submitted.code).toBe(0);
    const jobId = submitted.jobId!;
    const job = await slurm.waitForJobEnd(jobId);
    expect(job.JobState).toBe('COMPLETED');
    expect(output(jobId)).toBe(
      `striped=${dacd.mountRoot}/job/${jobId}/striped/ user=nobody\nstaged by dacd\n`,
    );
    const staged = join(results, 'r.txt');
    expect(readFileSync(staged, 'utf8')).toBe(`result of ${jobId}\n`);
    expect(statSync(staged)).toMatchObject({ uid: NOBODY.uid, gid: NOBODY.gid });
    expect((await dacd.registry.pools())[0]).toMatchObject({ free: 8 });
  });

  it('refuses an invalid directive at sbatch with our one-line message', () => {
    const submitted = slurm.sbatch('#!/bin/bash\n#DW jobdw capacity=1.5TB\nhostname\n');
    expect(submitted.code).not.toBe(0);
    expect(submitted.output).toContain(
      'line 2 (#DW jobdw): capacity=1.5TB: fractional sizes are not supported; use 1500GB',
    );
  });

  it('holds a job whose stage-in source is missing, with our message as its reason', async () => {
    const missing = join(slurm.home, 'no-such-dir');
    const submitted = slurm.sbatch(
      '#!/bin/bash\n#DW jobdw capacity=1GiB access_mode=striped type=scratch\n' +
        `#DW stage_in source=${missing} destination=$DW_JOB_STRIPED/in type=directory\n` +
        'hostname\n',
    );
    const jobId = submitted.jobId!;
    // Slurm shows the reason with underscores for spaces (so stage_in reads "stage in").
    const reason = (j: Record<string, string>) => (j.Reason ?? '').replace(/_/g, ' ');
    const job = await slurm.waitForJob(jobId, (j) => /does not exist/.test(reason(j)));
    expect(reason(job)).toMatch(
      new RegExp(`stage-in failed on dac[12]: stage in source ${missing} does not exist`),
    );
    expect(job.JobState).toBe('PENDING');
    slurm.command('scancel', [jobId]);
    await slurm.waitForJobEnd(jobId);
  });

  it('creates a persistent buffer, uses it in two jobs, and destroys it', async () => {
    const create = slurm.sbatch(
      '#!/bin/bash\n#BB create_persistent name=shared capacity=2GiB access_mode=striped type=scratch\nhostname\n',
    );
    expect(create.code).toBe(0);
    await slurm.waitForJob(create.jobId!, (j) => j.JobState === 'COMPLETED');
    expect((await dacd.registry.getSession('shared'))?.record.kind).toBe('persistent');
    expect((await dacd.registry.pools())[0]).toMatchObject({ free: 6 });

    const writer = slurm.sbatch(
      '#!/bin/bash\n#DW persistentdw name=shared\n' +
        'echo "written by job $SLURM_JOB_ID" > "$DW_PERSISTENT_STRIPED_shared/note.txt"\n',
    );
    await slurm.waitForJobEnd(writer.jobId!);
    const reader = slurm.sbatch(
      '#!/bin/bash\n#DW persistentdw name=shared\ncat "$DW_PERSISTENT_STRIPED_shared/note.txt"\n',
    );
    const read = await slurm.waitForJobEnd(reader.jobId!);
    expect(read.JobState).toBe('COMPLETED');
    expect(output(reader.jobId!)).toBe(`written by job ${writer.jobId}\n`);

    const destroy = slurm.sbatch('#!/bin/bash\n#BB destroy_persistent name=shared\nhostname\n');
    await slurm.waitForJob(destroy.jobId!, (j) => j.JobState === 'COMPLETED');
    const deadline = Date.now() + 60_000;
    while ((await dacd.registry.getSession('shared')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await dacd.registry.getSession('shared')).toBeUndefined();
    expect((await dacd.registry.pools())[0]).toMatchObject({ free: 8 });
  });

  it('scancel during stage-in tears the buffer down with hurry and frees its bricks', async () => {
    const source = input('in-cancel', 'never staged\n');
    const submitted = slurm.sbatch(
      '#!/bin/bash\n#DW jobdw capacity=1GiB access_mode=striped type=scratch\n' +
        `#DW stage_in source=${source} destination=$DW_JOB_STRIPED/in type=directory\n` +
        'hostname\n',
      ['--hold'],
    );
    const jobId = submitted.jobId!;
    // Both daemons stall this job's stage-in, so it is under way when the job is cancelled.
    for (const host of ['dac1', 'dac2']) {
      await dacd.dacd(host).stop();
      await dacd.startDacd(host, { faults: `stageIn:${jobId}:stall` });
    }
    slurm.command('scontrol', ['release', jobId]);
    await slurm.waitForJob(jobId, (j) => j.BurstBufferState === 'staging-in');
    const deadline = Date.now() + 30_000;
    const session = async () => (await dacd.registry.getSession(jobId))?.record;
    while ((await session())?.desired !== 'DataIn' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await session())?.desired).toBe('DataIn');
    expect(slurm.command('scancel', [jobId]).code).toBe(0);
    const job = await slurm.waitForJobEnd(jobId);
    expect(job.JobState).toBe('CANCELLED');
    expect((await dacd.registry.pools())[0]).toMatchObject({ free: 8 });
    expect(dacd.leftovers()).toEqual([]);
    for (const host of ['dac1', 'dac2']) {
      await dacd.dacd(host).stop();
      await dacd.startDacd(host, { faults: '' });
    }
  });

  it('loses nothing when slurmctld restarts in the middle of a job', async () => {
    const source = input('in-restart', 'survives a restart\n');
    const results = join(slurm.home, 'out-restart');
    const submitted = slurm.sbatch(
      '#!/bin/bash\n#DW jobdw capacity=1GiB access_mode=striped type=scratch\n' +
        `#DW stage_in source=${source} destination=$DW_JOB_STRIPED/in type=directory\n` +
        `#DW stage_out source=$DW_JOB_STRIPED/in destination=${results} type=directory\n` +
        'sleep 4\n',
    );
    const jobId = submitted.jobId!;
    await slurm.waitForJob(jobId, (j) => j.JobState === 'RUNNING');
    slurm.restartController();
    const job = await slurm.waitForJobEnd(jobId);
    expect(job.JobState).toBe('COMPLETED');
    expect(readFileSync(join(results, 'data.txt'), 'utf8')).toBe('survives a restart\n');
    expect(await dacd.registry.sessions()).toEqual([]);
    expect((await dacd.registry.pools())[0]).toMatchObject({ free: 8 });
  });
});
