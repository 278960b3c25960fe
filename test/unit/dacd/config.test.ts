/** dacd's settings: defaults, data-acc names, and errors that name the variable. */
import { hostname } from 'node:os';
import { dacdConfigFromEnv } from '../../../src/dacd/config';
import { createProvider } from '../../../src/dacd/provider-factory';
import { ConfigError } from '../../../src/errors/errors';

describe('dacdConfigFromEnv', () => {
  it('has defaults for everything', () => {
    expect(dacdConfigFromEnv({})).toEqual({
      hostName: hostname().split('.')[0],
      pool: 'default',
      devices: ['nvme0n1'],
      brickCapacityBytes: 1400n * 1024n ** 3n,
      hostEnabled: true,
      provider: 'local',
      localRoot: '/var/lib/dac/bricks',
      mountRoot: '/mnt/dac',
      leaseTtlSeconds: 10,
      eventRetentionHours: 168,
      ansibleDir: '/var/lib/dac/ansible',
      faults: [],
    });
  });

  it('reads the data-acc variables', () => {
    const config = dacdConfigFromEnv({
      DAC_HOST_NAME: 'dac-07',
      DAC_POOL_NAME: 'fast',
      DAC_BRICK_COUNT: '3',
      DAC_BRICK_CAPACITY_GB: '2',
      DAC_BRICK_ADDRESS_PATTERN: 'loop%d',
      DAC_HOST_ENABLED: 'no',
      DAC_FS_PROVIDER: 'lustre',
      DAC_MOUNT_ROOT: '/dac/mnt/',
      DAC_FAULT_INJECTION: 'delete:*:fail',
    });
    expect(config).toMatchObject({
      hostName: 'dac-07',
      pool: 'fast',
      devices: ['loop0', 'loop1', 'loop2'],
      brickCapacityBytes: 2n * 1024n ** 3n,
      hostEnabled: false,
      provider: 'lustre',
      mountRoot: '/dac/mnt',
      faults: [{ operation: 'delete', token: '*', action: 'fail' }],
    });
  });

  it('serves metrics only when DAC_METRICS_ADDRESS names a host and port', () => {
    expect(dacdConfigFromEnv({}).metricsAddress).toBeUndefined();
    expect(dacdConfigFromEnv({ DAC_METRICS_ADDRESS: '127.0.0.1:9464' }).metricsAddress).toBe(
      '127.0.0.1:9464',
    );
    expect(dacdConfigFromEnv({ DAC_METRICS_ADDRESS: '[::1]:9464' }).metricsAddress).toBe(
      '[::1]:9464',
    );
  });

  it.each([
    [{ DAC_BRICK_COUNT: 'two' }, 'DAC_BRICK_COUNT="two": must be a whole number'],
    [{ DAC_BRICK_COUNT: '0' }, 'DAC_BRICK_COUNT="0": must be between 1 and 1024'],
    [
      { DAC_EVENT_RETENTION_HOURS: '0' },
      'DAC_EVENT_RETENTION_HOURS="0": must be between 1 and 8784',
    ],
    [{ DAC_EVENT_RETENTION_HOURS: '1w' }, 'DAC_EVENT_RETENTION_HOURS="1w": must be a whole number'],
    [{ DAC_FS_PROVIDER: 'zfs' }, 'DAC_FS_PROVIDER="zfs"'],
    [{ DAC_LOCAL_ROOT: 'bricks' }, 'DAC_LOCAL_ROOT="bricks": must be an absolute path'],
    [{ DAC_MOUNT_ROOT: '/mnt/a b' }, 'DAC_MOUNT_ROOT="/mnt/a b" must be an absolute path'],
    [{ DAC_BRICK_ADDRESS_PATTERN: 'nvme' }, 'DAC_BRICK_ADDRESS_PATTERN="nvme": must contain %d'],
    [{ DAC_HOST_ENABLED: 'maybe' }, 'DAC_HOST_ENABLED="maybe": must be true or false'],
    [{ DAC_FAULT_INJECTION: 'wipe:1:fail' }, 'DAC_FAULT_INJECTION entry "wipe:1:fail"'],
    [
      { DAC_METRICS_ADDRESS: '9464' },
      'DAC_METRICS_ADDRESS="9464": must be host:port, e.g. 127.0.0.1:9464',
    ],
    [
      { DAC_METRICS_ADDRESS: 'localhost:70000' },
      'DAC_METRICS_ADDRESS="localhost:70000": must be host:port',
    ],
  ])('rejects %j naming the variable', (env, message) => {
    expect(() => dacdConfigFromEnv(env)).toThrow(ConfigError);
    expect(() => dacdConfigFromEnv(env)).toThrow(message);
  });
});

describe('createProvider', () => {
  it.each([
    [{}, 'local'],
    [{ DAC_FS_PROVIDER: 'lustre' }, 'lustre'],
    [{ DAC_FS_PROVIDER: 'beegfs' }, 'beegfs'],
    [{ DAC_FAULT_INJECTION: 'create:1:stall' }, 'local+faults'],
  ])('%j gives the %s provider', (env, name) => {
    expect(createProvider(dacdConfigFromEnv(env)).provider.name).toBe(name);
  });
});
