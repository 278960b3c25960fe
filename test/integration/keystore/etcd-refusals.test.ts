/**
 * Requests etcd refuses are reported as what they are, with etcd's words, not as "etcd did not
 * answer" (which makes Slurm retry for ever): a value over etcd's request limit, and one over
 * its gRPC message limit.
 */
import { ValidationError } from '../../../src/errors/errors';
import { Http2EtcdKeystore } from '../../../src/keystore/etcd-http2/keystore';
import { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import { testEtcdConfig } from '../../support/test-etcd';

const MiB = 1024 * 1024;

describe.each([
  ['EtcdKeystore', EtcdKeystore],
  ['Http2EtcdKeystore', Http2EtcdKeystore],
] as const)('%s with requests etcd refuses', (_name, Store) => {
  const config = testEtcdConfig('refusals');
  const store = new Store(config);
  afterAll(() => store.close());

  it.each([
    ['over its request limit', 1.8 * MiB],
    ['over its gRPC message limit', 3 * MiB],
  ])('a put %s is a ValidationError quoting etcd', async (_what, size) => {
    const error = await store.put(`${config.prefix}big`, 'x'.repeat(size)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/^etcd refused the request: \S/);
    expect((error as Error).message).not.toMatch(/did not answer/);
  });
});
