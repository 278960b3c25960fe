/**
 * dacd settings from data-acc compatible environment variables, validated by one zod schema.
 * A bad value stops start-up with a message naming the variable.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError } from '../errors/errors';
import { parseFaults, type Fault } from '../pfsprovider/fault-provider';
import { mountRootFromEnv } from '../registry/buffer-paths';
import { DeviceName, HostName, PoolName } from '../registry/model';

const GiB = 1024n ** 3n;

const flag = z.enum(['true', 'false', '1', '0', 'yes', 'no'], {
  error: 'must be true or false',
});
const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]+$/, 'must be a whole number')
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`);

const DacdEnv = z.object({
  DAC_HOST_NAME: HostName.optional(),
  DAC_POOL_NAME: PoolName.default('default'),
  DAC_BRICK_COUNT: wholeNumber(1, 1024).default(1),
  DAC_BRICK_CAPACITY_GB: wholeNumber(1, 1024 * 1024).default(1400),
  DAC_BRICK_ADDRESS_PATTERN: z
    .string()
    .refine((p) => (p.match(/%d/g) ?? []).length === 1, 'must contain %d exactly once')
    .default('nvme%dn1'),
  DAC_HOST_ENABLED: flag.default('true'),
  DAC_FS_PROVIDER: z.enum(['local', 'lustre', 'beegfs']).default('local'),
  DAC_LOCAL_ROOT: z
    .string()
    .startsWith('/', 'must be an absolute path')
    .default('/var/lib/dac/bricks'),
  DAC_LEASE_TTL_SECONDS: wholeNumber(2, 300).default(10),
  DAC_EVENT_RETENTION_HOURS: wholeNumber(1, 24 * 366).default(168),
  DAC_ANSIBLE_DIR: z
    .string()
    .startsWith('/', 'must be an absolute path')
    .default('/var/lib/dac/ansible'),
  DAC_FAULT_INJECTION: z.string().default(''),
});

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
}

/** Read dacd's settings; throws ConfigError naming the first bad variable. */
export function dacdConfigFromEnv(env: NodeJS.ProcessEnv = process.env): DacdConfig {
  const parsed = DacdEnv.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0]);
    throw new ConfigError(`${variable}=${JSON.stringify(env[variable] ?? '')}: ${issue.message}`);
  }
  const vars = parsed.data;
  const devices = Array.from({ length: vars.DAC_BRICK_COUNT }, (_, i) =>
    vars.DAC_BRICK_ADDRESS_PATTERN.replace('%d', String(i)),
  );
  const badDevice = devices.find((d) => !DeviceName.safeParse(d).success);
  if (badDevice !== undefined) {
    throw new ConfigError(
      `DAC_BRICK_ADDRESS_PATTERN gives device name "${badDevice}"; use letters, digits, . _ -`,
    );
  }
  const host = vars.DAC_HOST_NAME ?? hostname().split('.')[0]!;
  if (!HostName.safeParse(host).success) {
    throw new ConfigError(`host name "${host}" cannot be used; set DAC_HOST_NAME`);
  }
  return {
    hostName: host,
    pool: vars.DAC_POOL_NAME,
    devices,
    brickCapacityBytes: BigInt(vars.DAC_BRICK_CAPACITY_GB) * GiB,
    hostEnabled: ['true', '1', 'yes'].includes(vars.DAC_HOST_ENABLED),
    provider: vars.DAC_FS_PROVIDER,
    localRoot: vars.DAC_LOCAL_ROOT,
    // Validated and normalised exactly as the CLI does it: both must compute the same paths.
    mountRoot: mountRootFromEnv(env),
    leaseTtlSeconds: vars.DAC_LEASE_TTL_SECONDS,
    eventRetentionHours: vars.DAC_EVENT_RETENTION_HOURS,
    ansibleDir: vars.DAC_ANSIBLE_DIR,
    faults: parseFaults(vars.DAC_FAULT_INJECTION),
  };
}
