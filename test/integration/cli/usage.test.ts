/** How dacctl answers people: help, and one-line errors for command lines it cannot run. */
import { runBinary } from '../../support/cli';

const run = (args: string[]) => runBinary('dacctl', args, { prefix: '/usage-test/' });

describe('dacctl command line', () => {
  it('lists every function with its flags on help', async () => {
    for (const word of ['help', '--help', '-h']) {
      const result = await run([word]);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout.split('\n')[0]).toBe('usage: dacctl [--function] <function> [flags]');
      expect(result.stdout).toContain('\n  sessions teardown <token>\n');
      expect(result.stdout).toContain(
        '  teardown --token <token> [--job <job>] [--hurry]\n      release a buffer (job or persistent)\n',
      );
      expect(result.stdout).toContain(
        '  setup --token <token> --capacity <capacity> --user <user> --groupid <groupid> --job <job> [--caller <caller>] [--nodehostnamefile <nodehostnamefile>]\n',
      );
    }
  });

  it.each([
    [
      ['--function', 'nosuch'],
      /^unknown function "nosuch"; known: pools, show_instances, .*create_persistent\n$/,
    ],
    [[], /^no function given; use --function <name>\n$/],
    [['setup', '--token', '1'], /^setup: missing --capacity, --user, --groupid, --job\n$/],
    [['teardown', '--token'], /^teardown: --token needs a value\n$/],
    [['teardown', '--token', '1', '--bogus'], /^teardown: unknown flag --bogus\n$/],
    [['teardown', '-t'], /^teardown: --token needs a value\n$/],
    [['teardown', '--token', '1', '--hurry=yes'], /^teardown: --hurry takes no value\n$/],
    [['teardown', '--token', '1', 'extra'], /^teardown: unexpected argument "extra"\n$/],
    [['--function', 'pools', '--token', '1'], /^pools: unknown flag --token\n$/],
    // `pools` followed by a flag is still Slurm's function; `pools list` the operators' command.
    [['pools', '--token', '1'], /^pools: unknown flag --token\n$/],
    [
      ['pools', 'list', '--token', '1'],
      /^dacctl pools list: Unknown argument: token \(see dacctl pools list --help\)\n$/,
    ],
    [['teardown', '--token', '1', '--token', '2'], /^teardown: --token is given more than once\n$/],
  ])('refuses %j in one line with exit 2', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(message);
  });

  it('answers show_configurations without etcd', async () => {
    const result = await runBinary('dw_wlm_cli', ['--function', 'show_configurations'], {
      prefix: '/usage-test/',
      env: { ETCDCTL_ENDPOINTS: '127.0.0.1:1' },
    });
    expect(result).toEqual({
      output: '{"configurations": []}\n',
      stdout: '{"configurations": []}\n',
      stderr: '',
      code: 0,
    });
  });
});
