/**
 * Step-call benchmark: what the calls Slurm makes for every burst-buffer job cost, at
 * production size ("L": 1,000 hosts × 16 bricks, 2,000 sessions) and on an empty system (the
 * same hosts, no sessions), in one run.
 *
 * 1. Each step (`setup`, `data_in`, `pre_run`, `post_run`, `data_out`, `teardown`) of
 *    BENCH_JOBS jobs (default 10) as a subprocess, as Slurm runs it: wall time, CPU (user +
 *    system, from this process's `cutime`/`cstime` once the call has been waited for) and the
 *    etcd requests of the call (etcd's `/metrics`, less those of the stand-in dacd), with
 *    `node -e 0` in every round as the floor. Jobs alternate between the two systems.
 * 2. 50 concurrent `setup` calls, then 50 concurrent `teardown` calls, on each system: wall
 *    time of the burst, the rate, and how many failed (any exit but 0).
 *
 * 3. dacd's memory at L: a real dacd (local provider, 16 bricks) on one more host of the pool,
 *    started before the step calls and stopped after the bursts; its peak RSS (`VmHWM`) and its
 *    RSS at the end.
 *
 * A stand-in dacd (test/support/fake-dacd.ts) in this process reports every requested step as
 * completed, so the numbers are the CLI's and etcd's, not a provider's. Run with
 * `npm run bench:steps`; BENCH_HOSTS and BENCH_SESSIONS shrink "L" for a quick look. Results
 * are added to bench/RESULTS.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EtcdKeystore } from '../src/keystore/etcd-keystore';
import type { Keystore } from '../src/keystore/keystore';
import { KeyLayout } from '../src/registry/keys';
import { Registry } from '../src/registry/registry';
import { startEtcd, stopEtcd, type RunningEtcd } from '../test/support/etcd-server';
import { FakeDacd } from '../test/support/fake-dacd';
import { countsSince, describeCounts, requestCounts, type RequestCounts } from './etcd-metrics';
import { machineFacts, markdownTable, median, percentile, prependResult } from './report';
import { seed, type SeedPlan, type SeedResult } from './seed';

/** The repository root: this file runs as `<root>/.run/bench/bench/steps.js`. */
const ROOT = resolve(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'bin', 'dw_wlm_cli');
const RESULTS = join(ROOT, 'bench', 'RESULTS.md');
const TiB = 1024n ** 4n;
const JOBS = Number(process.env.BENCH_JOBS ?? 10);
const BURST = Number(process.env.BENCH_BURST ?? 50);
const STEPS = ['setup', 'data_in', 'pre_run', 'post_run', 'data_out', 'teardown'] as const;
type Step = (typeof STEPS)[number];
/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

const LARGE: SeedPlan = {
  endpoint: '',
  prefix: '/bench-l/',
  pool: 'default',
  hosts: Number(process.env.BENCH_HOSTS ?? 1000),
  bricksPerHost: 16,
  brickBytes: TiB,
  sessions: Number(process.env.BENCH_SESSIONS ?? 2000),
  concurrency: 32,
};
const EMPTY: SeedPlan = { ...LARGE, prefix: '/bench-empty/', sessions: 0 };

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

/** A keystore that counts the requests it passes on (the stand-in dacd's, to leave out). */
function counting(store: Keystore): { store: Keystore; count: () => number } {
  let calls = 0;
  const counted = new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'close') return value;
      return (...args: unknown[]) => {
        calls += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: counted, count: () => calls };
}

/** The CPU time of this process's waited-for children so far, in ms (cutime + cstime). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // The fields after the command name (which is in parentheses and may hold spaces).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // cutime and cstime are fields 16 and 17 of the whole line, 14 and 15 after the name.
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_SECOND;
}

interface Call {
  ms: number;
  code: number | null;
  output: string;
}

/** Run one call as Slurm does: no shell, cwd /, a minimal environment, output read together. */
function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Call> {
  return new Promise((resolveCall, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, args, { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      resolveCall({ ms: Number(process.hrtime.bigint() - started) / 1e6, code, output }),
    );
  });
}

/** One system: its prefix, environment, stand-in dacd and job scripts. */
interface System {
  label: string;
  plan: SeedPlan;
  env: NodeJS.ProcessEnv;
  dacdRequests: () => number;
  stop: () => Promise<void>;
}

