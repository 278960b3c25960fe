import { ConfigError } from '../../../src/errors/errors';
import { stepDeadlineMs } from '../../../src/lifecycle/deadlines';
import {
  jobPrivatePath,
  jobStripedPath,
  mountRootFromEnv,
  persistentStripedPath,
} from '../../../src/registry/buffer-paths';

describe('stepDeadlineMs', () => {
  it('stops before Slurm default timeouts', () => {
    expect(stepDeadlineMs('setup', {})).toBe(285000);
    expect(stepDeadlineMs('data_in', {})).toBe(86400000 - 60000);
    expect(stepDeadlineMs('pre_run', {})).toBe(285000);
  });
  it('follows the configured timeouts, keeping at least a 2 s margin', () => {
    expect(stepDeadlineMs('teardown', { DAC_OTHER_TIMEOUT: '60' })).toBe(57000);
    expect(stepDeadlineMs('teardown', { DAC_OTHER_TIMEOUT: '20' })).toBe(18000);
    expect(stepDeadlineMs('data_out', { DAC_STAGE_OUT_TIMEOUT: '3600' })).toBe(3600000 - 60000);
    expect(stepDeadlineMs('data_in', { DAC_STAGE_IN_TIMEOUT: '3' })).toBe(1000);
    expect(stepDeadlineMs('data_in', { DAC_STAGE_IN_TIMEOUT: '1' })).toBe(500);
  });
  it('names a bad variable', () => {
    expect(() => stepDeadlineMs('setup', { DAC_OTHER_TIMEOUT: '5m' })).toThrow(
      new ConfigError('DAC_OTHER_TIMEOUT="5m" must be a whole number of seconds'),
    );
  });
});

describe('buffer paths', () => {
  it('are absolute, end with a slash and sit under the mount root', () => {
    expect(jobStripedPath('/mnt/dac', '1234')).toBe('/mnt/dac/job/1234/striped/');
    expect(jobPrivatePath('/mnt/dac', '1234')).toBe('/mnt/dac/job/1234/private/');
    expect(persistentStripedPath('/mnt/dac', 'p1')).toBe('/mnt/dac/persistent/p1/striped/');
  });
  it('read DAC_MOUNT_ROOT, dropping a trailing slash', () => {
    expect(mountRootFromEnv({})).toBe('/mnt/dac');
    expect(mountRootFromEnv({ DAC_MOUNT_ROOT: '/scratch/bb/' })).toBe('/scratch/bb');
  });
  it.each(['relative/dir', '/mnt/../etc', '/mnt/a b', '/mnt/$HOME'])(
    'refuse DAC_MOUNT_ROOT=%s',
    (root) => {
      expect(() => mountRootFromEnv({ DAC_MOUNT_ROOT: root })).toThrow(ConfigError);
    },
  );
});
