/**
 * Bad settings stop the programs with one line naming the variable, through the real binaries:
 * the CLI (as Slurm runs it) and dacd. Nothing is accepted silently.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBinary } from '../../support/cli';
import { uniquePrefix } from '../../support/test-etcd';

const prefix = uniquePrefix('bad-settings');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dac-bad-settings-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function dacd(env: NodeJS.ProcessEnv) {
  return runBinary('dacd', [], {
    prefix,
    logFile: join(dir, 'dacd.log'),
    env: {
      DAC_HOST_NAME: 'bad1',
      DAC_LOCAL_ROOT: join(dir, 'bricks'),
      DAC_MOUNT_ROOT: join(dir, 'mnt'),
      ...env,
    },
  });
}

describe('bad settings', () => {
  it('DAC_LOG_LEVEL that names no level stops a Slurm call with one line', async () => {
    const run = await runBinary('dw_wlm_cli', ['--function', 'pools'], {
      prefix,
      env: { DAC_LOG_LEVEL: 'loud' },
    });
    expect(run).toMatchObject({
      output:
        'DAC_LOG_LEVEL="loud" is not a log level; use one of trace, debug, info, warn, error, ' +
        'fatal, silent\n',
      code: 4,
    });
  });

  it('DAC_HOST_GRACE_SECONDS that is no number stops a step call with one line', async () => {
    const run = await runBinary('dw_wlm_cli', ['--function', 'data_in', '--token', '1'], {
      prefix,
      env: { DAC_HOST_GRACE_SECONDS: 'abc' },
    });
    expect(run).toMatchObject({
      output: 'DAC_HOST_GRACE_SECONDS="abc" must be a whole number of seconds\n',
      code: 4,
    });
  });

  it('dacd refuses a DAC_LOG_LEVEL that names no level', async () => {
    const run = await dacd({ DAC_LOG_LEVEL: 'loud' });
    expect(run.code).toBe(4);
    expect(run.stderr).toBe(
      'dacd: DAC_LOG_LEVEL="loud" is not a log level; use one of trace, debug, info, warn, ' +
        'error, fatal, silent\n',
    );
  });

  it('dacd refuses a log file it cannot write, rather than run without logs', async () => {
    const run = await runBinary('dacd', [], {
      prefix,
      logFile: dir, // a directory
      env: { DAC_HOST_NAME: 'bad1', DAC_LOCAL_ROOT: join(dir, 'bricks') },
    });
    expect(run.code).toBe(4);
    expect(run.stderr).toBe(
      `dacd: DAC_LOG_FILE=${JSON.stringify(dir)} cannot be opened for writing (EISDIR); ` +
        'name a writable file, or none for no log\n',
    );
  });

  it('dacd names a bad lease TTL', async () => {
    const run = await dacd({ DAC_LEASE_TTL_SECONDS: 'abc' });
    expect(run.code).toBe(4);
    expect(run.stderr).toBe('dacd: DAC_LEASE_TTL_SECONDS="abc": must be a whole number\n');
  });
});