async function openSystem(
  label: string,
  plan: SeedPlan,
  endpoint: string,
  hosts: string[],
): Promise<System> {
  const etcd = new EtcdKeystore({ endpoints: [endpoint], prefix: plan.prefix, timeoutMs: 30_000 });
  const { store, count } = counting(etcd);
  const registry = new Registry(store, new KeyLayout(plan.prefix));
  // The hosts stay alive on the seed's lease; the stand-in only reports the steps.
  const dacd = new FakeDacd(store, registry, hosts, { markAlive: false });
  await dacd.start();
  return {
    label,
    plan,
    env: {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      ETCDCTL_ENDPOINTS: endpoint,
      DAC_ETCD_PREFIX: plan.prefix,
      DAC_LOG_FILE: 'none',
    },
    dacdRequests: count,
    stop: async () => {
      await dacd.stop();
      await etcd.close();
    },
  };
}

/** A job script as slurmctld writes it, for a buffer of `bricks` bricks. */
function jobScript(bricks: number): string {
  return [
    '#!/bin/bash',
    '#SBATCH -N 2',
    `#DW jobdw capacity=${bricks}TiB access_mode=striped type=scratch`,
    'srun ./app',
    '\0',
  ].join('\n');
}

/** The arguments of `step` for job `token`, as the datawarp plugin passes them. */
function stepArgs(step: Step, token: string, script: string, nodes: string): string[] {
  const common = ['--function', step, '--token', token, '--job', script];
  switch (step) {
    case 'setup':
      return [
        ...common,
        '--caller',
        'SLURM',
        '--user',
        '1001',
        '--groupid',
        '1001',
        '--capacity',
        'default:4TiB',
      ];
    case 'pre_run':
      return [...common, '--nodehostnamefile', nodes];
    default:
      return common;
  }
}

interface StepSample {
  ms: number;
  cpuMs: number;
}

/** Every step of one job on `system`, in order; samples by step, requests of each step. */
async function runJob(
  system: System,
  token: string,
  script: string,
  nodes: string,
  endpoint: string,
  samples: Map<string, StepSample[]>,
  requests: Map<string, string>,
): Promise<void> {
  for (const step of STEPS) {
    const before: RequestCounts = await requestCounts(endpoint);
    const dacdBefore = system.dacdRequests();
    const cpuBefore = childrenCpuMs();
    const call = await run(CLI, stepArgs(step, token, script, nodes), system.env);
    const cpuMs = childrenCpuMs() - cpuBefore;
    if (call.code !== 0 || call.output !== '') {
      throw new Error(
        `${system.label} ${step} ${token}: exit ${call.code}: ${call.output.slice(0, 300)}`,
      );
    }
    const key = `${system.label} ${step}`;
    samples.get(key)!.push({ ms: call.ms, cpuMs });
    if (!requests.has(key)) {
      // etcd's counters: the call's requests and the stand-in dacd's, which are left out.
      const delta = countsSince(before, await requestCounts(endpoint));
      const dacd = system.dacdRequests() - dacdBefore;
      requests.set(key, `${describeCounts(delta)}, of which the stand-in dacd ${dacd}`);
    }
  }
}

interface Burst {
  label: string;
  calls: number;
  failed: number;
  seconds: number;
  firstFailure?: string;
}

/** `calls` concurrent calls of `step` on `system`. */
async function burst(
  system: System,
  step: Step,
  tokens: string[],
  script: string,
  nodes: string,
): Promise<Burst> {
  const started = Date.now();
  const calls = await Promise.all(
    tokens.map((token) => run(CLI, stepArgs(step, token, script, nodes), system.env)),
  );
  const seconds = (Date.now() - started) / 1000;
  const failures = calls.filter((c) => c.code !== 0 || c.output !== '');
  return {
    label: `${tokens.length} concurrent \`${step}\`, ${system.label}`,
    calls: tokens.length,
    failed: failures.length,
    seconds,
    ...(failures[0]
      ? { firstFailure: `exit ${failures[0].code}: ${failures[0].output.trim().slice(0, 200)}` }
      : {}),
  };
}

