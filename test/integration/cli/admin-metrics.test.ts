/**
 * `dacctl metrics`, through the built dacctl against the test etcd and two real dacd: the
 * pools, hosts and sessions of the whole system in Prometheus's text format, printed once or
 * served on --listen and read again at every scrape.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BIN, runBinary } from '../../support/cli';
import { DacdCluster, setupArgs } from '../../support/dacd-cluster';
import { freePort } from '../../support/etcd-server';
import { samples } from '../../support/prometheus';

let cluster: DacdCluster;
beforeAll(async () => {
  cluster = await DacdCluster.start('admin-metrics', ['dac1', 'dac2']);
}, 60000);
afterAll(async () => {
  await cluster?.stop();
});

it('prints the pools, hosts and sessions of the whole system', async () => {
  const job = cluster.file(
    'job.sh',
    '#!/bin/bash\n#DW jobdw capacity=3GiB access_mode=striped type=scratch\n',
  );
  expect(await cluster.cli(setupArgs('5001', job, 'default:3GiB'))).toMatchObject({ code: 0 });
  const drain = await runBinary('dacctl', ['hosts', 'drain', 'dac2', '-r', 'disk swap'], {
    prefix: cluster.prefix,
  });
  expect(drain.code).toBe(0);

  const run = await runBinary('dacctl', ['metrics'], { prefix: cluster.prefix });
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  const got = samples(run.output);
  expect(got.get('dac_pool_bricks{pool="default",state="allocated"}')).toBe(3);
  // dac2's brick that is not allocated is unavailable while it is drained.
  expect(got.get('dac_pool_bricks{pool="default",state="free"}')).toBe(0);
  expect(got.get('dac_pool_bricks{pool="default",state="unavailable"}')).toBe(1);
  expect(got.get('dac_pool_bytes{pool="default",state="allocated"}')).toBe(3 * 1024 ** 3);
  expect(got.get('dac_pool_granularity_bytes{pool="default"}')).toBe(1024 ** 3);
  expect(got.get('dac_hosts{state="up"}')).toBe(1);
  expect(got.get('dac_hosts{state="drained"}')).toBe(1);
  expect(got.get('dac_hosts{state="down"}')).toBe(0);
  expect(got.get('dac_cluster_sessions{kind="job",phase="Setup",state="Completed"}')).toBe(1);
  expect(got.get('dac_damaged_records')).toBe(0);
  // No label carries free text: the drain reason is not there.
  expect(run.output).not.toContain('disk swap');
});

it('serves them on --listen, read again at each scrape, until SIGTERM', async () => {
  const port = await freePort();
  const child = spawn(join(BIN, 'dacctl'), ['metrics', '--listen', `127.0.0.1:${port}`], {
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: '/usr/bin:/bin',
      ETCDCTL_ENDPOINTS: process.env.ETCDCTL_ENDPOINTS,
      DAC_ETCD_PREFIX: cluster.prefix,
      DAC_LOG_FILE: 'none',
    },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const scrape = async (): Promise<Map<string, number>> => {
    for (let tries = 0; ; tries += 1) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/metrics`);
        expect(response.status).toBe(200);
        return samples(await response.text());
      } catch (error) {
        if (tries > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  const first = await scrape();
  expect(first.get('dac_cluster_sessions{kind="job",phase="Setup",state="Completed"}')).toBe(1);
  const teardown = await cluster.cli([
    '--function',
    'teardown',
    '--token',
    '5001',
    '--job',
    '/dev/null',
  ]);
  expect(teardown.code).toBe(0);
  const second = await scrape();
  expect([...second.keys()].filter((key) => key.startsWith('dac_cluster_sessions{'))).toEqual([]);
  expect(second.get('dac_pool_bricks{pool="default",state="allocated"}')).toBe(0);
  expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(output).toBe('');
});

it('refuses a --listen that is not host:port, and --json', async () => {
  const bad = await runBinary('dacctl', ['metrics', '--listen', '9465'], {
    prefix: cluster.prefix,
  });
  expect({ code: bad.code, output: bad.output }).toEqual({
    code: 1,
    output: '--listen 9465: give host:port, e.g. 127.0.0.1:9465\n',
  });
  const json = await runBinary('dacctl', ['metrics', '--json'], { prefix: cluster.prefix });
  expect(json.output).toBe('metrics are Prometheus text: --json does not apply\n');
});
