/**
 * CLI latency benchmark: how long Slurm waits for `dw_wlm_cli` at production size, compared
 * with the bare start-up of Node (`node -e 0`), and how many etcd requests each call makes.
 *
 * Starts a private etcd, seeds it through the Registry API (1 pool, 1,000 hosts × 16 bricks
 * of 1 TiB, 2,000 sessions), then runs every command as a subprocess, interleaved, for a
 * number of rounds after warm-ups. Every call must exit 0 with the answer Slurm expects, so a
 * failure is never timed. Prints a Markdown table and prepends it to bench/RESULTS.md.
 *
 * Run with `npm run bench` (it builds dist/ and this file first). `BENCH_ROUNDS` overrides the
 * number of measured rounds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEtcd, stopEtcd, type RunningEtcd } from '../test/support/etcd-server';
import { countsSince, describeCounts, requestCounts, totalRequests } from './etcd-metrics';
import { machineFacts, markdownTable, median, percentile, prependResult } from './report';
import { PRODUCTION_PLAN, seed, type SeedPlan, type SeedResult } from './seed';

/** The repository root: this file runs as `<root>/.run/bench/bench/cli-latency.js`. */
const ROOT = resolve(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'bin', 'dw_wlm_cli');
const RESULTS = join(ROOT, 'bench', 'RESULTS.md');

const WARMUP_ROUNDS = 2;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

const PLAN: SeedPlan = PRODUCTION_PLAN;

/** One command to time: a subprocess, and a check of its answer. */
interface Command {
  label: string;
  file: string;
  args: string[];
  /** Throws if the answer is not what Slurm expects. */
  check(stdout: string): void;
  /** Whether it talks to etcd (its requests are counted). */
  etcd: boolean;
}

/** The node binary the bin/ wrappers run (bin/launch.sh), so the baseline is comparable. */
function nodeBinary(): string {
  const candidates = [process.env.DAC_NODE, '/usr/bin/node', '/usr/local/bin/node'];
  return candidates.find((c): c is string => !!c && existsSync(c)) ?? process.execPath;
}

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

function fail(what: string, message: string): never {
  throw new Error(`${what}: ${message}`);
}

function parseJson(what: string, text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // reported below
  }
  return fail(what, `answer is not a JSON object: ${text.slice(0, 200)}`);
}

/** The array under `key` in a DataWarp answer, every element an object. */
function listOf(what: string, text: string, key: string): Record<string, unknown>[] {
  const list = parseJson(what, text)[key];
  if (!Array.isArray(list)) fail(what, `"${key}" is not an array`);
  for (const item of list) {
    if (typeof item !== 'object' || item === null) fail(what, `an element is not an object`);
  }
  return list as Record<string, unknown>[];
}

function integer(what: string, value: unknown): number {
  if (!Number.isSafeInteger(value)) fail(what, `${JSON.stringify(value)} is not an integer`);
  return value as number;
}

