/**
 * Concurrent steps at production size (#17): a burst of `setup` calls, then of `teardown`
 * calls, each a `dw_wlm_cli` subprocess as Slurm starts them, against a private etcd seeded
 * as cli-latency.ts seeds it (1,000 hosts × 16 bricks, 2,000 sessions); and one `setup` at a
 * time there and on an empty system (the same hosts, no sessions), for the ratio of the two.
 *
 * No dacd runs: a stand-in in this process reports every step it sees asked for as completed,
 * through the registry, as dacd would. Every call must exit 0; failures are counted and their
 * first lines shown. Prints a Markdown table; nothing is written to RESULTS.md.
 *
 * Run with `npm run bench:steps`. `BENCH_BURST` sets the calls per burst (default 50).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EtcdKeystore } from '../src/keystore/etcd-keystore';
import { KeyLayout } from '../src/registry/keys';
import { Registry, type Watch } from '../src/registry/registry';
import { decodeSession } from '../src/registry/session-codec';
import { setupArgs } from '../test/support/dacd-cluster';
import { startEtcd, stopEtcd, type RunningEtcd } from '../test/support/etcd-server';
import { markdownTable, median } from './report';
import { PRODUCTION_PLAN, seed } from './seed';

const ROOT = resolve(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'bin', 'dw_wlm_cli');
const BURST = Number(process.env.BENCH_BURST ?? 50);
const SINGLE_ROUNDS = 7;
const CAPACITY = 'default:1TiB';
const TiB = 1024n ** 4n;

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

/** One CLI call: its wall time in ms and, if it failed, its output's first line. */
function call(args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; failure?: string }> {
  const started = process.hrtime.bigint();
  return new Promise((done) => {
    const child = spawn(CLI, args, { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const line = output.trim().split('\n')[0] ?? '';
      done(code === 0 ? { ms } : { ms, failure: `exit ${code}: ${line}` });
    });
  });
}

/** Report every step asked for as completed, as dacd would once its work is done. */
async function standIn(registry: Registry, store: EtcdKeystore): Promise<Watch> {
  // The revision to watch from, without reading the sessions.
  const { revision } = await store.snapshot([{ prefix: registry.keys.sessionIdCounter() }]);
  return store.watchPrefix(
    registry.keys.sessions(),
    (event) => {
      if (event.type !== 'put') return;
      const session = decodeSession(event.kv);
      if (session.reconciler === null || session.observed?.phase === session.desired) return;
      const phase = session.desired;
      void registry
        .updateSession(session.token, (current) =>
          current.desired === phase && current.observed?.phase !== phase
            ? {
                ...current,
                observed: {
                  phase,
                  status: 'Completed',
                  updatedAt: Math.floor(Date.now() / 1000),
                },
              }
            : current,
        )
        .catch(() => undefined); // torn down meanwhile
    },
    { fromRevision: revision + 1 },
  );
}

const teardownArgs = (token: string, job: string): string[] => [
  '--function',
  'teardown',
  '--token',
  token,
  '--job',
  job,
  '--hurry',
];

interface Burst {
  seconds: number;
  failures: string[];
}

async function burst(
  tokens: string[],
  args: (token: string) => string[],
  env: NodeJS.ProcessEnv,
): Promise<Burst> {
  const started = Date.now();
  const runs = await Promise.all(tokens.map((token) => call(args(token), env)));
  return {
    seconds: (Date.now() - started) / 1000,
    failures: runs.flatMap((run) => (run.failure ? [run.failure] : [])),
  };
}

