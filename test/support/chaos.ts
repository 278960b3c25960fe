/**
 * The chaos run: whole job lifecycles through the CLI binary, several at once, against real
 * dacd processes and a 3-member etcd, while dacd processes, etcd members and CLI calls are
 * killed with SIGKILL at random; then the invariants, read from etcd and the disk.
 *
 * Each Slurm step is retried as slurmctld does: a call that fails or is killed (Slurm kills a
 * call that runs past its timeout) is made again after a pause; a job whose setup or staging
 * keeps failing is torn down; a teardown is retried until it succeeds. Kills stop at the end
 * of the run; everything killed is started again, the jobs in flight finish, and then:
 * - every session is completed or released (none is left in etcd);
 * - the registry invariants hold (`registryViolations`): no brick in two sessions, every
 *   brick free or owned by a session that lists it, usage and summary records equal to what
 *   the session records imply; they are also checked every few seconds during the run;
 * - no files are left on the bricks or under the mount root.
 *
 * Used by test/solo/chaos.test.ts (about a minute) and bench/chaos.ts (ten).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliRun } from './cli';
import { DacdCluster, setupArgs } from './dacd-cluster';
import { EtcdMembers } from './etcd-members';
import { registryViolations } from './registry-invariants';
import { seededRandom } from './seeded-random';

export interface ChaosOptions {
  /** How long kills go on. */
  durationMs: number;
  /** Job lifecycles running at once. */
  streams?: number;
  /** Seed of the random choices (printed, so a failing run can be repeated). */
  seed?: number;
  /** Mean pause between two kills of a dacd or an etcd member. */
  killEveryMs?: number;
  /** Chance that a CLI call is killed part-way. */
  cliKillChance?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  durationMs: number;
  lifecycles: { completed: number; tornDownEarly: number };
  calls: { made: number; failed: number; killed: number };
  kills: { dacd: number; etcd: number };
  invariantChecks: number;
  /** Invariant violations, with when they were seen; empty when everything held. */
  violations: string[];
  /** Sessions left in etcd at the end, and files left on disk. */
  leftSessions: string[];
  leftFiles: string[];
}