/** The commands, with checks against what was seeded. */
function commands(node: string, seeded: SeedResult, jobScript: string): Command[] {
  const quantity = PLAN.hosts * PLAN.bricksPerHost;
  const cli = (fn: string, check: Command['check'], extra: string[] = []): Command => ({
    label: `dw_wlm_cli --function ${fn}`,
    file: CLI,
    args: ['--function', fn, ...extra],
    check,
    etcd: true,
  });
  const load = (label: string, path: string): Command => ({
    label: `load ${label}`,
    file: node,
    args: ['-e', `require(${JSON.stringify(path)})`],
    check: (out) => (out === '' ? undefined : fail(label, `unexpected output ${out}`)),
    etcd: false,
  });
  const modules = (name: string) => load(name, join(ROOT, 'node_modules', name));
  const built = (path: string) => load(`dist/${path}`, join(ROOT, 'dist', path));
  return [
    {
      label: 'node -e 0',
      file: node,
      args: ['-e', '0'],
      check: (out) => (out === '' ? undefined : fail('node -e 0', out)),
      etcd: false,
    },
    cli('pools', (out) => {
      const pools = listOf('pools', out, 'pools');
      const pool = pools[0];
      if (pools.length !== 1 || !pool) return fail('pools', `${pools.length} pools, expected 1`);
      if (pool.id !== PLAN.pool) fail('pools', `pool id ${String(pool.id)}`);
      if (integer('granularity', pool.granularity) !== Number(PLAN.brickBytes)) {
        fail('pools', `granularity ${String(pool.granularity)}`);
      }
      if (integer('quantity', pool.quantity) !== quantity) fail('pools', `quantity ${quantity}?`);
      const free = integer('free', pool.free);
      if (free !== quantity - seeded.allocatedBricks) {
        fail('pools', `free ${free}, expected ${quantity - seeded.allocatedBricks}`);
      }
    }),
    cli('show_sessions', (out) => {
      const sessions = listOf('show_sessions', out, 'sessions');
      if (sessions.length !== seeded.sessions) {
        fail('show_sessions', `${sessions.length} sessions, expected ${seeded.sessions}`);
      }
      for (const s of sessions) {
        integer('id', s.id);
        integer('owner', s.owner);
        integer('created', s.created);
        if (typeof s.token !== 'string') fail('show_sessions', `token ${String(s.token)}`);
      }
    }),
    cli('show_instances', (out) => {
      const instances = listOf('show_instances', out, 'instances');
      const expected = seeded.sessions - seeded.zeroSizeSessions;
      if (instances.length !== expected) {
        fail('show_instances', `${instances.length} instances, expected ${expected}`);
      }
      let bytes = 0;
      for (const i of instances) {
        integer('links.session', (i.links as Record<string, unknown> | undefined)?.session);
        bytes += integer('capacity.bytes', (i.capacity as Record<string, unknown>)?.bytes);
      }
      if (bytes !== seeded.allocatedBricks * Number(PLAN.brickBytes)) {
        fail('show_instances', `${bytes} bytes in all, expected ${seeded.allocatedBricks} TiB`);
      }
    }),
    cli(
      'job_process',
      (out) => (out === '' ? undefined : fail('job_process', `unexpected output ${out}`)),
      ['--job', jobScript],
    ),
    {
      // No etcd at all: the start-up of our CLI alone, the floor of every call above.
      ...cli('show_configurations', (out) =>
        out === '{"configurations": []}\n'
          ? undefined
          : fail('show_configurations', `unexpected output ${out}`),
      ),
      etcd: false,
    },
    {
      label: 'floor: the pools request alone, decoding nothing',
      file: node,
      args: [join(__dirname, 'request-floor.js')],
      check: (out) => (out === '' ? undefined : fail('floor', `unexpected output ${out}`)),
      etcd: true,
    },
    modules('etcd3'),
    modules('zod'),
    modules('pino'),
    load('node:http2', 'node:http2'),
    built('keystore/etcd-keystore.js'),
    built('registry/registry.js'),
    built('keystore/etcd-http2/keystore.js'),
    built('registry/slurm-reader.js'),
    built('bundle/dacctl.js'),
  ];
}

/** Run one command as Slurm does (no shell, cwd /, minimal environment); milliseconds. */
function runOnce(command: Command, env: NodeJS.ProcessEnv): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command.file, command.args, {
    cwd: '/',
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
    timeout: 30_000,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.error) fail(command.label, result.error.message);
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) {
    fail(command.label, `exit ${String(result.status ?? result.signal)}: ${output.slice(0, 300)}`);
  }
  if (result.stderr !== '') fail(command.label, `wrote to stderr: ${result.stderr.slice(0, 300)}`);
  command.check(result.stdout);
  return ms;
}

/** Interleaved rounds, each starting one command further along; samples by label. */
function measure(list: Command[], env: NodeJS.ProcessEnv): Map<string, number[]> {
  const samples = new Map<string, number[]>(list.map((c) => [c.label, []]));
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round += 1) {
    for (let i = 0; i < list.length; i += 1) {
      const command = list[(round + i) % list.length]!;
      const ms = runOnce(command, env);
      if (round >= WARMUP_ROUNDS) samples.get(command.label)!.push(ms);
    }
    progress(
      `round ${round + 1}/${WARMUP_ROUNDS + ROUNDS}${round < WARMUP_ROUNDS ? ' (warm-up)' : ''}`,
    );
  }
  return samples;
}

/** The etcd requests of one call of each etcd command, as text by label. */
async function requestsPerCall(
  list: Command[],
  env: NodeJS.ProcessEnv,
  endpoint: string,
): Promise<Map<string, string>> {
  const described = new Map<string, string>();
  for (const command of list.filter((c) => c.etcd)) {
    const before = await requestCounts(endpoint);
    runOnce(command, env);
    const delta = countsSince(before, await requestCounts(endpoint));
    described.set(command.label, describeCounts(delta));
    if (totalRequests(delta) === 0) fail(command.label, 'etcd counted no request');
  }
  return described;
}

/** A job script as slurmctld writes it: shebang, #SBATCH, directives, commands, NUL. */
const JOB_SCRIPT = [
  '#!/bin/bash',
  '#SBATCH -N 2',
  '#DW jobdw capacity=10TiB access_mode=striped type=scratch',
  '#DW stage_in source=/home/alice/in.dat destination=$DW_JOB_STRIPED/in.dat type=file',
  '#DW stage_out source=$DW_JOB_STRIPED/out destination=/home/alice/out type=directory',
  'srun ./app',
  '\0',
].join('\n');

