/** Makes a throw-away CA, an etcd server certificate for 127.0.0.1 and a client certificate. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd, stopEtcd, type RunningEtcd } from './etcd-server';

export interface TestCertificates {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

/** Generate the certificates with openssl in a new temporary directory. */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'dac-test-tls-'));
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=dac-test-ca',
      '-keyout',
      'ca-key.pem',
      '-out',
      'ca.pem',
    ],
    dir,
  );
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, cn] of [
    ['server', 'localhost'],
    ['client', 'dacctl'],
  ] as const) {
    openssl(
      [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        `/CN=${cn}`,
        '-keyout',
        `${name}-key.pem`,
        '-out',
        `${name}.csr`,
      ],
      dir,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca-key.pem',
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.pem`,
      ],
      dir,
    );
  }
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server-key.pem'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client-key.pem'),
  };
}

/** An etcd that requires TLS client certificates, with the certificates to reach it. */
export interface TlsEtcd {
  etcd: RunningEtcd;
  certs: TestCertificates;
  /** Stop etcd by pid and remove the certificates. */
  stop(): void;
}

/** Make throw-away certificates and start an etcd that requires them. */
export async function startTlsEtcd(): Promise<TlsEtcd> {
  const certs = makeTestCertificates();
  const etcd = await startEtcd({
    tls: { caFile: certs.caFile, certFile: certs.serverCertFile, keyFile: certs.serverKeyFile },
  }).catch((error: unknown) => {
    rmSync(certs.dir, { recursive: true, force: true });
    throw error;
  });
  return {
    etcd,
    certs,
    stop: () => {
      stopEtcd(etcd);
      rmSync(certs.dir, { recursive: true, force: true });
    },
  };
}
