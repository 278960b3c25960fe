/**
 * Connecting to etcd: deadlines when it is unreachable, TLS with client certificates, and one
 * line naming the setting to fix for each TLS setting or certificate that cannot work, the same
 * from both clients (etcd3 for dacd, Http2EtcdKeystore for the CLI).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { etcdConfigFromEnv } from '../../../src/config/etcd-config';
import { ConfigError, StoreUnavailableError } from '../../../src/errors/errors';
import { unreachableError } from '../../../src/keystore/etcd-connection';
import { Http2EtcdKeystore } from '../../../src/keystore/etcd-http2/keystore';
import { readTlsMaterial } from '../../../src/keystore/tls-files';
import { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import { freePort, type RunningEtcd } from '../../support/etcd-server';
import { startSilentServer } from '../../support/silent-server';
import {
  makeCertificate,
  otherCa,
  startTlsEtcd,
  type TestCertificates,
  type TlsEtcd,
} from '../../support/tls-certs';

describe.each([
  ['EtcdKeystore', EtcdKeystore],
  ['Http2EtcdKeystore', Http2EtcdKeystore],
] as const)('an unreachable etcd, from %s', (_name, Store) => {
  it('fails within 3 s with a message naming the endpoint and the refusal', async () => {
    const port = await freePort();
    const store = new Store(etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: `127.0.0.1:${port}` }));
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
    const store = new Store(etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: `127.0.0.1:${port}` }));
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
    const store = new Store(
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

/** A date as the messages give it: `2026-01-01T00:00:00Z`. */
const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d+Z$/, 'Z');
/** A whole second `days` from now (certificates have no milliseconds). */
const daysFromNow = (days: number) => new Date(Math.floor(Date.now() / 1000 + days * 86400) * 1000);

/** Each client, and one request of it: dacd's (etcd3) and the CLI's. */
const CLIENTS = [
  [
    'EtcdKeystore',
    async (env: NodeJS.ProcessEnv) => {
      const store = new EtcdKeystore(etcdConfigFromEnv(env));
      await store.put('/tls/key', 'value').finally(() => store.close());
    },
  ],
  [
    'Http2EtcdKeystore',
    async (env: NodeJS.ProcessEnv) => {
      const reader = new Http2EtcdKeystore(etcdConfigFromEnv(env));
      await reader.get('/tls/key').finally(() => reader.close());
    },
  ],
] as const;

/** What `use` fails with (its constructor or its request). */
async function failureOf(use: (env: NodeJS.ProcessEnv) => Promise<void>, env: NodeJS.ProcessEnv) {
  try {
    await use(env);
  } catch (error) {
    return error as Error;
  }
  throw new Error('it did not fail');
}