const formatMs = (ms: number): string => ms.toFixed(0);
const thousands = (n: number): string => n.toLocaleString('en-US');
const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

function resultSection(
  list: Command[],
  samples: Map<string, number[]>,
  requests: Map<string, string>,
  seeded: SeedResult,
  node: string,
): { table: string; section: string } {
  const baseline = median(samples.get(list[0]!.label)!);
  const row = (command: Command): string[] => {
    const s = samples.get(command.label)!;
    const m = median(s);
    return [
      `\`${command.label}\``,
      formatMs(m),
      formatMs(percentile(s, 0.9)),
      `${(m / baseline).toFixed(2)}×`,
      `+${formatMs(m - baseline)}`,
      requests.get(command.label) ?? '–',
    ];
  };
  const header = ['command', 'median ms', 'p90 ms', '× node -e 0', 'over node ms', 'etcd requests'];
  const table = markdownTable(header, list.map(row), [false, true, true, true, true, false]);
  const facts = machineFacts(node, process.env.ETCD_BINARY ?? 'etcd');
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const quantity = PLAN.hosts * PLAN.bricksPerHost;
  const section = [
    `## ${date}`,
    '',
    `- Machine: ${facts.cpus} × ${facts.model}, ${facts.memory} RAM, ${facts.kernel}.`,
    `- Software: node ${facts.node}, etcd ${facts.etcd}, commit ${commit.stdout.trim() || 'unknown'} (plus any uncommitted changes).`,
    `- Data: 1 pool, ${thousands(PLAN.hosts)} hosts × ${PLAN.bricksPerHost} bricks of 1 TiB, ` +
      `${thousands(seeded.allocatedBricks)} of ${thousands(quantity)} bricks allocated to ` +
      `${thousands(seeded.sessions)} sessions (${seeded.zeroSizeSessions} without bricks); ` +
      `seeded in ${seeded.seconds.toFixed(0)} s.`,
    `- Range sizes: inventory ${thousands(seeded.inventory.keys)} keys, ` +
      `${megabytes(seeded.inventory.bytes)}; sessions ${thousands(seeded.sessionRecords.keys)} ` +
      `keys, ${megabytes(seeded.sessionRecords.bytes)}. What the polled calls read instead: ` +
      `usage records ${thousands(seeded.usageRecords.keys)} keys, ` +
      `${megabytes(seeded.usageRecords.bytes)} (\`pools\`, with the liveness keys); session ` +
      `summary buckets ${thousands(seeded.sessionSummaries.keys)} keys, ` +
      `${megabytes(seeded.sessionSummaries.bytes)} (\`show_*\`).`,
    `- ${ROUNDS} interleaved rounds after ${WARMUP_ROUNDS} warm-ups; \`load X\` is ` +
      '`node -e "require(X)"`; etcd requests are gRPC calls etcd started during one call.',
    '',
    table,
  ].join('\n');
  return { table, section };
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'bundle', 'dacctl.js'))) {
    throw new Error(`${ROOT}/dist is not built; run npm run bench (it builds first)`);
  }
  const node = nodeBinary();
  const scratch = mkdtempSync(join(tmpdir(), 'dac-bench-'));
  const jobScript = join(scratch, 'job.sh');
  writeFileSync(jobScript, JOB_SCRIPT, { mode: 0o700 });
  let etcd: RunningEtcd | undefined;
  const cleanUp = (): void => {
    if (etcd) stopEtcd(etcd);
    etcd = undefined;
    rmSync(scratch, { recursive: true, force: true });
  };
  for (const [signal, number] of [
    ['SIGINT', 2],
    ['SIGTERM', 15],
  ] as const) {
    process.once(signal, () => {
      cleanUp();
      process.exit(128 + number);
    });
  }
  try {
    etcd = await startEtcd();
    progress(`etcd pid ${etcd.pid} at ${etcd.endpoint}; seeding`);
    const seeded = await seed({ ...PLAN, endpoint: etcd.endpoint }, progress);
    const env: NodeJS.ProcessEnv = {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      ETCDCTL_ENDPOINTS: etcd.endpoint,
      DAC_ETCD_PREFIX: PLAN.prefix,
      DAC_LOG_FILE: 'none',
    };
    const list = commands(node, seeded, jobScript);
    const samples = measure(list, env);
    const requests = await requestsPerCall(list, env, etcd.endpoint);
    const { table, section } = resultSection(list, samples, requests, seeded, node);
    process.stdout.write(`${table}\n`);
    prependResult(RESULTS, section);
    progress(`results added to ${RESULTS}`);
  } finally {
    cleanUp();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
