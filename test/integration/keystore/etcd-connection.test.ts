/** Connecting to etcd: deadlines when it is unreachable, and TLS with client certificates. */
import { etcdConfigFromEnv } from '../../../src/config/etcd-config';
import { ConfigError, StoreUnavailableError } from '../../../src/errors/errors';
import { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import { freePort, type RunningEtcd } from '../../support/etcd-server';
import { startSilentServer } from '../../support/silent-server';
import { startTlsEtcd, type TestCertificates, type TlsEtcd } from '../../support/tls-certs';

describe('an unreachable etcd', () => {
  it('fails within 3 s with a message naming the endpoint and the refusal', async () => {
    const port = await freePort();
    const store = new EtcdKeystore(etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: `127.0.0.1:${port}` }));
    const started = Date.now();
    const error = await store.range('/dac/inventory/').catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    await store.close();
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toBe(
      `cannot reach etcd at http://127.0.0.1:${port}: connection refused`,
    );
    expect(elapsed).toBeLessThan(3500);
  });

  it('gives up after 3 s on a server that accepts connections but never answers', async () => {
    const silent = await startSilentServer();
    const { port } = silent;
    const store = new EtcdKeystore(etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: `127.0.0.1:${port}` }));
    const started = Date.now();
    const error = await store.get('/dac/inventory/pools/x').catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    await store.close();
    await silent.close();
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toBe(
      `etcd at http://127.0.0.1:${port} did not answer within 3 s`,
    );
    expect(elapsed).toBeGreaterThanOrEqual(2900);
    expect(elapsed).toBeLessThan(3500);
  });

  it('tries the next endpoint when the first is down', async () => {
    const down = await freePort();
    const store = new EtcdKeystore(
      etcdConfigFromEnv({
        ETCDCTL_ENDPOINTS: `127.0.0.1:${down},${process.env.ETCDCTL_ENDPOINTS}`,
      }),
    );
    try {
      const revision = await store.put('/connection-test/failover', 'x');
      expect(revision).toBeGreaterThan(0);
      expect((await store.get('/connection-test/failover'))?.value).toBe('x');
    } finally {
      await store.close();
    }
  });
});

describe('etcd with TLS and client certificates', () => {
  let tls: TlsEtcd;
  let certs: TestCertificates;
  let etcd: RunningEtcd;

  beforeAll(async () => {
    tls = await startTlsEtcd();
    ({ certs, etcd } = tls);
  }, 30000);
  afterAll(() => tls?.stop());

  it('reads and writes with ETCDCTL_CA_FILE, ETCDCTL_CERT_FILE and ETCDCTL_KEY_FILE', async () => {
    const hostPort = etcd.endpoint.replace('https://', '');
    const store = new EtcdKeystore(
      etcdConfigFromEnv({
        ETCDCTL_ENDPOINTS: hostPort,
        ETCDCTL_CA_FILE: certs.caFile,
        ETCDCTL_CERT_FILE: certs.clientCertFile,
        ETCDCTL_KEY_FILE: certs.clientKeyFile,
      }),
    );
    try {
      await store.put('/tls/key', 'secret');
      expect((await store.get('/tls/key'))?.value).toBe('secret');
    } finally {
      await store.close();
    }
  });

  it('fails cleanly without a client certificate', async () => {
    const store = new EtcdKeystore(
      etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: etcd.endpoint, ETCDCTL_CA_FILE: certs.caFile }),
    );
    try {
      await expect(store.get('/tls/key')).rejects.toThrow(StoreUnavailableError);
    } finally {
      await store.close();
    }
  });

  it('names an unreadable certificate file', () => {
    expect(
      () =>
        new EtcdKeystore(
          etcdConfigFromEnv({
            ETCDCTL_ENDPOINTS: etcd.endpoint,
            ETCDCTL_CA_FILE: '/nonexistent/ca.pem',
          }),
        ),
    ).toThrow(ConfigError);
    expect(
      () =>
        new EtcdKeystore(
          etcdConfigFromEnv({
            ETCDCTL_ENDPOINTS: etcd.endpoint,
            ETCDCTL_CA_FILE: '/nonexistent/ca.pem',
          }),
        ),
    ).toThrow(/^ETCDCTL_CA_FILE: cannot read \/nonexistent\/ca.pem/);
  });
});