describe('TLS settings and certificates that cannot work', () => {
  let good: TlsEtcd;
  let expired: TlsEtcd;
  let early: TlsEtcd;
  let elsewhere: TlsEtcd;
  let certs: TestCertificates;
  const expiredAt = daysFromNow(-1);
  const validFrom = daysFromNow(30);
  /** The names of the settings and files of each case, filled in `beforeAll`. */
  const cases: Record<string, { env: NodeJS.ProcessEnv; message: string | RegExp }> = {};

  /** Settings for `etcd` with the good CA and client certificate, then `changes`. */
  const settings = (etcd: TlsEtcd, changes: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ETCDCTL_ENDPOINTS: etcd.etcd.endpoint,
    ETCDCTL_CA_FILE: etcd.certs.caFile,
    ETCDCTL_CERT_FILE: etcd.certs.clientCertFile,
    ETCDCTL_KEY_FILE: etcd.certs.clientKeyFile,
    ...changes,
  });

  beforeAll(async () => {
    [good, expired, early, elsewhere] = await Promise.all([
      startTlsEtcd(),
      startTlsEtcd({ notBefore: daysFromNow(-2), notAfter: expiredAt }),
      startTlsEtcd({ notBefore: validFrom, notAfter: daysFromNow(60) }),
      startTlsEtcd({ names: 'DNS:elsewhere' }),
    ]);
    certs = good.certs;
    const garbage = join(certs.dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    const expiredClient = makeCertificate(certs, 'expired-client', {
      use: 'client',
      notBefore: daysFromNow(-2),
      notAfter: expiredAt,
    });
    const earlyClient = makeCertificate(certs, 'early-client', {
      use: 'client',
      notBefore: validFrom,
    });
    const serverOnly = makeCertificate(certs, 'server-only', {
      use: 'client',
      extendedKeyUsage: 'serverAuth',
    });
    const untrusted = makeCertificate(certs, 'untrusted-client', {
      use: 'client',
      signer: 'other',
    });
    const handshake = (etcd: TlsEtcd) => `etcd at ${etcd.etcd.endpoint}: TLS handshake failed:`;
    Object.assign(cases, {
      "a key that is not the certificate's": {
        env: settings(good, { ETCDCTL_KEY_FILE: certs.serverKeyFile }),
        message:
          `ETCDCTL_CERT_FILE ${certs.clientCertFile} and ETCDCTL_KEY_FILE ${certs.serverKeyFile} ` +
          'do not match (the key is not the private key of the certificate)',
      },
      'a certificate file that is no certificate': {
        env: settings(good, { ETCDCTL_CERT_FILE: garbage }),
        message: `ETCDCTL_CERT_FILE ${garbage}: not a PEM certificate`,
      },
      'the key given as the certificate': {
        env: settings(good, { ETCDCTL_CERT_FILE: certs.clientKeyFile }),
        message: `ETCDCTL_CERT_FILE ${certs.clientKeyFile}: a private key, not a certificate`,
      },
      'a key file that is no key': {
        env: settings(good, { ETCDCTL_KEY_FILE: garbage }),
        message: `ETCDCTL_KEY_FILE ${garbage}: not a PEM private key`,
      },
      'a CA file that is no certificate': {
        env: settings(good, { ETCDCTL_CA_FILE: garbage }),
        message: `ETCDCTL_CA_FILE ${garbage}: not a PEM certificate`,
      },
      'an expired client certificate': {
        env: settings(good, {
          ETCDCTL_CERT_FILE: expiredClient.certFile,
          ETCDCTL_KEY_FILE: expiredClient.keyFile,
        }),
        message:
          `ETCDCTL_CERT_FILE ${expiredClient.certFile}: the certificate has expired ` +
          `(notAfter ${isoSeconds(expiredAt)})`,
      },
      'a client certificate not valid yet': {
        env: settings(good, {
          ETCDCTL_CERT_FILE: earlyClient.certFile,
          ETCDCTL_KEY_FILE: earlyClient.keyFile,
        }),
        message:
          `ETCDCTL_CERT_FILE ${earlyClient.certFile}: the certificate is not valid yet ` +
          `(notBefore ${isoSeconds(validFrom)}); check the clock`,
      },
      'a client certificate only for servers': {
        env: settings(good, {
          ETCDCTL_CERT_FILE: serverOnly.certFile,
          ETCDCTL_KEY_FILE: serverOnly.keyFile,
        }),
        message:
          `ETCDCTL_CERT_FILE ${serverOnly.certFile}: the certificate is not for TLS clients ` +
          '(its extendedKeyUsage lacks clientAuth)',
      },
      'a CA that did not sign the certificate of etcd': {
        env: settings(good, { ETCDCTL_CA_FILE: otherCa(certs) }),
        message:
          `${handshake(good)} the certificate of etcd is not signed by ETCDCTL_CA_FILE ` +
          `${otherCa(certs)} (unable to verify the first certificate)`,
      },
      'an etcd whose certificate has expired': {
        env: settings(expired),
        message: `${handshake(expired)} the certificate of etcd has expired (notAfter ${isoSeconds(expiredAt)})`,
      },
      'an etcd whose certificate is not valid yet': {
        env: settings(early),
        message:
          `${handshake(early)} the certificate of etcd is not valid yet ` +
          `(notBefore ${isoSeconds(validFrom)}); check the clocks`,
      },
      'an etcd whose certificate is for another host': {
        env: settings(elsewhere),
        message:
          `${handshake(elsewhere)} the certificate of etcd is not for 127.0.0.1 ` +
          '(ERR_TLS_CERT_ALTNAME_INVALID; it names DNS:elsewhere)',
      },
      'no client certificate for an etcd that requires one': {
        env: { ETCDCTL_ENDPOINTS: good.etcd.endpoint, ETCDCTL_CA_FILE: certs.caFile },
        // Which alert depends on the Go version of etcd.
        message: new RegExp(
          `^${escape(handshake(good))} etcd requires a client certificate; set ETCDCTL_CERT_FILE ` +
            'and ETCDCTL_KEY_FILE \\(alert (bad certificate|certificate required)\\)$',
        ),
      },
      'a client certificate that etcd does not trust': {
        env: settings(good, {
          ETCDCTL_CERT_FILE: untrusted.certFile,
          ETCDCTL_KEY_FILE: untrusted.keyFile,
        }),
        message:
          `${handshake(good)} etcd rejected ETCDCTL_CERT_FILE ${untrusted.certFile} ` +
          '(alert bad certificate); etcd accepts only client certificates signed by its ' +
          '--trusted-ca-file',
      },
    });
  }, 60000);
  afterAll(() => {
    for (const etcd of [good, expired, early, elsewhere]) etcd?.stop();
  });

  const names = [
    "a key that is not the certificate's",
    'a certificate file that is no certificate',
    'the key given as the certificate',
    'a key file that is no key',
    'a CA file that is no certificate',
    'an expired client certificate',
    'a client certificate not valid yet',
    'a client certificate only for servers',
    'a CA that did not sign the certificate of etcd',
    'an etcd whose certificate has expired',
    'an etcd whose certificate is not valid yet',
    'an etcd whose certificate is for another host',
    'no client certificate for an etcd that requires one',
    'a client certificate that etcd does not trust',
  ];
  describe.each(CLIENTS)('%s', (_client, use) => {
    it.each(names)('refuses %s with one line naming the setting', async (name) => {
      const { env, message } = cases[name]!;
      const error = await failureOf(use, env);
      expect(error).toBeInstanceOf(ConfigError);
      if (typeof message === 'string') expect(error.message).toBe(message);
      else expect(error.message).toMatch(message);
      expect(error.message).not.toMatch(/routines|error:[0-9A-F]{8}|\n/);
    });
  });

  // etcd3 with several endpoints: see the report of issue 14 (its retries run out the deadline).
  it('the reader names every endpoint when all fail alike', async () => {
    const endpoints = [good.etcd.endpoint, good.etcd.endpoint.replace('127.0.0.1', 'localhost')];
    const env = settings(good, {
      ETCDCTL_ENDPOINTS: endpoints.join(','),
      ETCDCTL_CA_FILE: otherCa(certs),
    });
    const error = await failureOf(CLIENTS[1][1], env);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      `etcd at ${endpoints.join(',')}: TLS handshake failed: the certificate of etcd is not ` +
        `signed by ETCDCTL_CA_FILE ${otherCa(certs)} (unable to verify the first certificate)`,
    );
  });

  it('names the refusal of our certificate that a connection reset overtook', async () => {
    // In TLS 1.3 etcd refuses a client certificate after the handshake, when the request is
    // on its way; the reset of the connection can then arrive before the alert.
    const untrusted = makeCertificate(certs, 'reset-client', { use: 'client', signer: 'other' });
    const config = etcdConfigFromEnv(
      settings(good, {
        ETCDCTL_CERT_FILE: untrusted.certFile,
        ETCDCTL_KEY_FILE: untrusted.keyFile,
      }),
    );
    const reset = Object.assign(new Error('write ECONNRESET'), { code: 'ECONNRESET' });
    const error = await unreachableError(config, readTlsMaterial(config), [reset]);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      `etcd at ${good.etcd.endpoint}: TLS handshake failed: etcd rejected ETCDCTL_CERT_FILE ` +
        `${untrusted.certFile} (alert bad certificate); etcd accepts only client certificates ` +
        'signed by its --trusted-ca-file',
    );
    // With certificates etcd accepts, a reset stays a reset.
    const accepted = etcdConfigFromEnv(settings(good));
    const still = await unreachableError(accepted, readTlsMaterial(accepted), [reset]);
    expect(still).toBeInstanceOf(StoreUnavailableError);
    expect(still.message).toBe(`cannot reach etcd at ${good.etcd.endpoint}: connection reset`);
  });

  it('the reader says "try again" when only some endpoints fail TLS, naming each failure', async () => {
    const down = await freePort();
    const endpoints = `${good.etcd.endpoint},https://127.0.0.1:${down}`;
    const error = await failureOf(
      CLIENTS[1][1],
      settings(good, { ETCDCTL_ENDPOINTS: endpoints, ETCDCTL_CA_FILE: otherCa(certs) }),
    );
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error.message).toBe(
      `cannot reach etcd at ${good.etcd.endpoint} (TLS handshake failed: the certificate of ` +
        `etcd is not signed by ETCDCTL_CA_FILE ${otherCa(certs)} (unable to verify the first ` +
        `certificate)), https://127.0.0.1:${down} (connection refused)`,
    );
  });
});

/** `text` as a regular expression matching itself. */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