/** Median wall ms of one setup (then its teardown, untimed) at a time. */
async function singleSetups(label: number, job: string, env: NodeJS.ProcessEnv): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < SINGLE_ROUNDS; i += 1) {
    const token = String(label + i);
    const run = await call(setupArgs(String(token), job, CAPACITY), env);
    if (run.failure) throw new Error(`single setup ${token}: ${run.failure}`);
    times.push(run.ms);
    const down = await call(teardownArgs(token, job), env);
    if (down.failure) throw new Error(`teardown ${token}: ${down.failure}`);
  }
  return median(times.slice(1)); // the first warms the caches
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'dac-steps-'));
  const job = join(scratch, 'job.sh');
  writeFileSync(job, '#!/bin/bash\n#DW jobdw capacity=1TiB access_mode=striped\n', {
    mode: 0o755,
  });
  let etcd: RunningEtcd | undefined;
  const stores: EtcdKeystore[] = [];
  const watches: Watch[] = [];
  try {
    etcd = await startEtcd();
    progress(`etcd pid ${etcd.pid} at ${etcd.endpoint}`);
    const rows: string[][] = [];
    const singles = new Map<string, number>();
    for (const plan of [{ ...PRODUCTION_PLAN, prefix: '/empty/', sessions: 0 }, PRODUCTION_PLAN]) {
      const seeded = await seed({ ...plan, endpoint: etcd.endpoint }, progress);
      progress(`${plan.prefix}: seeded in ${seeded.seconds.toFixed(0)} s`);
      const store = new EtcdKeystore({
        endpoints: [etcd.endpoint],
        prefix: plan.prefix,
        timeoutMs: 10_000,
      });
      stores.push(store);
      const registry = new Registry(store, new KeyLayout(plan.prefix));
      watches.push(await standIn(registry, store));
      const env: NodeJS.ProcessEnv = {
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
        ETCDCTL_ENDPOINTS: etcd.endpoint,
        DAC_ETCD_PREFIX: plan.prefix,
        DAC_LOG_FILE: 'none',
      };
      const size = `${plan.sessions} sessions`;
      singles.set(size, await singleSetups(8_000_000, job, env));
      if (plan.sessions === 0) continue;
      const tokens = Array.from({ length: BURST }, (_, i) => String(9_000_000 + i));
      const setups = await burst(tokens, (t) => setupArgs(t, job, CAPACITY), env);
      const teardowns = await burst(tokens, (t) => teardownArgs(t, job), env);
      // The registry's part alone, without starting a process per call: each call on a client
      // of its own, as each CLI process has.
      const clients = tokens.map(
        () =>
          new EtcdKeystore({ endpoints: [etcd!.endpoint], prefix: plan.prefix, timeoutMs: 3000 }),
      );
      stores.push(...clients);
      const registries = clients.map((client) => new Registry(client, new KeyLayout(plan.prefix)));
      const inProcess = async (work: (registry: Registry, token: string) => Promise<unknown>) => {
        const started = Date.now();
        const outcomes = await Promise.allSettled(tokens.map((t, i) => work(registries[i]!, t)));
        return {
          seconds: (Date.now() - started) / 1000,
          failures: outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : [])),
        };
      };
      const creates = await inProcess((registry, token) =>
        registry.createSession({
          token: `r${token}`,
          kind: 'job',
          owner: { uid: 65534, gid: 65534 },
          pool: 'default',
          requestedBytes: TiB,
        }),
      );
      const releases = await inProcess((registry, token) => registry.releaseSession(`r${token}`));
      for (const [what, result] of [
        ['setup', setups],
        ['teardown', teardowns],
        ['Registry.createSession (in-process)', creates],
        ['Registry.releaseSession (in-process)', releases],
      ] as const) {
        rows.push([
          `${BURST} concurrent \`${what}\` (${size})`,
          result.seconds.toFixed(1),
          (BURST / result.seconds).toFixed(1),
          String(result.failures.length),
        ]);
        for (const failure of result.failures.slice(0, 5)) progress(`${what} failed: ${failure}`);
      }
    }
    for (const [size, ms] of singles) {
      rows.push([`one \`setup\` at a time, median (${size})`, (ms / 1000).toFixed(3), '', '']);
    }
    const [empty, full] = [...singles.values()];
    process.stdout.write(
      `${markdownTable(['what', 'seconds', 'calls/s', 'failed'], rows, [false, true, true, true])}\n` +
        `\nsingle setup at L / on an empty system: ${(full! / empty!).toFixed(2)}×\n`,
    );
  } finally {
    await Promise.all(watches.map((watch) => watch.close()));
    await Promise.all(stores.map((store) => store.close()));
    if (etcd) stopEtcd(etcd);
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
