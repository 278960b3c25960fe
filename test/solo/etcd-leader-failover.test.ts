/**
 * A 3-member etcd whose leader is killed (SIGKILL) and restarted, again and again, while whole
 * job lifecycles run through the CLI binary against two real dacd: every Slurm step succeeds
 * (some take longer), no host is ever shown down (its liveness key is never deleted), no host
 * is drained, and nothing is left behind.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliRun } from '../support/cli';
import { DacdCluster, setupArgs } from '../support/dacd-cluster';
import { EtcdMembers } from '../support/etcd-members';

const HOSTS = ['dac1', 'dac2'];
const RUN_MS = 24000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('etcd leader killed during job lifecycles', () => {
  let members: EtcdMembers;
  let cluster: DacdCluster;

  beforeAll(async () => {
    members = await EtcdMembers.start(3);
    // A short lease: renewals every 2 s, so most kills find one on its way.
    cluster = await DacdCluster.start('leader-kill', HOSTS, {
      endpoints: members.endpoints,
      leaseTtlSeconds: 4,
    });
  }, 60000);

  afterAll(async () => {
    await cluster?.stop();
    members?.stop();
  });

  /** createRevision of each host's liveness key: it changes if the key ever disappears. */
  async function aliveRevisions(): Promise<Record<string, number | undefined>> {
    const keys = cluster.registry.keys;
    const entries = await Promise.all(
      HOSTS.map(async (h) => [h, (await cluster.store.get(keys.alive(h)))?.createRevision]),
    );
    return Object.fromEntries(entries) as Record<string, number | undefined>;
  }

  it('runs every step, shows no host down and drains none', async () => {
    const input = join(cluster.dir, 'input');
    mkdirSync(input, { recursive: true });
    writeFileSync(join(input, 'a.dat'), 'alpha');
    const results = cluster.nobodyDir('results');
    const nodes = cluster.file('nodes', 'cn1\n');
    const before = await aliveRevisions();
    expect(Object.values(before).every((r) => r !== undefined)).toBe(true);

    const failures: string[] = [];
    const step = async (name: string, args: string[]): Promise<void> => {
      const run: CliRun = await cluster.cli(args);
      if (run.code !== 0)
        failures.push(`${name} ${args.join(' ')}: exit ${run.code}: ${run.output}`);
    };
    let lifecycles = 0;
    const runJobs = async (stream: number) => {
      const end = Date.now() + RUN_MS;
      // At least two lifecycles a stream however slow the machine is: the kills go on
      // through the first RUN_MS, and a loaded machine must not pass for a failover problem.
      for (let n = 0; Date.now() < end || n < 2; n++) {
        const token = `${stream}${String(n).padStart(3, '0')}`;
        const out = join(results, token);
        const job = cluster.file(
          `job${token}.sh`,
          '#!/bin/bash\n#DW jobdw capacity=1GiB access_mode=striped type=scratch\n' +
            `#DW stage_in source=${input} destination=$DW_JOB_STRIPED/in type=directory\n` +
            `#DW stage_out source=$DW_JOB_STRIPED/in destination=${out} type=directory\n`,
        );
        const base = ['--token', token, '--job', job];
        await step('setup', setupArgs(token, job, 'default:1GiB'));
        await step('data_in', ['--function', 'data_in', ...base]);
        const pathFile = join(cluster.dir, `paths${token}`);
        await step('paths', ['--function', 'paths', ...base, '--pathfile', pathFile]);
        await step('pre_run', ['--function', 'pre_run', ...base, '--nodehostnamefile', nodes]);
        await step('post_run', ['--function', 'post_run', ...base]);
        await step('data_out', ['--function', 'data_out', ...base]);
        await step('teardown', ['--function', 'teardown', ...base]);
        lifecycles += 1;
      }
    };

    let kills = 0;
    const killLeaders = async () => {
      const end = Date.now() + RUN_MS - 3000;
      while (Date.now() < end) {
        await sleep(1000);
        const leader = await members.waitForLeader();
        members.kill(leader);
        kills += 1;
        await sleep(3000);
        members.restart(leader);
        await members.waitForLeader();
      }
    };

    await Promise.all([runJobs(1), runJobs(2), killLeaders()]);

    expect(failures).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(4);
    expect(lifecycles).toBeGreaterThanOrEqual(4);
    expect(await aliveRevisions()).toEqual(before);
    const pools = await cluster.registry.pools();
    expect(pools[0]).toMatchObject({ free: 4, quantity: 4 });
    const inventory = await cluster.registry.readInventory();
    for (const host of HOSTS) expect(inventory.hosts.get(host)?.record.enabled).toBe(true);
    expect(cluster.leftovers()).toEqual([]);
  }, 120000);
});
