/**
 * A real Slurm for end-to-end tests: munged, slurmctld and slurmd started by
 * scripts/native-slurm.sh in the test directory of a DacdCluster, with the burst-buffer plugin
 * calling this repository's CLI against the test etcd. Jobs are submitted as `nobody`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NOBODY, type DacdCluster } from './dacd-cluster';

const ROOT = join(__dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'native-slurm.sh');

export type Job = Record<string, string>;

export class SlurmCluster {
  private constructor(
    readonly dacd: DacdCluster,
    readonly plugin: 'datawarp' | 'lua',
    /** The run directory of the Slurm daemons. */
    readonly dir: string,
    /** A directory owned by `nobody`: job scripts, their output, staged data. */
    readonly home: string,
  ) {}

  get conf(): string {
    return join(this.dir, 'etc', 'slurm.conf');
  }

  /** The environment slurmctld (and so the CLI) runs with. */
  private daemonEnv(): NodeJS.ProcessEnv {
    return {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      ETCDCTL_ENDPOINTS: process.env.ETCDCTL_ENDPOINTS,
      DAC_ETCD_PREFIX: this.dacd.prefix,
      DAC_MOUNT_ROOT: this.dacd.mountRoot,
      DAC_LOG_FILE: join(this.dacd.dir, 'dacctl.log'),
      DAC_LOG_LEVEL: 'debug',
    };
  }

  static start(dacd: DacdCluster, plugin: 'datawarp' | 'lua'): SlurmCluster {
    const home = join(dacd.dir, 'home');
    mkdirSync(home, { recursive: true });
    chownSync(home, NOBODY.uid, NOBODY.gid);
    const cluster = new SlurmCluster(dacd, plugin, join(dacd.dir, 'slurm'), home);
    cluster.run(['start', cluster.dir, plugin]);
    return cluster;
  }

  private run(args: string[]): string {
    const result = spawnSync(SCRIPT, args, {
      env: this.daemonEnv(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (result.status !== 0) {
      throw new Error(`native-slurm.sh ${args[0]} failed: ${result.stdout}${result.stderr}`);
    }
    return result.stdout;
  }

  stop(): void {
    this.run(['stop', this.dir]);
  }

  /** Stop slurmctld (SIGTERM, as an operator would) and start it again from its state. */
  restartController(): void {
    const pid = Number(execFileSync('cat', [join(this.dir, 'pids', 'slurmctld')]).toString());
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      spawnSync('sleep', ['0.1']);
    }
    execFileSync('slurmctld', ['-f', this.conf], { env: this.daemonEnv() });
  }

  /** Run a Slurm client command as root. */
  command(program: string, args: string[]): { code: number | null; output: string } {
    const result = spawnSync(program, args, {
      env: { ...this.daemonEnv(), SLURM_CONF: this.conf },
      encoding: 'utf8',
    });
    return { code: result.status, output: `${result.stdout}${result.stderr}` };
  }

  /** Write a file into the home directory, owned by nobody. */
  file(name: string, text: string): string {
    const path = join(this.home, name);
    writeFileSync(path, text);
    chownSync(path, NOBODY.uid, NOBODY.gid);
    return path;
  }

  /** sbatch as nobody from the home directory; the job id when it was accepted. */
  sbatch(
    script: string,
    args: string[] = [],
  ): { code: number | null; output: string; jobId?: string } {
    const name = `job-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.sh`;
    const path = this.file(name, script);
    const result = spawnSync(
      'runuser',
      [
        '-u',
        'nobody',
        '--',
        'env',
        `SLURM_CONF=${this.conf}`,
        'sbatch',
        '--parsable',
        '-o',
        join(this.home, '%j.out'),
        ...args,
        path,
      ],
      { cwd: this.home, encoding: 'utf8' },
    );
    const output = `${result.stdout}${result.stderr}`;
    const jobId = result.status === 0 ? result.stdout.trim().split(';')[0] : undefined;
    return { code: result.status, output, ...(jobId ? { jobId } : {}) };
  }

  /** `scontrol show job -o <id>` as key → value. */
  job(id: string): Job {
    const { output } = this.command('scontrol', ['show', 'job', '-o', id]);
    const fields: Job = {};
    for (const match of output.matchAll(/(\w+)=(.*?)(?= \w+=|$)/gm)) {
      fields[match[1]!] = match[2]!.trim();
    }
    return fields;
  }

  /** Wait until `done(job)`; the last seen job record in the error otherwise. */
  async waitForJob(id: string, done: (job: Job) => boolean, timeoutMs = 90_000): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    let job = this.job(id);
    while (!done(job)) {
      if (Date.now() > deadline) {
        throw new Error(
          `job ${id} did not get there in ${timeoutMs} ms: JobState=${job.JobState} ` +
            `BurstBufferState=${job.BurstBufferState} Reason=${job.Reason}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
      job = this.job(id);
    }
    return job;
  }

  /** Whether the burst buffer of job `id` is gone from etcd. */
  async sessionGone(id: string): Promise<boolean> {
    return (await this.dacd.registry.getSession(id)) === undefined;
  }

  /** Wait until job `id` ended and its buffer is torn down. */
  async waitForJobEnd(id: string, timeoutMs = 90_000): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    const job = await this.waitForJob(
      id,
      (j) => ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT'].includes(j.JobState ?? ''),
      timeoutMs,
    );
    while (!(await this.sessionGone(id))) {
      if (Date.now() > deadline) throw new Error(`job ${id}: its buffer was not torn down`);
      await new Promise((r) => setTimeout(r, 250));
    }
    return job;
  }

  /** The slurmctld log, for failing tests. */
  log(): string {
    return spawnSync('tail', ['-n', '60', join(this.dir, 'log', 'slurmctld.log')], {
      encoding: 'utf8',
    }).stdout;
  }
}
