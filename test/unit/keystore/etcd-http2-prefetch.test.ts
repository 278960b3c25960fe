/**
 * A snapshot started early (`prefetchSnapshot`) answers the next snapshot of the same ranges,
 * once, so that a call still makes one request; its failure is that snapshot's to report.
 */
import { etcdConfigFromEnv } from '../../../src/config/etcd-config';
import { StoreUnavailableError } from '../../../src/errors/errors';
import { Http2EtcdKeystore } from '../../../src/keystore/etcd-http2/keystore';
import { freePort } from '../../support/etcd-server';
import { startFakeEtcdTxn, type FakeEtcdTxn } from '../../support/fake-etcd-txn';

const A = [{ prefix: '/dac/a/' }, { prefix: '/dac/b/', countOnly: true }];
const B = [{ prefix: '/dac/c/' }];

describe('Http2EtcdKeystore.prefetchSnapshot', () => {
  let etcd: FakeEtcdTxn;
  let reader: Http2EtcdKeystore;
  beforeEach(async () => {
    etcd = await startFakeEtcdTxn();
    reader = new Http2EtcdKeystore(etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: etcd.endpoint }));
  });
  afterEach(async () => {
    await reader.close();
    await etcd.close();
  });

  it('answers the next snapshot of the same ranges without asking again', async () => {
    await reader.prefetchSnapshot(A);
    const snapshot = await reader.snapshot(A.map((range) => ({ ...range })));
    expect(snapshot.ranges).toEqual([[], []]);
    expect(etcd.requests).toHaveLength(1);
  });

  it('answers only once: the snapshot after it asks etcd', async () => {
    await reader.prefetchSnapshot(A);
    await reader.snapshot(A);
    await reader.snapshot(A);
    expect(etcd.requests).toHaveLength(2);
    expect(etcd.requests[1]).toEqual(etcd.requests[0]);
  });

  it('leaves a snapshot of other ranges to ask for itself, and keeps its answer for later', async () => {
    await reader.prefetchSnapshot(A);
    expect((await reader.snapshot(B)).ranges).toEqual([[]]);
    expect(etcd.requests).toHaveLength(2);
    await reader.snapshot(A);
    expect(etcd.requests).toHaveLength(2);
  });

  it('settles once the request has left, whether or not the read succeeds', async () => {
    const port = await freePort();
    const down = new Http2EtcdKeystore(
      etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: `127.0.0.1:${port}` }),
    );
    await expect(down.prefetchSnapshot(A)).resolves.toBeUndefined();
    const error = await down.snapshot(A).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).detail).toContain('ECONNREFUSED');
    await down.close();
  });

  it('does not end the process over a failed read nobody took', async () => {
    const port = await freePort();
    const down = new Http2EtcdKeystore(
      etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: `127.0.0.1:${port}` }),
    );
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      await down.prefetchSnapshot(A);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
      await down.close();
    }
  });

  it('drops what it has not handed out when closed', async () => {
    await reader.prefetchSnapshot(A);
    await reader.close();
    await expect(reader.snapshot(A)).rejects.toThrow('etcd client is closed');
  });

  it('refuses ranges a snapshot would refuse', () => {
    expect(() => reader.prefetchSnapshot([{ prefix: '' }])).toThrow(
      'a keystore snapshot range needs a non-empty prefix',
    );
    expect(etcd.requests).toHaveLength(0);
  });
});
