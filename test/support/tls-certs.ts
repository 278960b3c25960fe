/**
 * Makes a throw-away CA, an etcd server certificate for 127.0.0.1 and a client certificate; and
 * on demand further ones that are wrong in one way (signed by another CA, expired, not yet
 * valid, for another host).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/** A further certificate: what it is for, who signs it and when it is valid. */
export interface CertificateOptions {
  use: 'server' | 'client';
  /** The test CA (default), another CA of its own (see `otherCa`), or the certificate itself. */
  signer?: 'ca' | 'other' | 'self';
  /** The subjectAltName of a server certificate; default `IP:127.0.0.1,DNS:localhost`. */
  names?: string;
  /** Default `serverAuth,clientAuth` for a server, `clientAuth` for a client. */
  extendedKeyUsage?: string;
  /** Default an hour ago. */
  notBefore?: Date;
  /** Default in two days. */
  notAfter?: Date;
}

/** `2026-01-01T00:00:00Z` as openssl's `20260101000000Z`. */
function opensslDate(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/** A CA other than the one etcd and our certificates use (made once); its certificate file. */
export function otherCa(certs: TestCertificates): string {
  if (!existsSync(join(certs.dir, 'other-ca.pem'))) {
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=dac-test-other-ca',
        '-keyout',
        'other-ca-key.pem',
        '-out',
        'other-ca.pem',
      ],
      certs.dir,
    );
  }
  return join(certs.dir, 'other-ca.pem');
}

/** Make certificate `name` (and its key) in the directory of `certs`, with `openssl ca`. */
export function makeCertificate(
  certs: TestCertificates,
  name: string,
  options: CertificateOptions,
): { certFile: string; keyFile: string } {
  const { dir } = certs;
  if (!existsSync(join(dir, 'openssl-ca.cnf'))) {
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), '1000\n');
    writeFileSync(
      join(dir, 'openssl-ca.cnf'),
      [
        '[ca]',
        'default_ca = test',
        '[test]',
        `database = ${join(dir, 'index.txt')}`,
        `serial = ${join(dir, 'serial')}`,
        `new_certs_dir = ${dir}`,
        'default_md = sha256',
        'policy = any',
        'unique_subject = no',
        '[any]',
        'commonName = supplied',
        '',
      ].join('\n'),
    );
  }
  const server = options.use === 'server';
  const usage = options.extendedKeyUsage ?? (server ? 'serverAuth,clientAuth' : 'clientAuth');
  const names = server ? `subjectAltName=${options.names ?? 'IP:127.0.0.1,DNS:localhost'}\n` : '';
  writeFileSync(join(dir, `${name}.ext`), `${names}extendedKeyUsage=${usage}\n`);
  openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      `/CN=${options.use === 'server' ? 'localhost' : 'dacctl'}`,
      '-keyout',
      `${name}-key.pem`,
      '-out',
      `${name}.csr`,
    ],
    dir,
  );
  const signer = options.signer ?? 'ca';
  const [caCert, caKey] =
    signer === 'self'
      ? []
      : signer === 'other'
        ? [otherCa(certs), join(dir, 'other-ca-key.pem')]
        : [certs.caFile, join(dir, 'ca-key.pem')];
  const now = Date.now();
  openssl(
    [
      'ca',
      '-batch',
      '-notext',
      '-config',
      'openssl-ca.cnf',
      ...(signer === 'self' ? ['-selfsign', '-keyfile', `${name}-key.pem`] : []),
      ...(caCert && caKey ? ['-cert', caCert, '-keyfile', caKey] : []),
      '-startdate',
      opensslDate(options.notBefore ?? new Date(now - 3600_000)),
      '-enddate',
      opensslDate(options.notAfter ?? new Date(now + 2 * 86400_000)),
      '-extfile',
      `${name}.ext`,
      '-in',
      `${name}.csr`,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
  return { certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}-key.pem`) };
}

/** An etcd that requires TLS client certificates, with the certificates to reach it. */
export interface TlsEtcd {
  etcd: RunningEtcd;
  certs: TestCertificates;
  /** Stop etcd by pid and remove the certificates. */
  stop(): void;
}

/**
 * Make throw-away certificates and start an etcd that requires them; `server` makes the
 * certificate etcd serves instead of the good one (see `makeCertificate`).
 */
export async function startTlsEtcd(server?: Omit<CertificateOptions, 'use'>): Promise<TlsEtcd> {
  const certs = makeTestCertificates();
  let served = { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile };
  try {
    if (server) served = makeCertificate(certs, 'served', { ...server, use: 'server' });
  } catch (error) {
    rmSync(certs.dir, { recursive: true, force: true });
    throw error;
  }
  const etcd = await startEtcd({ tls: { caFile: certs.caFile, ...served } }).catch(
    (error: unknown) => {
      rmSync(certs.dir, { recursive: true, force: true });
      throw error;
    },
  );
  return {
    etcd,
    certs,
    stop: () => {
      stopEtcd(etcd);
      rmSync(certs.dir, { recursive: true, force: true });
    },
  };
}
