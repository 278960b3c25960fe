/**
 * Many `setup` calls at once on a small machine (far more processes than cores, as when Slurm
 * starts a burst of jobs): each process waits for a core, yet none may fail by blaming etcd
 * for its own lateness, and no brick goes to two sessions.
 */
import { DacdCluster, setupArgs } from '../support/dacd-cluster';

const CALLS = Number(process.env.DAC_TEST_CONCURRENT_SETUPS ?? 100);

describe('a burst of concurrent setup calls', () => {
  let cluster: DacdCluster;

  beforeAll(async () => {
    cluster = await DacdCluster.start('burst', ['dac1', 'dac2'], {
      brickCount: Math.ceil(CALLS / 2),
    });
  }, 60000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('sets up every session, each on its own brick', async () => {
    const job = cluster.file(
      'job.sh',
      '#!/bin/bash\n#DW jobdw capacity=1GiB access_mode=striped\n',
    );
    const runs = await Promise.all(
      Array.from({ length: CALLS }, (_, i) =>
        cluster.cli(setupArgs(String(5000 + i), job, 'default:1GiB')),
      ),
    );
    const failed = runs.filter((run) => run.code !== 0).map((run) => `${run.code}: ${run.output}`);
    expect(failed).toEqual([]);
    const sessions = await cluster.registry.sessions();
    expect(sessions).toHaveLength(CALLS);
    const bricks = sessions.flatMap((s) => s.bricks.map((b) => `${b.host}/${b.device}`));
    expect(new Set(bricks).size).toBe(CALLS);
  }, 180000);
});
