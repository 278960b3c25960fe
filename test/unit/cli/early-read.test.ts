/**
 * The loader starts the one etcd request of `pools`, `show_sessions`, `show_instances` and
 * `job_process` before loading the rest of dacctl. The read must be the one the command then
 * makes (same ranges, settings and deadline), so that the call still makes one request, and
 * nothing may start for any other command line.
 */
import { createCliLogger } from '../../../src/logging/cli-logger';
import { createContext } from '../../../src/cli/context';
import { startEarlyRead, type EarlyRead } from '../../../src/cli/early-read';
import { INLINE_ETCD_TIMEOUT_MS } from '../../../src/cli/inline-timeout';
import { etcdConfigFromEnv } from '../../../src/config/etcd-config';
import { startFakeEtcdTxn, type FakeEtcdTxn } from '../../support/fake-etcd-txn';

describe('startEarlyRead', () => {
  let etcd: FakeEtcdTxn;
  let env: NodeJS.ProcessEnv;
  const reads: EarlyRead[] = [];
  beforeEach(async () => {
    etcd = await startFakeEtcdTxn();
    env = { ETCDCTL_ENDPOINTS: etcd.endpoint, DAC_ETCD_PREFIX: '/early/', DAC_LOG_FILE: 'none' };
  });
  afterEach(async () => {
    for (const read of reads.splice(0)) await read.keyReader.close();
    await etcd.close();
  });

  async function started(args: string[]): Promise<EarlyRead> {
    const read = await startEarlyRead(args, env);
    if (read === undefined) throw new Error(`nothing started for ${args.join(' ')}`);
    reads.push(read);
    return read;
  }

  it.each([
    [['--function', 'pools'], 'pools'],
    [['pools'], 'pools'],
    [['--function=show_sessions'], 'show_sessions'],
    [['-f', 'show_instances'], 'show_instances'],
    [['--function', 'job_process', '--job', '/tmp/script'], 'job_process'],
  ])('starts the read of %j', async (args, name) => {
    const read = await started(args);
    expect(read.function).toBe(name);
    expect(read.config).toEqual(etcdConfigFromEnv(env));
  });

  it.each([
    [['--function', 'show_configurations']],
    [['--function', 'setup', '--token', '1']],
    [['--function', 'pools', '--token', '1']],
    [['--function', 'show_sessions', 'extra']],
    [['--function', 'toString']],
    [['--function']],
    [[]],
  ])('starts nothing for %j', (args) => {
    expect(startEarlyRead(args, env)).toBeUndefined();
    expect(etcd.requests).toHaveLength(0);
  });

  it('starts nothing when the settings do not pass, and leaves the error to the command', () => {
    expect(startEarlyRead(['pools'], { ...env, DAC_ETCD_TIMEOUT_MS: 'soon' })).toBeUndefined();
    expect(startEarlyRead(['pools'], { ...env, ETCDCTL_ENDPOINTS: 'ftp://x' })).toBeUndefined();
  });

  it('gives job_process the deadline it runs with inside slurmctld', async () => {
    const read = await started(['job_process', '--job', '/tmp/script']);
    expect(read.keyReader.config.timeoutMs).toBe(INLINE_ETCD_TIMEOUT_MS);
    const polled = await started(['pools']);
    expect(polled.keyReader.config.timeoutMs).toBe(etcdConfigFromEnv(env).timeoutMs);
  });

  it.each([
    [['pools'], (read: EarlyRead) => read.slurmReader.poolTable()],
    [['show_sessions'], (read: EarlyRead) => read.slurmReader.sessionSummaries()],
    [['show_instances'], (read: EarlyRead) => read.slurmReader.sessionSummaries()],
    [['job_process', '--job', 'x'], (read: EarlyRead) => read.slurmReader.poolCapacities()],
  ])('sends the request %j reads, and only that one', async (args, read) => {
    const early = await started(args);
    await read(early);
    expect(etcd.requests).toHaveLength(1);
    await read(early);
    expect(etcd.requests).toHaveLength(2);
    expect(etcd.requests[1]).toEqual(etcd.requests[0]);
  });

  it('hands the context its settings and readers', async () => {
    const read = await started(['pools']);
    const context = createContext(createCliLogger('dacctl', env), env, read);
    expect(await context.slurmReader()).toBe(read.slurmReader);
    expect(await context.etcdConfig()).toBe(read.config);
    await (await context.slurmReader()).poolTable();
    expect(etcd.requests).toHaveLength(1);
    await context.close();
  });
});
