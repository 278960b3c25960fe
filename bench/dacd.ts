/**
 * dacd benchmark with the local provider: real etcd, two real dacd processes, real files.
 *
 * 1. Setup-to-ready latency: from the registry write a `setup` makes (session recorded with
 *    desired Setup) to dacd's observed `Setup Completed`, seen by an etcd watch, as the CLI
 *    waits for it. p50/p99 over BENCH_SETUPS sessions (default 200), each torn down after.
 *    Also the wall time of the whole `dw_wlm_cli --function setup` subprocess, for context.
 * 2. Stage-in throughput: a tree (many small files and a few large ones) staged into a job
 *    buffer as `nobody` (data_in through the registry, dacd's stager copies), against `cp -a` of
 *    the same tree on the same disk in the same run, interleaved (alternating which goes first, `sync` before each),
 *    BENCH_STAGE_ROUNDS rounds (default 4). Ratio = cp -a time / stage-in time (target ≥ 0.8).
 *
 * Run with `npm run bench:dacd`. Results are added to bench/RESULTS.md.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { etcdConfigFromEnv } from '../src/config/etcd-config';
import { EtcdKeystore } from '../src/keystore/etcd-keystore';
import { requestPhase } from '../src/lifecycle/request-phase';
import { teardownSession } from '../src/lifecycle/teardown';
import { waitForPhase } from '../src/lifecycle/wait-for-phase';
import { KeyLayout } from '../src/registry/keys';
import { Registry } from '../src/registry/registry';
import { startEtcd, stopEtcd, type RunningEtcd } from '../test/support/etcd-server';
import { machineFacts, markdownTable, median, percentile, prependResult } from './report';

const ROOT = resolve(__dirname, '..', '..', '..');
const RESULTS = join(ROOT, 'bench', 'RESULTS.md');
const SETUPS = Number(process.env.BENCH_SETUPS ?? 200);
const STAGE_ROUNDS = Number(process.env.BENCH_STAGE_ROUNDS ?? 4);
const PREFIX = '/bench-dacd/';
const NOBODY = { uid: 65534, gid: 65534 };
const WAIT = { deadlineMs: 600_000, hostGraceMs: 30_000 };
const SMALL_FILES = 4000;
const SMALL_BYTES = 64 * 1024;
const LARGE_FILES = 4;
const LARGE_BYTES = 256 * 1024 * 1024;

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

function nodeBinary(): string {
  const candidates = [process.env.DAC_NODE, '/usr/bin/node', '/usr/local/bin/node'];
  return candidates.find((c): c is string => !!c && existsSync(c)) ?? process.execPath;
}

function startDacd(env: NodeJS.ProcessEnv, host: string, dir: string): ChildProcess {
  return spawn(join(ROOT, 'bin', 'dacd'), [], {
    cwd: '/',
    stdio: 'ignore',
    env: {
      ...env,
      DAC_HOST_NAME: host,
      DAC_BRICK_COUNT: '8',
      DAC_BRICK_CAPACITY_GB: '16',
      DAC_LOCAL_ROOT: join(dir, 'bricks'),
      DAC_MOUNT_ROOT: join(dir, 'mnt'),
      DAC_LOG_FILE: join(dir, `${host}.log`),
    },
  });
}

/** The tree to stage: SMALL_FILES files in 40 directories and LARGE_FILES large files. */
function makeTree(root: string): { files: number; bytes: number } {
  const block = Buffer.alloc(1024 * 1024, 'dac-bench-');
  for (let i = 0; i < SMALL_FILES; i += 1) {
    const dir = join(root, `d${i % 40}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}`), block.subarray(0, SMALL_BYTES));
  }
  for (let i = 0; i < LARGE_FILES; i += 1) {
    const path = join(root, `large${i}`);
    writeFileSync(path, '');
    for (let written = 0; written < LARGE_BYTES; written += block.length) {
      writeFileSync(path, block, { flag: 'a' });
    }
  }
  return {
    files: SMALL_FILES + LARGE_FILES,
    bytes: SMALL_FILES * SMALL_BYTES + LARGE_FILES * LARGE_BYTES,
  };
}

