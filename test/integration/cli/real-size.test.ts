/**
 * `real_size --token T` through the built binary (contract §3.6): one object with the bytes
 * really allocated (whole bricks), `units` "bytes"; a one-line error for an unknown token.
 */
import type { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import { Registry } from '../../../src/registry/registry';
import { runBinary, type CliRun } from '../../support/cli';
import { addHosts, openRegistry } from '../../support/registry-fixture';

const GiB = 1024n ** 3n;

describe('dw_wlm_cli real_size', () => {
  let store: EtcdKeystore;
  let registry: Registry;
  let prefix: string;

  const realSize = (token: string): Promise<CliRun> =>
    runBinary('dw_wlm_cli', ['--function', 'real_size', '--token', token], { prefix });

  beforeEach(async () => {
    const fixture = openRegistry('real-size');
    ({ store, registry, prefix } = fixture);
    await addHosts(fixture, {
      pool: 'wlm_pool',
      granularity: GiB,
      hosts: ['storage1'],
      bricksPerHost: 4,
    });
  });

  afterEach(async () => {
    await store.close();
  });

  it('reports the allocated bytes in whole granules, above the request', async () => {
    await registry.createSession({
      token: '1234',
      kind: 'job',
      owner: { uid: 1001, gid: 1001 },
      pool: 'wlm_pool',
      requestedBytes: 2n * GiB + 512n * 1024n * 1024n, // 2.5 GiB: three 1 GiB bricks
    });

    const run = await realSize('1234');

    expect(run).toEqual({
      output: '{"token":"1234","capacity":3221225472,"units":"bytes"}\n',
      stdout: '{"token":"1234","capacity":3221225472,"units":"bytes"}\n',
      stderr: '',
      code: 0,
    });
    const answer = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(typeof answer.token).toBe('string');
    expect(Number.isInteger(answer.capacity)).toBe(true);
    expect(answer.units).toBe('bytes');
  });

  it('reports 0 bytes for a zero-size session', async () => {
    await registry.createSession({
      token: '1235',
      kind: 'job',
      owner: { uid: 1001, gid: 1001 },
      pool: 'wlm_pool',
      requestedBytes: 0n,
    });
    const run = await realSize('1235');
    expect(run).toMatchObject({
      output: '{"token":"1235","capacity":0,"units":"bytes"}\n',
      stderr: '',
      code: 0,
    });
  });

  it('answers a persistent buffer by its name', async () => {
    await registry.createSession({
      token: 'p1',
      kind: 'persistent',
      owner: { uid: 1001, gid: 1001 },
      pool: 'wlm_pool',
      requestedBytes: GiB,
    });
    expect(await realSize('p1')).toMatchObject({
      output: '{"token":"p1","capacity":1073741824,"units":"bytes"}\n',
      code: 0,
    });
  });

  it('fails with the No matching session line for an unknown token', async () => {
    const run = await realSize('999');
    expect(run).toEqual({
      output: 'No matching session for token 999 (token not found)\n',
      stdout: 'No matching session for token 999 (token not found)\n',
      stderr: '',
      code: 1,
    });
  });

  it('rejects a token that is neither a job id nor a buffer name, in one line', async () => {
    const run = await realSize('../x');
    expect(run).toMatchObject({
      output: '--token "../x" is not a job id or burst buffer name\n',
      stderr: '',
      code: 1,
    });
  });
});
