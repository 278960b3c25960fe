/**
 * The JSON-gateway reader must read exactly what the gRPC keystore reads, fail the same way
 * when etcd cannot be reached, and speak TLS with client certificates.
 */
import { etcdConfigFromEnv } from '../../../src/config/etcd-config';
import { StoreUnavailableError } from '../../../src/errors/errors';
import { EtcdHttpReader } from '../../../src/keystore/etcd-http-reader';
import { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import { freePort, type RunningEtcd } from '../../support/etcd-server';
import { startSilentServer } from '../../support/silent-server';
import { testEtcdConfig } from '../../support/test-etcd';
import { startTlsEtcd, type TestCertificates, type TlsEtcd } from '../../support/tls-certs';

describe('EtcdHttpReader reads what EtcdKeystore reads', () => {
  const config = testEtcdConfig('http-reader');
  const p = config.prefix;
  let store: EtcdKeystore;
  let reader: EtcdHttpReader;

  beforeAll(async () => {
    store = new EtcdKeystore(config);
    reader = new EtcdHttpReader(config);
    const lease = await store.grantLease(60);
    await store.put(`${p}a`, 'plain');
    await store.put(`${p}a`, 'written twice');
    await store.put(`${p}b/empty`, '');
    await store.put(`${p}b/leased`, '{"json":true}', { lease: lease.id });
    await store.put(`${p}c/ünïcødé ☃`, 'värde 🚀');
    await store.put(`${p}c/big`, 'x'.repeat(200 * 1024));
    await store.put(`${p.slice(0, -1)}0-outside`, 'not under the prefix');
  });
  afterAll(async () => {
    await store.txn([], [{ type: 'deletePrefix', prefix: p }]);
    await store.delete(`${p.slice(0, -1)}0-outside`);
    await reader.close();
    await store.close();
  });

  it('returns the same keys, values and revisions for a prefix', async () => {
    const [viaGrpc, viaHttp] = await Promise.all([store.range(p), reader.range(p)]);
    expect(viaHttp.kvs).toEqual(viaGrpc.kvs);
    expect(viaHttp.kvs.map((kv) => kv.key)).toEqual([
      `${p}a`,
      `${p}b/empty`,
      `${p}b/leased`,
      `${p}c/big`,
      `${p}c/ünïcødé ☃`,
    ]);
    expect(viaHttp.revision).toBeGreaterThanOrEqual(viaHttp.kvs[4]!.modRevision);
  });

  it('returns the same single key, with its metadata', async () => {
    for (const key of [`${p}a`, `${p}b/empty`, `${p}b/leased`, `${p}c/ünïcødé ☃`]) {
      expect(await reader.get(key)).toEqual(await store.get(key));
    }
    expect(await reader.get(`${p}a`)).toMatchObject({ value: 'written twice', version: 2 });
    expect((await reader.get(`${p}b/leased`))?.lease).toBeDefined();
  });

  it('returns nothing for a missing key or an empty prefix', async () => {
    expect(await reader.get(`${p}missing`)).toBeUndefined();
    const empty = await reader.range(`${p}nothing/`);
    expect(empty.kvs).toEqual([]);
    expect(empty.revision).toBeGreaterThan(0);
  });

  it('tries the next endpoint when the first is down', async () => {
    const down = await freePort();
    const failover = new EtcdHttpReader({
      ...config,
      endpoints: [`http://127.0.0.1:${down}`, ...config.endpoints],
    });
    expect((await failover.get(`${p}a`))?.value).toBe('written twice');
  });

  it('refuses to read after close', async () => {
    const closed = new EtcdHttpReader(config);
    await closed.close();
    await expect(closed.get(`${p}a`)).rejects.toThrow(StoreUnavailableError);
  });
});

describe('EtcdHttpReader when etcd cannot be reached', () => {
  it('fails at once on a closed port, naming the endpoint', async () => {
    const port = await freePort();
    const reader = new EtcdHttpReader(
      etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: `127.0.0.1:${port}` }),
    );
    await expect(reader.range('/dac/')).rejects.toThrow(
      new StoreUnavailableError(`etcd at http://127.0.0.1:${port} did not answer within 3 s`),
    );
  });

  it('gives up at its deadline on a server that never answers', async () => {
    const silent = await startSilentServer();
    const { port } = silent;
    const reader = new EtcdHttpReader(
      etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: `127.0.0.1:${port}`, DAC_ETCD_TIMEOUT_MS: '1000' }),
    );
    const started = Date.now();
    const error = await reader.get('/dac/x').catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    await silent.close();
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toBe(
      `etcd at http://127.0.0.1:${port} did not answer within 1 s`,
    );
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(1500);
  });
});

describe('EtcdHttpReader with TLS and client certificates', () => {
  let tls: TlsEtcd;
  let certs: TestCertificates;
  let etcd: RunningEtcd;

  beforeAll(async () => {
    tls = await startTlsEtcd();
    ({ certs, etcd } = tls);
  }, 30000);
  afterAll(() => tls?.stop());

  it('reads with ETCDCTL_CA_FILE, ETCDCTL_CERT_FILE and ETCDCTL_KEY_FILE', async () => {
    const env = {
      ETCDCTL_ENDPOINTS: etcd.endpoint.replace('https://', ''),
      ETCDCTL_CA_FILE: certs.caFile,
      ETCDCTL_CERT_FILE: certs.clientCertFile,
      ETCDCTL_KEY_FILE: certs.clientKeyFile,
    };
    const store = new EtcdKeystore(etcdConfigFromEnv(env));
    try {
      await store.put('/tls-http/key', 'over https');
    } finally {
      await store.close();
    }
    const reader = new EtcdHttpReader(etcdConfigFromEnv(env));
    expect((await reader.get('/tls-http/key'))?.value).toBe('over https');
  });

  it('fails cleanly without a client certificate', async () => {
    const reader = new EtcdHttpReader(
      etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: etcd.endpoint, ETCDCTL_CA_FILE: certs.caFile }),
    );
    await expect(reader.get('/tls-http/key')).rejects.toThrow(StoreUnavailableError);
  });
});
