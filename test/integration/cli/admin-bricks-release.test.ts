/**
 * `dacctl bricks release HOST/DEVICE --wiped -r REASON` through the built dacctl against the test
 * etcd and a real dacd: the brick of a session torn down by force while its dacd is stopped is
 * freed by hand (as for a provider that cannot wipe), with the usage records, Slurm's `pools` and
 * the history agreeing; and the refusals.
 */
import { runAdmin } from '../../../src/cli/admin/admin';
import { exitCodeFor, userMessage } from '../../../src/errors/exit-codes';
import { runBinary, type CliRun } from '../../support/cli';
import { DacdCluster, setupArgs } from '../../support/dacd-cluster';
import { asNobodyIn } from '../../support/nobody-context';
import { registryViolations } from '../../support/registry-invariants';

describe('dacctl bricks release', () => {
  let cluster: DacdCluster;
  let device: string;

  const dacctl = (args: string[]): Promise<CliRun> =>
    runBinary('dacctl', args, { prefix: cluster.prefix });

  beforeAll(async () => {
    cluster = await DacdCluster.start('bricks-release', ['dac1']);
    const job = cluster.file('job.sh', '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    const setup = await cluster.cli(setupArgs('6001', job, 'default:1GiB'));
    expect({ code: setup.code, output: setup.output }).toEqual({ code: 0, output: '' });
    device = (await cluster.registry.getSession('6001'))!.record.bricks[0]!.device;
    // The host's dacd is gone: the forced teardown leaves the brick awaiting a wipe.
    await cluster.dacd('dac1').stop();
    cluster.daemons.delete('dac1');
    const forced = await dacctl(['sessions', 'teardown', '6001', '--force', '-r', 'dac1 is dead']);
    expect(forced.code).toBe(0);
  }, 90000);

  afterAll(async () => {
    await cluster?.stop();
  });

  const brickState = async (): Promise<string> => {
    const run = await dacctl(['bricks', 'list', '--host', 'dac1', '--json']);
    const bricks = JSON.parse(run.stdout).bricks as { device: string; state: string }[];
    return bricks.find((b) => b.device === device)!.state;
  };

  it.each([
    [
      ['bricks', 'release', 'dac1/x', '-r', 'wiped'],
      2,
      /^dacctl bricks release: --wiped is required/,
    ],
    [['bricks', 'release', 'dac1', '--wiped', '-r', 'w'], 2, /"dac1" is not HOST\/DEVICE/],
    [['bricks', 'release', 'dac1/x', '--wiped', '-r', ' '], 2, /--reason must be 1 to 500/],
  ])('refuses %j (exit %d) and changes nothing', async (args, code, message) => {
    const run = await dacctl(args);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code, stderr: '' });
    expect(run.output).toMatch(message);
    expect(await brickState()).toBe('wiping');
  });

  it('refuses anybody but root', async () => {
    let failure: unknown;
    try {
      await asNobodyIn(cluster, (context) =>
        runAdmin(context, ['bricks', 'release', `dac1/${device}`, '--wiped', '-r', 'mine']),
      );
    } catch (error) {
      failure = error;
    }
    expect(userMessage(failure)).toBe('dacctl bricks release: only root may release bricks');
    expect(exitCodeFor(failure)).toBe(1);
    expect(await brickState()).toBe('wiping');
  });

  it('frees a brick awaiting a wipe, and refuses one that is not', async () => {
    const release = ['bricks', 'release', `dac1/${device}`, '--wiped', '-r', 'blkdiscard by hand'];
    expect(await dacctl(release)).toMatchObject({
      code: 0,
      output: `released dac1/${device}: it is free\n`,
    });
    // Not allocated any more; unavailable only while its host is down.
    expect(await brickState()).toBe('unavailable');
    const pools = JSON.parse((await dacctl(['pools', 'list', '--json'])).stdout).pools[0];
    expect(pools).toMatchObject({ allocated: 0 });
    const events = JSON.parse((await dacctl(['events', '--host', 'dac1', '--json'])).stdout).events;
    expect(events[events.length - 1]).toMatchObject({
      kind: 'bricks-released',
      host: 'dac1',
      by: 'root',
      message: `wiped by hand, released: ${device} (blkdiscard by hand)`,
    });
    expect(await registryViolations(cluster.store, cluster.registry.keys)).toEqual([]);

    // Free now: a second release says so, and changes nothing.
    const again = await dacctl(release);
    expect({ code: again.code, output: again.output }).toEqual({
      code: 1,
      output:
        `dacctl bricks release: not awaiting a wipe, left as they are: dac1/${device} ` +
        '(see dacctl bricks list)\n',
    });
  });
});
