/**
 * dacd's Prometheus metrics, scraped from a real dacd while a real job runs through the CLI
 * (setup, a stage-in of two files, teardown): the steps, their durations, the bytes staged,
 * the bricks and sessions of the host, the lease renewals and the etcd requests. Without
 * DAC_METRICS_ADDRESS nothing listens (and prom-client is never loaded: lean.test.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DacdCluster, setupArgs } from '../../support/dacd-cluster';
import { DacdProcess } from '../../support/dacd-process';
import { freePort } from '../../support/etcd-server';
import { samples } from '../../support/prometheus';

let cluster: DacdCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
});

/** The samples of a scrape, by metric name with its labels as Prometheus writes them. */
async function scrape(port: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return samples(await response.text());
}

let port = 0;

it('counts what a real job does on the host', async () => {
  port = await freePort();
  const c = (cluster = await DacdCluster.start('metrics', ['dac1'], {
    brickCount: 4,
    leaseTtlSeconds: 2,
    env: { DAC_METRICS_ADDRESS: `127.0.0.1:${port}` },
  }));
  const input = join(c.dir, 'input');
  mkdirSync(input);
  writeFileSync(join(input, 'a.dat'), 'alpha');
  writeFileSync(join(input, 'b.dat'), 'beta');
  const job = c.file(
    'job.sh',
    '#!/bin/bash\n#DW jobdw capacity=2GiB access_mode=striped type=scratch\n' +
      `#DW stage_in source=${input} destination=$DW_JOB_STRIPED/in type=directory\n`,
  );
  const ok = { output: '', code: 0 };
  expect(await c.cli(setupArgs('4001', job, 'default:2GiB'))).toMatchObject(ok);
  expect(await c.cli(['--function', 'data_in', '--token', '4001', '--job', job])).toMatchObject(ok);

  const during = await scrape(port);
  expect(during.get('dac_bricks{pool="default",state="allocated"}')).toBe(2);
  expect(during.get('dac_bricks{pool="default",state="free"}')).toBe(2);
  expect(during.get('dac_sessions{phase="DataIn",state="Completed"}')).toBe(1);
  expect(during.get('dac_steps_total{phase="Setup",outcome="completed"}')).toBe(1);
  expect(during.get('dac_steps_total{phase="DataIn",outcome="completed"}')).toBe(1);
  expect(during.get('dac_step_duration_seconds_count{phase="DataIn"}')).toBe(1);
  expect(during.get('dac_staged_bytes_total{direction="in"}')).toBe(9);
  expect(during.get('dac_staged_files_total{direction="in"}')).toBe(2);
  expect(during.get('dac_etcd_request_duration_seconds_count{method="txn"}')).toBeGreaterThan(0);
  expect([...during.keys()].some((key) => key.startsWith('dac_build_info{version='))).toBe(true);

  expect(await c.cli(['--function', 'teardown', '--token', '4001', '--job', job])).toMatchObject(
    ok,
  );
  // The lease is renewed every second.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const after = await scrape(port);
  expect(after.get('dac_bricks{pool="default",state="allocated"}')).toBe(0);
  expect(after.get('dac_bricks{pool="default",state="free"}')).toBe(4);
  expect([...after.keys()].filter((key) => key.startsWith('dac_sessions{'))).toEqual([]);
  expect(after.get('dac_steps_total{phase="Teardown",outcome="completed"}')).toBe(1);
  expect(after.get('dac_lease_renewals_total')).toBeGreaterThanOrEqual(1);
  expect(after.get('dac_lease_losses_total')).toBe(0);
  // Nothing but /metrics is served.
  expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
});

it('refuses a second dacd for the host for that, not for the metrics port its owner holds', async () => {
  const c = cluster!;
  const second = DacdProcess.spawn({
    prefix: c.prefix,
    host: 'dac1',
    localRoot: join(c.dir, 'second-bricks'),
    mountRoot: c.mountRoot,
    logFile: join(c.dir, 'second.log'),
    env: { DAC_METRICS_ADDRESS: `127.0.0.1:${port}` },
  });
  expect(await second.exited).toEqual({ code: 1, signal: null });
  expect(second.stderr).toMatch(/^dacd: host dac1 is already served by dacd pid /);
  // A free host whose metrics port is taken: exit 4, naming the setting.
  const third = DacdProcess.spawn({
    prefix: c.prefix,
    host: 'dac3',
    localRoot: join(c.dir, 'third-bricks'),
    mountRoot: c.mountRoot,
    logFile: join(c.dir, 'third.log'),
    env: { DAC_METRICS_ADDRESS: `127.0.0.1:${port}` },
  });
  expect(await third.exited).toEqual({ code: 4, signal: null });
  expect(third.stderr).toBe(
    `dacd: DAC_METRICS_ADDRESS="127.0.0.1:${port}" cannot be served: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`,
  );
  // It gave its host up again at once: no liveness key is left behind.
  expect((await c.registry.hostAlive('dac3')).alive).toBe(false);
});