async function untilAlive(registry: Registry, hosts: string[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (const host of hosts) {
    while (!(await registry.hostAlive(host)).alive) {
      if (Date.now() > deadline) throw new Error(`dacd ${host} did not come alive`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function setupLatency(registry: Registry): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < SETUPS; i += 1) {
    const token = String(100_000 + i);
    const started = process.hrtime.bigint();
    await registry.createSession({
      token,
      kind: 'job',
      owner: NOBODY,
      pool: 'default',
      requestedBytes: 16n * 1024n ** 3n,
    });
    await waitForPhase(registry, token, 'Setup', WAIT);
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    await teardownSession(registry, token, { ...WAIT, hurry: true });
    if ((i + 1) % 50 === 0) progress(`setup ${i + 1}/${SETUPS}`);
  }
  return samples;
}

function cliSetupWall(env: NodeJS.ProcessEnv, dir: string, registry: Registry): Promise<number[]> {
  const job = join(dir, 'job.sh');
  writeFileSync(job, '#!/bin/bash\n#DW jobdw capacity=16GiB\n');
  const samples: number[] = [];
  return (async () => {
    for (let i = 0; i < 20; i += 1) {
      const token = String(200_000 + i);
      const started = process.hrtime.bigint();
      const run = spawnSync(
        join(ROOT, 'bin', 'dw_wlm_cli'),
        ['--function', 'setup', '--token', token, '--job', job, '--caller', 'SLURM'].concat([
          '--user',
          String(NOBODY.uid),
          '--groupid',
          String(NOBODY.gid),
          '--capacity',
          'default:16GiB',
        ]),
        { env, cwd: '/', encoding: 'utf8' },
      );
      if (run.status !== 0) throw new Error(`setup failed: ${run.stdout}${run.stderr}`);
      samples.push(Number(process.hrtime.bigint() - started) / 1e6);
      await teardownSession(registry, token, { ...WAIT, hurry: true });
    }
    return samples;
  })();
}

/** Flush dirty pages, so a measurement does not pay for the previous one's writeback. */
function sync(): void {
  spawnSync('sync');
}

async function timeCp(source: string, scratch: string, round: number): Promise<number> {
  const copy = join(scratch, `cp-${round}`);
  sync();
  const started = process.hrtime.bigint();
  const cp = spawnSync('cp', ['-a', source, copy]);
  if (cp.status !== 0) throw new Error(`cp -a failed: ${String(cp.stderr)}`);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  rmSync(copy, { recursive: true, force: true });
  return ms;
}

async function timeStageIn(registry: Registry, source: string, round: number): Promise<number> {
  const token = String(300_000 + round);
  await registry.createSession({
    token,
    kind: 'job',
    owner: NOBODY,
    pool: 'default',
    requestedBytes: 16n * 1024n ** 3n,
    stageIn: [{ source, destination: '$DW_JOB_STRIPED/data', type: 'directory' }],
  });
  await waitForPhase(registry, token, 'Setup', WAIT);
  sync();
  const started = process.hrtime.bigint();
  await requestPhase(registry, token, 'DataIn', WAIT);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await teardownSession(registry, token, { ...WAIT, hurry: true });
  return ms;
}

/** One round of each, alternating which goes first. */
async function stageRound(
  registry: Registry,
  source: string,
  scratch: string,
  round: number,
): Promise<{ cp: number; stage: number }> {
  if (round % 2 === 0) {
    const cp = await timeCp(source, scratch, round);
    return { cp, stage: await timeStageIn(registry, source, round) };
  }
  const stage = await timeStageIn(registry, source, round);
  return { cp: await timeCp(source, scratch, round), stage };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: dacd stages as nobody');
  const node = nodeBinary();
  const scratch = mkdtempSync(join(tmpdir(), 'dac-bench-dacd-'));
  chmodSync(scratch, 0o755);
  let etcd: RunningEtcd | undefined;
  const daemons: ChildProcess[] = [];
  const cleanUp = () => {
    for (const d of daemons) d.kill('SIGKILL');
    if (etcd) stopEtcd(etcd);
    etcd = undefined;
    rmSync(scratch, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanUp();
    process.exit(130);
  });
  let store: EtcdKeystore | undefined;
  try {
    etcd = await startEtcd();
    const env: NodeJS.ProcessEnv = {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      ETCDCTL_ENDPOINTS: etcd.endpoint,
      DAC_ETCD_PREFIX: PREFIX,
      DAC_LOG_FILE: 'none',
      DAC_MOUNT_ROOT: join(scratch, 'mnt'),
    };
    store = new EtcdKeystore(etcdConfigFromEnv(env));
    const registry = new Registry(store, new KeyLayout(PREFIX));
    for (const host of ['bench1', 'bench2']) daemons.push(startDacd(env, host, scratch));
    await untilAlive(registry, ['bench1', 'bench2']);

    progress(`setup-to-ready, ${SETUPS} sessions`);
    const setup = await setupLatency(registry);
    const wall = await cliSetupWall(env, scratch, registry);

    progress('making the stage-in tree');
    const source = join(scratch, 'source');
    const tree = makeTree(source);
    const rounds: { cp: number; stage: number }[] = [];
    for (let round = 0; round < STAGE_ROUNDS; round += 1) {
      rounds.push(await stageRound(registry, source, scratch, round));
      progress(`stage-in round ${round + 1}/${STAGE_ROUNDS}`);
    }

    const ms = (v: number) => v.toFixed(1);
    const mbps = (bytes: number, msTaken: number) =>
      `${(bytes / 1e6 / (msTaken / 1000)).toFixed(0)} MB/s`;
    const cpMedian = median(rounds.map((r) => r.cp));
    const stageMedian = median(rounds.map((r) => r.stage));
    const facts = machineFacts(node, process.env.ETCD_BINARY ?? 'etcd');
    const table = [
      markdownTable(
        ['measure', 'p50', 'p99', 'samples'],
        [
          [
            'setup → dacd observed (registry write to watch event)',
            `${ms(median(setup))} ms`,
            `${ms(percentile(setup, 0.99))} ms`,
            String(setup.length),
          ],
          [
            '`dw_wlm_cli --function setup`, whole subprocess',
            `${ms(median(wall))} ms`,
            `${ms(percentile(wall, 0.99))} ms`,
            String(wall.length),
          ],
        ],
        [false, true, true, true],
      ),
      '',
      markdownTable(
        ['stage-in of the tree', 'median time', 'throughput'],
        [
          ['`cp -a` (root)', `${ms(cpMedian)} ms`, mbps(tree.bytes, cpMedian)],
          ['dacd stage-in (as nobody)', `${ms(stageMedian)} ms`, mbps(tree.bytes, stageMedian)],
          [
            'ratio (cp -a time / stage-in time)',
            `**${(cpMedian / stageMedian).toFixed(2)}×**`,
            'target ≥ 0.8×',
          ],
        ],
        [false, true, true],
      ),
    ].join('\n');
    const section = [
      `## dacd (local provider), ${new Date().toISOString().slice(0, 10)}`,
      '',
      `Machine: ${facts.cpus} CPUs (${facts.model}), ${facts.memory}, ${facts.kernel}, node ${facts.node}, etcd ${facts.etcd}.`,
      `Two dacd, 8 bricks of 16 GiB each; stage-in tree: ${tree.files} files, ${(tree.bytes / 1e6).toFixed(0)} MB (${SMALL_FILES} × ${SMALL_BYTES / 1024} KiB in 40 directories + ${LARGE_FILES} × ${LARGE_BYTES / 1024 / 1024} MiB), ${STAGE_ROUNDS} rounds alternating which goes first, \`sync\` before each, same disk, source in the page cache for both.`,
      '',
      table,
    ].join('\n');
    process.stdout.write(`${table}\n`);
    prependResult(RESULTS, section);
    progress(`results added to ${RESULTS}`);
  } finally {
    await store?.close();
    cleanUp();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
