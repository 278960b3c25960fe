/**
 * A small burst-buffer system for tests: the test etcd under a fresh prefix, two real dacd
 * processes (local provider) with bricks and job paths in a temporary directory, and the CLI
 * binary configured to match. Jobs belong to `nobody`, so staging really drops privileges.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EtcdKeystore } from '../../src/keystore/etcd-keystore';
import type { Registry } from '../../src/registry/registry';
import { runBinary, type CliRun } from './cli';
import { DacdProcess, type DacdOptions } from './dacd-process';
import { openRegistry } from './registry-fixture';

export const NOBODY = { uid: 65534, gid: 65534 };

export class DacdCluster {
  readonly daemons = new Map<string, DacdProcess>();

  private constructor(
    readonly store: EtcdKeystore,
    readonly registry: Registry,
    readonly prefix: string,
    /** Test directory (mode 0755, so `nobody` can reach what is below). */
    readonly dir: string,
    /** Options every dacd of this cluster starts with (a restart included). */
    private readonly defaults: Partial<DacdOptions>,
  ) {}

  get localRoot(): string {
    return join(this.dir, 'bricks');
  }

  get mountRoot(): string {
    return join(this.dir, 'mnt');
  }

  static async start(
    label: string,
    hosts: string[] = ['dac1', 'dac2'],
    options: Partial<DacdOptions> = {},
  ): Promise<DacdCluster> {
    const { store, registry, prefix } = openRegistry(label, options.endpoints);
    const dir = mkdtempSync(join(tmpdir(), `dac-${label}-`));
    chmodSync(dir, 0o755);
    const cluster = new DacdCluster(store, registry, prefix, dir, options);
    for (const host of hosts) await cluster.startDacd(host, options);
    return cluster;
  }

  async startDacd(host: string, options: Partial<DacdOptions> = {}): Promise<DacdProcess> {
    const dacd = await DacdProcess.start(
      {
        prefix: this.prefix,
        host,
        localRoot: this.localRoot,
        mountRoot: this.mountRoot,
        logFile: join(this.dir, `${host}.log`),
        ...this.defaults,
        ...options,
      },
      this.registry,
    );
    this.daemons.set(host, dacd);
    return dacd;
  }

  dacd(host: string): DacdProcess {
    const dacd = this.daemons.get(host);
    if (!dacd) throw new Error(`no dacd ${host}`);
    return dacd;
  }

  /** Run dw_wlm_cli with this system's etcd prefix and mount root (SIGKILLed after `killAfterMs`). */
  cli(args: string[], env: NodeJS.ProcessEnv = {}, killAfterMs?: number): Promise<CliRun> {
    const endpoints = this.defaults.endpoints;
    return runBinary('dw_wlm_cli', args, {
      prefix: this.prefix,
      env: {
        DAC_MOUNT_ROOT: this.mountRoot,
        ...(endpoints ? { ETCDCTL_ENDPOINTS: endpoints } : {}),
        ...env,
      },
      ...(killAfterMs !== undefined ? { killAfterMs } : {}),
    });
  }

  /** Write a file into the test directory (owned by root, readable by all). */
  file(name: string, text: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, text);
    return path;
  }

  /** A directory in the test directory owned by `nobody`, for stage-out destinations. */
  nobodyDir(name: string): string {
    const path = join(this.dir, name);
    spawnSync('mkdir', ['-p', path]);
    chownSync(path, NOBODY.uid, NOBODY.gid);
    return path;
  }

  /** What is left on disk: volumes on the bricks and links under the mount root. */
  leftovers(): string[] {
    const found: string[] = [];
    const list = (path: string) => {
      try {
        return readdirSync(path);
      } catch {
        return [];
      }
    };
    for (const host of list(this.localRoot)) {
      for (const device of list(join(this.localRoot, host))) {
        for (const entry of list(join(this.localRoot, host, device))) {
          found.push(`bricks/${host}/${device}/${entry}`);
        }
      }
    }
    for (const kind of ['job', 'persistent']) {
      for (const entry of list(join(this.mountRoot, kind))) found.push(`mnt/${kind}/${entry}`);
    }
    return found;
  }

  /** The daemons' logs, for a failing test's message. */
  logs(): string {
    return [...this.daemons.entries()]
      .map(([host, dacd]) => `--- ${host}\n${dacd.log().split('\n').slice(-40).join('\n')}`)
      .join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all([...this.daemons.values()].map((d) => d.stop()));
    await this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `dw_wlm_cli` arguments of Slurm's `setup` for a job of `nobody`. */
export function setupArgs(token: string, job: string, capacity: string): string[] {
  return [
    '--function',
    'setup',
    '--token',
    token,
    '--job',
    job,
    '--caller',
    'SLURM',
    '--user',
    String(NOBODY.uid),
    '--groupid',
    String(NOBODY.gid),
    '--capacity',
    capacity,
  ];
}

/** Run a program as `nobody` (argv, no shell); returns stdout or throws with stderr. */
export function asNobody(program: string, args: string[]): string {
  const result = spawnSync(program, args, { uid: NOBODY.uid, gid: NOBODY.gid, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${program} ${args.join(' ')} as nobody failed: ${result.stderr}`);
  }
  return result.stdout;
}