/** The host the real dacd serves: one more host of the pool, its bricks all free. */
const PROBE_HOST = 'memory-probe';

/** A real dacd for PROBE_HOST at L, its log and bricks under `dir`; resolves once it is alive. */
async function startProbeDacd(env: NodeJS.ProcessEnv, dir: string): Promise<ChildProcess> {
  const child = spawn(join(ROOT, 'bin', 'dacd'), [], {
    cwd: '/',
    stdio: 'ignore',
    env: {
      ...env,
      DAC_HOST_NAME: PROBE_HOST,
      DAC_BRICK_COUNT: '16',
      DAC_BRICK_CAPACITY_GB: String(Number(LARGE.brickBytes / 1024n ** 3n)),
      DAC_LOCAL_ROOT: join(dir, 'bricks'),
      DAC_MOUNT_ROOT: join(dir, 'mnt'),
      DAC_LOG_FILE: join(dir, 'dacd.log'),
    },
  });
  const store = new EtcdKeystore({
    endpoints: [String(env.ETCDCTL_ENDPOINTS)],
    prefix: LARGE.prefix,
    timeoutMs: 10_000,
  });
  try {
    const registry = new Registry(store, new KeyLayout(LARGE.prefix));
    const deadline = Date.now() + 60_000;
    while (!(await registry.hostAlive(PROBE_HOST)).alive) {
      if (child.exitCode !== null) throw new Error(`dacd exited ${child.exitCode}; see its log`);
      if (Date.now() > deadline) throw new Error('dacd did not come alive within 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await store.close();
  }
  return child;
}

/** `VmHWM` (peak) and `VmRSS` of a process, in MiB. */
function memoryOf(pid: number): { peakMiB: number; nowMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
  return { peakMiB: kib('VmHWM') / 1024, nowMiB: kib('VmRSS') / 1024 };
}

const hostNames = (count: number): string[] =>
  Array.from({ length: count }, (_, i) => `storage${String(i + 1).padStart(4, '0')}`);
const thousands = (n: number): string => n.toLocaleString('en-US');

function section(
  node: string,
  seeded: SeedResult,
  floor: number[],
  samples: Map<string, StepSample[]>,
  requests: Map<string, string>,
  bursts: Burst[],
  dacd: { peakMiB: number; nowMiB: number },
): string {
  const floorMs = median(floor);
  const rows = [...samples].map(([key, list]) => {
    const ms = list.map((s) => s.ms);
    const cpu = list.reduce((sum, s) => sum + s.cpuMs, 0) / list.length;
    return [
      `\`${key}\``,
      median(ms).toFixed(0),
      percentile(ms, 0.9).toFixed(0),
      cpu.toFixed(0),
      `${(median(ms) / floorMs).toFixed(2)}×`,
      requests.get(key) ?? '–',
    ];
  });
  const steps = markdownTable(
    ['call', 'median ms', 'p90 ms', 'mean CPU ms', '× node -e 0', 'etcd requests of one call'],
    [
      ['`node -e 0`', floorMs.toFixed(0), percentile(floor, 0.9).toFixed(0), '–', '1.00×', '–'],
      ...rows,
    ],
    [false, true, true, true, true, false],
  );
  const bursts_ = markdownTable(
    ['burst', 'calls', 'failed', 'seconds', 'per second', 'first failure'],
    bursts.map((b) => [
      b.label,
      String(b.calls),
      String(b.failed),
      b.seconds.toFixed(1),
      (b.calls / b.seconds).toFixed(1),
      b.firstFailure ?? '–',
    ]),
    [false, true, true, true, true, false],
  );
  const facts = machineFacts(node, process.env.ETCD_BINARY ?? 'etcd');
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const commit = readGitHead();
  return [
    `## step calls, ${date}`,
    '',
    `- Machine: ${facts.cpus} × ${facts.model}, ${facts.memory} RAM, ${facts.kernel}.`,
    `- Software: node ${facts.node}, etcd ${facts.etcd}, commit ${commit} (plus any uncommitted changes).`,
    `- "L": 1 pool, ${thousands(LARGE.hosts)} hosts × ${LARGE.bricksPerHost} bricks of 1 TiB, ` +
      `${thousands(seeded.allocatedBricks)} bricks allocated to ${thousands(seeded.sessions)} ` +
      `sessions (seeded in ${seeded.seconds.toFixed(0)} s); "empty": the same hosts, no sessions.`,
    `- ${JOBS} jobs of 4 bricks, alternating between the systems; each step a subprocess as ` +
      'Slurm runs it; a stand-in dacd in the benchmark reports every step as completed at once. ' +
      'CPU is user + system of the call; the etcd requests are those etcd started during one ' +
      'call, the stand-in dacd’s included and counted apart.',
    `- dacd at L (a real one, local provider, on one more host of 16 bricks, running through ` +
      `all of the above): peak RSS ${dacd.peakMiB.toFixed(0)} MiB, ${dacd.nowMiB.toFixed(0)} MiB at the end.`,
    '',
    steps,
    '',
    bursts_,
  ].join('\n');
}

function readGitHead(): string {
  try {
    const head = readFileSync(join(ROOT, '.git', 'HEAD'), 'utf8').trim();
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    return (ref ? readFileSync(join(ROOT, '.git', ref), 'utf8').trim() : head).slice(0, 7);
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const node = process.execPath;
  const scratch = mkdtempSync(join(tmpdir(), 'dac-bench-steps-'));
  const script = join(scratch, 'job.sh');
  const nodes = join(scratch, 'nodes');
  writeFileSync(script, jobScript(4), { mode: 0o644 });
  writeFileSync(nodes, 'node01\nnode02\n');
  let etcd: RunningEtcd | undefined;
  let dacd: ChildProcess | undefined;
  const systems: System[] = [];
  const cleanUp = async (): Promise<void> => {
    dacd?.kill('SIGKILL');
    await Promise.all(systems.map((s) => s.stop().catch(() => undefined)));
    if (etcd) stopEtcd(etcd);
    etcd = undefined;
    rmSync(scratch, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));
  try {
    etcd = await startEtcd();
    progress(`etcd pid ${etcd.pid} at ${etcd.endpoint}; seeding`);
    const seeded = await seed({ ...LARGE, endpoint: etcd.endpoint }, progress);
    await seed({ ...EMPTY, endpoint: etcd.endpoint }, progress);
    const hosts = hostNames(LARGE.hosts);
    systems.push(await openSystem('L', LARGE, etcd.endpoint, hosts));
    systems.push(await openSystem('empty', EMPTY, etcd.endpoint, hosts));
    dacd = await startProbeDacd(systems[0]!.env, scratch);
    progress(`dacd pid ${dacd.pid} alive at L`);

    const samples = new Map<string, StepSample[]>();
    for (const system of systems)
      for (const step of STEPS) samples.set(`${system.label} ${step}`, []);
    const requests = new Map<string, string>();
    const floor: number[] = [];
    // One warm-up job on each system, then the measured ones, alternating.
    for (let job = -1; job < JOBS; job += 1) {
      for (const system of job % 2 === 0 ? systems : [...systems].reverse()) {
        const floorCall = await run(node, ['-e', '0'], {});
        const token = `${9_000_000 + (job + 1) * 10 + systems.indexOf(system)}`;
        const target =
          job < 0 ? new Map([...samples].map(([k]) => [k, [] as StepSample[]])) : samples;
        await runJob(
          system,
          token,
          script,
          nodes,
          etcd.endpoint,
          target,
          job < 0 ? new Map() : requests,
        );
        if (job >= 0) floor.push(floorCall.ms);
      }
      progress(`job ${job + 1}/${JOBS}${job < 0 ? ' (warm-up)' : ''}`);
    }

    const bursts: Burst[] = [];
    for (const [index, system] of systems.entries()) {
      const tokens = Array.from({ length: BURST }, (_, i) => String(8_000_000 + index * 1000 + i));
      bursts.push(await burst(system, 'setup', tokens, script, nodes));
      bursts.push(await burst(system, 'teardown', tokens, script, nodes));
      progress(`bursts on ${system.label} done`);
    }
    const memory = memoryOf(dacd.pid!);
    const text = section(node, seeded, floor, samples, requests, bursts, memory);
    process.stdout.write(`${text}\n`);
    prependResult(RESULTS, text);
    progress(`results added to ${RESULTS}`);
  } finally {
    await cleanUp();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
