/**
 * dacd settings from data-acc compatible environment variables. A bad value stops start-up with
 * a message naming the variable. Checked by hand, not with zod: zod would hold about 11 MiB of a
 * daemon that runs on every storage host for the few checks below (docs/performance.md).
 */
import { hostname } from 'node:os';
import { ConfigError } from '../errors/errors';
import { parseFaults, type Fault } from '../pfsprovider/fault-provider';
import { mountRootFromEnv } from '../registry/buffer-paths';
import { DEVICE_NAME, HOST_NAME, POOL_NAME, type Pattern } from '../registry/record-patterns';
import { splitAddress } from '../metrics/endpoint';

const GiB = 1024n ** 3n;
const PROVIDERS = ['local', 'lustre', 'beegfs'] as const;
const FLAGS: Record<string, boolean> = {
  true: true,
  false: false,
  1: true,
  0: false,
  yes: true,
  no: false,
};

/** Reads the variables of one environment; each check throws ConfigError naming its variable. */
class EnvReader {
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  private fail(name: string, message: string): never {
    throw new ConfigError(`${name}=${JSON.stringify(this.env[name] ?? '')}: ${message}`);
  }

  text(name: string, fallback: string, check?: (value: string) => string | undefined): string {
    const value = this.env[name];
    if (value === undefined) return fallback;
    const problem = check?.(value);
    if (problem !== undefined) this.fail(name, problem);
    return value;
  }

  matching(name: string, pattern: Pattern, fallback: string): string {
    return this.text(name, fallback, (value) =>
      pattern.regex.test(value) ? undefined : pattern.message,
    );
  }

  absolutePath(name: string, fallback: string): string {
    return this.text(name, fallback, (value) =>
      value.startsWith('/') ? undefined : 'must be an absolute path',
    );
  }

  wholeNumber(name: string, min: number, max: number, fallback: number): number {
    const text = this.text(name, String(fallback), (value) =>
      /^[0-9]+$/.test(value) ? undefined : 'must be a whole number',
    );
    const n = Number(text);
    if (n < min || n > max) this.fail(name, `must be between ${min} and ${max}`);
    return n;
  }

  flag(name: string, fallback: boolean): boolean {
    const text = this.text(name, String(fallback), (value) =>
      Object.hasOwn(FLAGS, value) ? undefined : 'must be true or false',
    );
    return FLAGS[text]!;
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    return this.text(name, fallback, (value) =>
      (values as readonly string[]).includes(value)
        ? undefined
        : `must be one of ${values.join(', ')}`,
    ) as T;
  }
}

export interface DacdConfig {
  hostName: string;
  pool: string;
  /** Device names of the bricks, from the address pattern. */
  devices: string[];
  /** Bytes per brick (`DAC_BRICK_CAPACITY_GB` GiB, as data-acc counted). */
  brickCapacityBytes: bigint;
  hostEnabled: boolean;
  provider: 'local' | 'lustre' | 'beegfs';
  localRoot: string;
  mountRoot: string;
  leaseTtlSeconds: number;
  /** How long `dacctl events` history is kept (hours). */
  eventRetentionHours: number;
  /** Where the lustre/beegfs providers keep each session's Ansible inventory. */
  ansibleDir: string;
  /** Faults to inject (tests only; empty in production). */
  faults: Fault[];
  /** `host:port` to serve Prometheus metrics on; undefined: no metrics (the default). */
  metricsAddress?: string;
}

/** Read dacd's settings; throws ConfigError naming the first bad variable. */
export function dacdConfigFromEnv(env: NodeJS.ProcessEnv = process.env): DacdConfig {
  const vars = new EnvReader(env);
  const explicitHost =
    env.DAC_HOST_NAME === undefined ? undefined : vars.matching('DAC_HOST_NAME', HOST_NAME, '');
  const pool = vars.matching('DAC_POOL_NAME', POOL_NAME, 'default');
  const brickCount = vars.wholeNumber('DAC_BRICK_COUNT', 1, 1024, 1);
  const capacityGb = vars.wholeNumber('DAC_BRICK_CAPACITY_GB', 1, 1024 * 1024, 1400);
  const pattern = vars.text('DAC_BRICK_ADDRESS_PATTERN', 'nvme%dn1', (value) =>
    (value.match(/%d/g) ?? []).length === 1 ? undefined : 'must contain %d exactly once',
  );
  const hostEnabled = vars.flag('DAC_HOST_ENABLED', true);
  const provider = vars.oneOf('DAC_FS_PROVIDER', PROVIDERS, 'local');
  const localRoot = vars.absolutePath('DAC_LOCAL_ROOT', '/var/lib/dac/bricks');
  const leaseTtlSeconds = vars.wholeNumber('DAC_LEASE_TTL_SECONDS', 2, 300, 10);
  const eventRetentionHours = vars.wholeNumber('DAC_EVENT_RETENTION_HOURS', 1, 24 * 366, 168);
  const ansibleDir = vars.absolutePath('DAC_ANSIBLE_DIR', '/var/lib/dac/ansible');
  const faults = vars.text('DAC_FAULT_INJECTION', '');
  const metricsAddress = vars.text('DAC_METRICS_ADDRESS', '', (value) => {
    try {
      splitAddress(value);
      return undefined;
    } catch {
      return 'must be host:port, e.g. 127.0.0.1:9464';
    }
  });

  const devices = Array.from({ length: brickCount }, (_, i) => pattern.replace('%d', String(i)));
  const badDevice = devices.find((d) => !DEVICE_NAME.regex.test(d));
  if (badDevice !== undefined) {
    throw new ConfigError(
      `DAC_BRICK_ADDRESS_PATTERN gives device name "${badDevice}"; use letters, digits, . _ -`,
    );
  }
  const host = explicitHost ?? hostname().split('.')[0]!;
  if (!HOST_NAME.regex.test(host)) {
    throw new ConfigError(`host name "${host}" cannot be used; set DAC_HOST_NAME`);
  }
  return {
    hostName: host,
    pool,
    devices,
    brickCapacityBytes: BigInt(capacityGb) * GiB,
    hostEnabled,
    provider,
    localRoot,
    // Validated and normalised exactly as the CLI does it: both must compute the same paths.
    mountRoot: mountRootFromEnv(env),
    leaseTtlSeconds,
    eventRetentionHours,
    ansibleDir,
    faults: parseFaults(faults),
    ...(metricsAddress !== '' ? { metricsAddress } : {}),
  };
}
