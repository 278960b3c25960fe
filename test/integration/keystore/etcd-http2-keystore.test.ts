/**
 * The CLI's keystore must pass the conformance suite, read exactly what EtcdKeystore reads,
 * fail the same way when etcd cannot be reached or refuses a request, speak TLS with client
 * certificates, and let a process that has finished exit at once.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { etcdConfigFromEnv } from '../../../src/config/etcd-config';
import { ConfigError, StoreUnavailableError, ValidationError } from '../../../src/errors/errors';
import { Http2EtcdKeystore } from '../../../src/keystore/etcd-http2/keystore';
import { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import { freePort, type RunningEtcd } from '../../support/etcd-server';
import { startSilentServer } from '../../support/silent-server';
import { describeKeystoreConformance } from '../../support/keystore-conformance';
import { testEtcdConfig } from '../../support/test-etcd';
import { startTlsEtcd, type TestCertificates, type TlsEtcd } from '../../support/tls-certs';

describeKeystoreConformance('Http2EtcdKeystore', async () => {
  const config = testEtcdConfig('h2-conformance');
  const store = new Http2EtcdKeystore(config);
  return {
    store,
    prefix: config.prefix,
    cleanup: async () => {
      // A second client removes the keys: the suite may have closed `store` itself.
      const janitor = new Http2EtcdKeystore(config);
      try {
        await janitor.txn([], [{ type: 'deletePrefix', prefix: config.prefix }]);
      } finally {
        await janitor.close();
        await store.close();
      }
    },
  };
});

describe('Http2EtcdKeystore reads what EtcdKeystore reads', () => {
  const config = testEtcdConfig('grpc-reader');
  const p = config.prefix;
  let store: EtcdKeystore;
  let reader: Http2EtcdKeystore;

  beforeAll(async () => {
    store = new EtcdKeystore(config);
    reader = new Http2EtcdKeystore(config);
    const lease = await store.grantLease(60);
    await store.put(`${p}a`, 'plain');
    await store.put(`${p}a`, 'written twice');
    await store.put(`${p}b/empty`, '');
    await store.put(`${p}b/leased`, '{"json":true}', { lease: lease.id });
    await store.put(`${p}c/ünïcødé ☃`, 'värde 🚀');
    await store.put(`${p}c/big`, 'é'.repeat(100 * 1024)); // 200 KiB of two-byte characters
    await store.put(`${p.slice(0, -1)}0-outside`, 'not under the prefix');
  });
  afterAll(async () => {
    await store.txn([], [{ type: 'deletePrefix', prefix: p }]);
    await store.delete(`${p.slice(0, -1)}0-outside`);
    await reader.close();
    await store.close();
  });

  it('returns the same keys, values and revisions for a prefix', async () => {
    const [viaEtcd3, viaReader] = await Promise.all([store.range(p), reader.range(p)]);
    expect(viaReader.kvs).toEqual(viaEtcd3.kvs);
    expect(viaReader.kvs.map((kv) => kv.key)).toEqual([
      `${p}a`,
      `${p}b/empty`,
      `${p}b/leased`,
      `${p}c/big`,
      `${p}c/ünïcødé ☃`,
    ]);
    expect(viaReader.kvs[3]?.value).toBe('é'.repeat(100 * 1024));
    expect(viaReader.revision).toBeGreaterThanOrEqual(viaReader.kvs[4]!.modRevision);
  });

  it('returns the same single key, with its metadata', async () => {
    for (const key of [`${p}a`, `${p}b/empty`, `${p}b/leased`, `${p}c/ünïcødé ☃`, `${p}c/big`]) {
      expect(await reader.get(key)).toEqual(await store.get(key));
    }
    expect(await reader.get(`${p}a`)).toMatchObject({ value: 'written twice', version: 2 });
    expect((await reader.get(`${p}b/leased`))?.lease).toMatch(/^[1-9][0-9]*$/);
  });

  it('returns nothing for a missing key or an empty prefix', async () => {
    expect(await reader.get(`${p}missing`)).toBeUndefined();
    const empty = await reader.range(`${p}nothing/`);
    expect(empty.kvs).toEqual([]);
    expect(empty.revision).toBeGreaterThan(0);
  });

  it('takes a snapshot equal to EtcdKeystore’s, keys-only ranges included', async () => {
    const ranges = [
      { prefix: `${p}c/` },
      { prefix: p, keysOnly: true },
      { prefix: `${p}nothing/` },
      { prefix: `${p}b/` },
    ];
    const [viaEtcd3, viaReader] = await Promise.all([
      store.snapshot(ranges),
      reader.snapshot(ranges),
    ]);
    expect(viaReader).toEqual(viaEtcd3);
    expect(viaReader.ranges.map((kvs) => kvs.length)).toEqual([2, 0, 0, 2]);
    expect(viaReader.keys.map((keys) => keys.length)).toEqual([0, 5, 0, 0]);
    expect(viaReader.keys[1]).toContain(viaReader.ranges[3]?.[1]?.key);
  });

  it('refuses a snapshot etcd would refuse, as the other stores do', async () => {
    await expect(reader.snapshot([{ prefix: '' }])).rejects.toBeInstanceOf(ValidationError);
  });

  it('serves concurrent reads over one reader', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? `${p}a` : `${p}b/empty`));
    const values = await Promise.all(keys.map((key) => reader.get(key)));
    expect(values.map((kv) => kv?.value)).toEqual(
      keys.map((key) => (key === `${p}a` ? 'written twice' : '')),
    );
  });

  it('reports a request etcd refuses as ValidationError with etcd’s message', async () => {
    // etcd refuses a range without a key: INVALID_ARGUMENT, in a trailers-only answer.
    const error = await reader.get('').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toBe(
      'etcd refused the request: etcdserver: key is not provided',
    );
    // The connection survives a refused request.
    expect((await reader.get(`${p}a`))?.value).toBe('written twice');
  });

  it('tries the next endpoint when the first is down', async () => {
    const down = await freePort();
    const failover = new Http2EtcdKeystore({
      ...config,
      endpoints: [`http://127.0.0.1:${down}`, ...config.endpoints],
    });
    try {
      expect((await failover.get(`${p}a`))?.value).toBe('written twice');
      expect((await failover.snapshot([{ prefix: `${p}b/` }])).ranges[0]).toHaveLength(2);
    } finally {
      await failover.close();
    }
  });

  it('refuses to read after close, and close is idempotent', async () => {
    const closed = new Http2EtcdKeystore(config);
    expect((await closed.get(`${p}a`))?.value).toBe('written twice');
    await closed.close();
    await closed.close();
    await expect(closed.get(`${p}a`)).rejects.toThrow(StoreUnavailableError);
    await expect(closed.range(p)).rejects.toThrow(StoreUnavailableError);
    await expect(closed.snapshot([{ prefix: p }])).rejects.toThrow(StoreUnavailableError);
  });
});

describe('Http2EtcdKeystore with large answers and 64-bit lease ids', () => {
  const config = testEtcdConfig('grpc-reader-large');
  const p = config.prefix;
  let store: EtcdKeystore;
  let reader: Http2EtcdKeystore;
  let client: Etcd3;

  beforeAll(() => {
    store = new EtcdKeystore(config);
    reader = new Http2EtcdKeystore(config);
    client = new Etcd3({ hosts: config.endpoints });
  });
  afterAll(async () => {
    await store.txn([], [{ type: 'deletePrefix', prefix: p }]);
    await reader.close();
    await store.close();
    client.close();
  });

  it('reads a snapshot of more than 4 MiB, split over many HTTP/2 frames', async () => {
    // Five values of about 1 MiB each (a write may be at most 1.5 MiB), with multi-byte
    // characters so that a byte/character mix-up would show.
    for (let i = 0; i < 5; i += 1) {
      await store.put(`${p}big/${i}`, `${i}:${'ø'.repeat(300 * 1024)}${'x'.repeat(400 * 1024)}`);
    }
    const ranges = [{ prefix: `${p}big/` }, { prefix: `${p}big/`, keysOnly: true }];
    const [viaEtcd3, viaReader] = await Promise.all([
      store.snapshot(ranges),
      reader.snapshot(ranges),
    ]);
    const bytes = viaReader.ranges[0]!.reduce((sum, kv) => sum + Buffer.byteLength(kv.value), 0);
    expect(bytes).toBeGreaterThan(4 * 1024 * 1024);
    expect(viaReader).toEqual(viaEtcd3);
    expect(viaReader.ranges[0]?.map((kv) => kv.value.slice(0, 2))).toEqual([
      '0:',
      '1:',
      '2:',
      '3:',
      '4:',
    ]);
    expect((await reader.range(`${p}big/`)).kvs).toEqual(viaReader.ranges[0]);
  });

  it('decodes lease ids above 2^53 exactly', async () => {
    // etcd grants a lease with the id the client chooses; etcd3 passes int64 as strings.
    const ids = ['9007199254740993', '9223372036854775807'];
    for (const id of ids) await client.leaseClient.leaseGrant({ TTL: 60, ID: id });
    try {
      for (const [i, id] of ids.entries()) {
        await store.put(`${p}leased/${i}`, 'x', { lease: id });
      }
      const read = await reader.range(`${p}leased/`);
      expect(read.kvs.map((kv) => kv.lease)).toEqual(ids);
      expect(read.kvs).toEqual((await store.range(`${p}leased/`)).kvs);
    } finally {
      for (const id of ids) await client.leaseClient.leaseRevoke({ ID: id });
    }
  });
});

describe('Http2EtcdKeystore when etcd cannot be reached', () => {
  it('fails at once on a closed port, naming the endpoint', async () => {
    const port = await freePort();
    const reader = new Http2EtcdKeystore(
      etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: `127.0.0.1:${port}` }),
    );
    const started = Date.now();
    const error = await reader.range('/dac/').catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toBe(
      `cannot reach etcd at http://127.0.0.1:${port}: connection refused`,
    );
    expect((error as StoreUnavailableError).detail).toContain('ECONNREFUSED');
    await reader.close();
  });

  it('gives up at its deadline on a server that never answers', async () => {
    const silent = await startSilentServer();
    const { port } = silent;
    const reader = new Http2EtcdKeystore(
      etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: `127.0.0.1:${port}`, DAC_ETCD_TIMEOUT_MS: '1000' }),
    );
    const started = Date.now();
    const error = await reader.get('/dac/x').catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    await reader.close();
    await silent.close();
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toBe(
      `etcd at http://127.0.0.1:${port} did not answer within 1 s`,
    );
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(1500);
  });

  it('keeps one deadline for all endpoints together', async () => {
    const silent = [await startSilentServer(), await startSilentServer()];
    const reader = new Http2EtcdKeystore(
      etcdConfigFromEnv({
        ETCDCTL_ENDPOINTS: silent.map((server) => `127.0.0.1:${server.port}`).join(','),
        DAC_ETCD_TIMEOUT_MS: '1000',
      }),
    );
    const started = Date.now();
    const error = await reader.snapshot([{ prefix: '/dac/' }]).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    await reader.close();
    for (const server of silent) await server.close();
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(1500);
  });
});

describe('Http2EtcdKeystore with TLS and client certificates', () => {
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
      await store.put('/tls-grpc/key', 'over https');
    } finally {
      await store.close();
    }
    const reader = new Http2EtcdKeystore(etcdConfigFromEnv(env));
    try {
      expect((await reader.get('/tls-grpc/key'))?.value).toBe('over https');
      const snapshot = await reader.snapshot([{ prefix: '/tls-grpc/', keysOnly: true }]);
      expect(snapshot.keys[0]).toEqual(['/tls-grpc/key']);
    } finally {
      await reader.close();
    }
  });

  it('fails with one line naming the missing client certificate', async () => {
    const reader = new Http2EtcdKeystore(
      etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: etcd.endpoint, ETCDCTL_CA_FILE: certs.caFile }),
    );
    const error = await reader.get('/tls-grpc/key').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    // Which alert depends on the Go version of etcd.
    expect((error as ConfigError).message).toMatch(
      new RegExp(
        `^etcd at ${etcd.endpoint.replace(/\./g, '\\.')}: TLS handshake failed: etcd requires a ` +
          'client certificate; set ETCDCTL_CERT_FILE and ETCDCTL_KEY_FILE ' +
          '\\(alert (bad certificate|certificate required)\\)$',
      ),
    );
    await reader.close();
  });
});

describe('a process reading with Http2EtcdKeystore', () => {
  const config = testEtcdConfig('grpc-reader-exit');
  // The built reader (global set-up runs the build), as the CLI binaries load it.
  const built = join(__dirname, '..', '..', '..', 'dist', 'keystore', 'etcd-http2', 'keystore.js');

  /** Run a child that reads once, prints what it read and which packages it loaded. */
  function readInChild(close: boolean): Promise<{ output: string; exitMs: number }> {
    const script = `
      const { Http2EtcdKeystore } = require(${JSON.stringify(built)});
      const reader = new Http2EtcdKeystore(${JSON.stringify(config)});
      reader.snapshot([{ prefix: ${JSON.stringify(config.prefix)} }]).then(async (snapshot) => {
        ${close ? 'await reader.close();' : ''}
        const packages = Object.keys(require.cache).filter((path) => path.includes('node_modules'));
        process.stdout.write(JSON.stringify({ values: snapshot.ranges[0].map((kv) => kv.value), packages }));
        process.stdout.write('\\n' + Date.now());
      });`;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('exit', () => {
        const [json = '', printedAt = '0'] = output.split('\n');
        resolve({ output: json, exitMs: Date.now() - Number(printedAt) });
      });
    });
  }

  beforeAll(async () => {
    const store = new EtcdKeystore(config);
    await store.put(`${config.prefix}k`, 'read by a child');
    await store.close();
  });
  afterAll(async () => {
    const store = new EtcdKeystore(config);
    await store.txn([], [{ type: 'deletePrefix', prefix: config.prefix }]);
    await store.close();
  });

  it.each([
    ['after close()', true],
    ['even without close()', false],
  ])('exits as soon as it has read %s, having loaded no package', async (_case, close) => {
    const { output, exitMs } = await readInChild(close);
    expect(JSON.parse(output)).toEqual({ values: ['read by a child'], packages: [] });
    // An open HTTP/2 session would hold the process until etcd drops it, which it never does.
    expect(exitMs).toBeLessThan(500);
  });
});