const HOSTS = ['dac1', 'dac2', 'dac3'];
const STEP_ATTEMPTS = 30;
const TEARDOWN_ATTEMPTS = 200;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  // The run's choices repeat for one seed.
  const rand = seededRandom(seed);
  const between = (low: number, high: number) => low + rand() * (high - low);
  const log = options.log ?? (() => undefined);
  const streams = options.streams ?? 4;
  const killEveryMs = options.killEveryMs ?? 3000;
  const cliKillChance = options.cliKillChance ?? 0.1;
  const report: ChaosReport = {
    seed,
    durationMs: options.durationMs,
    lifecycles: { completed: 0, tornDownEarly: 0 },
    calls: { made: 0, failed: 0, killed: 0 },
    kills: { dacd: 0, etcd: 0 },
    invariantChecks: 0,
    violations: [],
    leftSessions: [],
    leftFiles: [],
  };

  const members = await EtcdMembers.start(3);
  let cluster: DacdCluster | undefined;
  try {
    cluster = await DacdCluster.start('chaos', HOSTS, {
      endpoints: members.endpoints,
      brickCount: 4,
      leaseTtlSeconds: 4,
    });
    const system = cluster;
    const input = join(system.dir, 'input');
    mkdirSync(join(input, 'sub'), { recursive: true });
    writeFileSync(join(input, 'a.dat'), 'alpha'.repeat(1000));
    writeFileSync(join(input, 'sub', 'b.dat'), 'beta');
    const results = system.nobodyDir('results');
    const nodes = system.file('nodes', 'cn1\ncn2\n');
    // Steps give up well before the run's end; Slurm's timeouts are longer, its retries too.
    const stepEnv = {
      DAC_OTHER_TIMEOUT: '30',
      DAC_STAGE_IN_TIMEOUT: '30',
      DAC_STAGE_OUT_TIMEOUT: '30',
      DAC_PRE_RUN_TIMEOUT: '30',
    };

    let chaosOn = true;
    const endAt = Date.now() + options.durationMs;

    /** One call as Slurm makes it, killed part-way now and then while the chaos is on. */
    const call = async (args: string[]): Promise<CliRun> => {
      report.calls.made += 1;
      const kill = chaosOn && rand() < cliKillChance ? between(20, 1500) : undefined;
      const run = await system.cli(args, stepEnv, kill);
      if (run.code === null) report.calls.killed += 1;
      else if (run.code !== 0) report.calls.failed += 1;
      return run;
    };
    /** Retry a step until it succeeds, at most `attempts` times; true if it did. */
    const step = async (args: string[], attempts = STEP_ATTEMPTS): Promise<boolean> => {
      for (let attempt = 1; attempt <= attempts; attempt += 1) {
        const run = await call(args);
        if (run.code === 0) return true;
        await sleep(between(200, 1000));
      }
      return false;
    };

    const lifecycle = async (token: string): Promise<void> => {
      const out = join(results, token);
      const job = system.file(
        `job${token}.sh`,
        '#!/bin/bash\n#DW jobdw capacity=1GiB access_mode=striped,private type=scratch\n' +
          `#DW stage_in source=${input} destination=$DW_JOB_STRIPED/in type=directory\n` +
          `#DW stage_out source=$DW_JOB_STRIPED/in destination=${out} type=directory\n`,
      );
      const base = ['--token', token, '--job', job];
      const paths = join(system.dir, `paths${token}`);
      const ran =
        (await step(setupArgs(token, job, 'default:1GiB'))) &&
        (await step(['--function', 'data_in', ...base])) &&
        (await step(['--function', 'paths', ...base, '--pathfile', paths])) &&
        (await step(['--function', 'pre_run', ...base, '--nodehostnamefile', nodes])) &&
        (await step(['--function', 'post_run', ...base])) &&
        (await step(['--function', 'data_out', ...base]));
      // Slurm tears a job down whatever happened before, and retries until it is done (a
      // teardown that never succeeds leaves its session, which the report shows).
      await step(['--function', 'teardown', ...base], TEARDOWN_ATTEMPTS);
      if (ran) report.lifecycles.completed += 1;
      else report.lifecycles.tornDownEarly += 1;
    };

    const runStream = async (stream: number) => {
      for (let n = 0; Date.now() < endAt; n += 1) {
        await lifecycle(`${stream}${String(n).padStart(4, '0')}`);
      }
    };

    const killer = async () => {
      while (Date.now() < endAt) {
        await sleep(between(0.5, 1.5) * killEveryMs);
        if (Date.now() >= endAt) break;
        // One kill at a time, a dacd and an etcd member in turn (a random one of each).
        if (report.kills.dacd <= report.kills.etcd) {
          const host = HOSTS[Math.floor(rand() * HOSTS.length)]!;
          report.kills.dacd += 1;
          log(`kill -9 dacd ${host}`);
          await system.dacd(host).kill();
          await sleep(between(200, 2000));
          await system.startDacd(host);
        } else {
          const member = Math.floor(rand() * members.size);
          report.kills.etcd += 1;
          log(`kill -9 etcd member ${member}`);
          members.kill(member);
          await sleep(between(500, 3000));
          members.restart(member);
          await members.waitForLeader();
        }
      }
    };

    const checker = async () => {
      while (chaosOn) {
        await sleep(2000);
        try {
          const found = await registryViolations(system.store, system.registry.keys);
          report.invariantChecks += 1;
          for (const v of found) report.violations.push(`at ${Date.now() - endAt} ms: ${v}`);
        } catch {
          // etcd unreachable for the moment: the next check reads again
        }
      }
    };

    const checking = checker();
    const killing = killer().then(() => {
      chaosOn = false;
      log('kills stopped; the jobs in flight finish');
    });
    await Promise.all([killing, ...Array.from({ length: streams }, (_, i) => runStream(i + 1))]);
    await checking;

    // Everything is up again and every job has been torn down: the end state.
    report.violations.push(...(await registryViolations(system.store, system.registry.keys)));
    report.invariantChecks += 1;
    report.leftSessions = (await system.registry.sessions()).map((s) => s.token);
    report.leftFiles = system.leftovers();
    return report;
  } catch (error) {
    const logs = cluster ? `\n${cluster.logs()}` : '';
    throw new Error(`chaos run (seed ${seed}) failed: ${(error as Error).message}${logs}`);
  } finally {
    await cluster?.stop();
    members.stop();
  }
}
