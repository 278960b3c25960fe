/**
 * Real dacd daemons for tests: `bin/dacd` as a separate process against the test etcd, with
 * its bricks and mount root in a test directory. Started and stopped (SIGTERM) or killed
 * (SIGKILL) by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from '../../src/registry/registry';
import { BIN } from './cli';

export interface DacdOptions {
  prefix: string;
  host: string;
  /** Directory for this test's bricks (`DAC_LOCAL_ROOT`) ... */
  localRoot: string;
  /** ... and job paths (`DAC_MOUNT_ROOT`). */
  mountRoot: string;
  /** Where the daemon logs (kept for failing tests). */
  logFile: string;
  pool?: string;
  brickCount?: number;
  brickCapacityGb?: number;
  leaseTtlSeconds?: number;
  /** `DAC_FAULT_INJECTION`. */
  faults?: string;
  /** `ETCDCTL_ENDPOINTS`; default the test etcd. */
  endpoints?: string;
  /** More environment (e.g. `NODE_OPTIONS` with a `--require` hook, systemd's variables). */
  env?: Record<string, string>;
}

export class DacdProcess {
  private stderrText = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly options: DacdOptions,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Start dacd and wait until its host is alive in etcd. */
  static async start(options: DacdOptions, registry: Registry): Promise<DacdProcess> {
    // A restarted daemon appends to the same log: only look at what this one writes.
    const logStart = readLog(options.logFile).length;
    const dacd = DacdProcess.spawn(options);
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
      if (dacd.exitInfo) {
        throw new Error(`dacd ${options.host} exited at start (${dacd.stderr.trim()})`);
      }
      // Alive and done with its start-up sweep once the log says it reconciles.
      const ownLog = dacd.log().slice(logStart);
      if ((await registry.hostAlive(options.host)).alive && ownLog.includes('"reconciling"')) {
        return dacd;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    dacd.child.kill('SIGKILL');
    throw new Error(`dacd ${options.host} did not come alive within 15 s:\n${dacd.log()}`);
  }

  /** Start dacd without waiting for anything. */
  static spawn(options: DacdOptions): DacdProcess {
    const child = spawn(join(BIN, 'dacd'), [], {
      cwd: '/',
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
        ETCDCTL_ENDPOINTS: options.endpoints ?? process.env.ETCDCTL_ENDPOINTS,
        DAC_ETCD_PREFIX: options.prefix,
        DAC_HOST_NAME: options.host,
        DAC_POOL_NAME: options.pool ?? 'default',
        DAC_BRICK_COUNT: String(options.brickCount ?? 2),
        DAC_BRICK_CAPACITY_GB: String(options.brickCapacityGb ?? 1),
        DAC_LOCAL_ROOT: options.localRoot,
        DAC_MOUNT_ROOT: options.mountRoot,
        DAC_LEASE_TTL_SECONDS: String(options.leaseTtlSeconds ?? 10),
        DAC_FAULT_INJECTION: options.faults ?? '',
        DAC_LOG_FILE: options.logFile,
        DAC_LOG_LEVEL: 'debug',
        ...options.env,
      },
    });
    const dacd = new DacdProcess(options, child);
    child.stderr!.on('data', (chunk: Buffer) => (dacd.stderrText += chunk.toString()));
    return dacd;
  }

  /** What the daemon wrote on stderr so far. */
  get stderr(): string {
    return this.stderrText;
  }

  /** The daemon's log so far. */
  log(): string {
    return readLog(this.options.logFile);
  }

  /** SIGTERM, then wait for the exit. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exitInfo) this.child.kill('SIGTERM');
    return this.exited;
  }

  /** SIGKILL (a crash), then wait for the exit. */
  async kill(): Promise<void> {
    if (!this.exitInfo) this.child.kill('SIGKILL');
    await this.exited;
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