describe('Http2EtcdKeystore.txnAndSnapshot', () => {
  const config = testEtcdConfig('put-and-snapshot');
  const p = config.prefix;
  const store = new Http2EtcdKeystore(config);
  afterAll(async () => {
    await store.txn([], [{ type: 'deletePrefix', prefix: p }]);
    await store.close();
  });

  it('puts, then reads the ranges in the same transaction: they see the put, at its revision', async () => {
    await store.put(`${p}a/1`, 'before');
    const snapshot = await store.txnAndSnapshot(
      [],
      [{ type: 'put', key: `${p}a/2`, value: 'new' }],
      [
        { prefix: `${p}a/` },
        { prefix: `${p}a/`, keysOnly: true },
        { prefix: `${p}a/`, countOnly: true },
      ],
    );
    const written = await store.get(`${p}a/2`);
    expect(written?.value).toBe('new');
    expect(snapshot.revision).toBe(written?.modRevision);
    expect(snapshot.ranges[0]?.map((kv) => [kv.key, kv.value])).toEqual([
      [`${p}a/1`, 'before'],
      [`${p}a/2`, 'new'],
    ]);
    expect(snapshot.keys[1]).toEqual([`${p}a/1`, `${p}a/2`]);
    expect(snapshot.counts).toEqual([2, 2, 2]);
  });

  it('decodes the reads of the failure branch, keys only where asked, after no writes', async () => {
    const at = await store.put(`${p}f/1`, 'one');
    await store.put(`${p}f/1`, 'two');
    const snapshot = await store.txnAndSnapshot(
      [{ key: `${p}f/1`, target: 'modRevision', op: '==', value: at }],
      [
        { type: 'put', key: `${p}f/2`, value: 'x' },
        { type: 'put', key: `${p}f/3`, value: 'y' },
      ],
      [{ prefix: `${p}f/`, keysOnly: true }, { prefix: `${p}f/` }],
    );
    expect(snapshot.succeeded).toBe(false);
    expect(snapshot.keys).toEqual([[`${p}f/1`], []]);
    expect(snapshot.ranges[1]?.map((kv) => kv.value)).toEqual(['two']);
    expect(await store.get(`${p}f/2`)).toBeUndefined();
  });

  it('refuses ranges a snapshot would refuse, writing nothing', async () => {
    await expect(
      store.txnAndSnapshot([], [{ type: 'put', key: `${p}b`, value: 'x' }], [{ prefix: '' }]),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(await store.get(`${p}b`)).toBeUndefined();
  });
});
