/**
 * The TLS files of the settings (`ETCDCTL_CA_FILE`, `ETCDCTL_CERT_FILE`, `ETCDCTL_KEY_FILE`),
 * read once and checked before any connection: a file that holds no certificate or key, a key
 * that does not belong to the certificate, or a certificate that is not valid now cannot work,
 * and would otherwise surface as OpenSSL's words (or as a handshake that just fails).
 *
 * Only with TLS configured, and cheaply: Node's TLS context of the files, which the connection
 * needs anyway, is made here, once, and refuses what OpenSSL refuses (a key that is not the
 * certificate's among them); parsing the certificates for their dates adds half a millisecond.
 */
import type { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SecureContext } from 'node:tls';
import type { EtcdConfig } from '../config/etcd-config';
import { ConfigError } from '../errors/errors';

/** The TLS material named by the settings, read once; ConfigError names an unusable file. */
export interface TlsMaterial {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Node's context of the three, made once (our reader connects with it). */
  secureContext?: SecureContext;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
const CERTIFICATE_BEGIN = /-----BEGIN CERTIFICATE-----/;
const PRIVATE_KEY_BEGIN = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;
/** The extended key usage that lets a certificate authenticate a TLS client. */
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/*
 * Loaded synchronously (the clients read their files as they are constructed) and only with
 * TLS configured: a CLI call without TLS must not pay the 3 ms of `node:crypto`.
 */
function crypto(): typeof import('node:crypto') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node:crypto') as typeof import('node:crypto');
}

function tls(): typeof import('node:tls') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node:tls') as typeof import('node:tls');
}

function readTlsFile(path: string, variable: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`${variable}: cannot read ${path} (${(error as Error).message})`);
  }
}

/** A certificate date (`Jan  1 00:00:00 2026 GMT`) as `2026-01-01T00:00:00Z`. */
export function certificateDate(text: string): string {
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : date.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Why `certificate` is not valid at `now`, in a few words; undefined if it is. */
export function validityProblem(
  certificate: { validFrom: string; validTo: string },
  now = Date.now(),
): string | undefined {
  if (now > new Date(certificate.validTo).getTime()) {
    return `the certificate has expired (notAfter ${certificateDate(certificate.validTo)})`;
  }
  if (now < new Date(certificate.validFrom).getTime()) {
    const from = certificateDate(certificate.validFrom);
    return `the certificate is not valid yet (notBefore ${from}); check the clock`;
  }
  return undefined;
}

/** The certificates of a PEM file; ConfigError unless it holds at least one, all readable. */
function parseCertificates(pem: Buffer, path: string, variable: string): X509Certificate[] {
  const text = pem.toString('latin1');
  const blocks = text.match(CERTIFICATE_BLOCK) ?? [];
  const certificates = blocks.flatMap((block) => {
    try {
      return [new (crypto().X509Certificate)(block)];
    } catch {
      return [];
    }
  });
  if (certificates.length === 0 || certificates.length < blocks.length) {
    const what = PRIVATE_KEY_BEGIN.test(text)
      ? 'a private key, not a certificate'
      : 'not a PEM certificate';
    throw new ConfigError(`${variable} ${path}: ${what}`);
  }
  return certificates;
}

/** ConfigError unless the key file holds an unencrypted PEM private key (by its text). */
function checkKeyFile(pem: Buffer, path: string): void {
  const text = pem.toString('latin1');
  const what = !PRIVATE_KEY_BEGIN.test(text)
    ? CERTIFICATE_BEGIN.test(text)
      ? 'a certificate, not a private key'
      : 'not a PEM private key'
    : /ENCRYPTED/.test(text)
      ? 'the private key is encrypted; use a key without a passphrase'
      : undefined;
  if (what) throw new ConfigError(`ETCDCTL_KEY_FILE ${path}: ${what}`);
}

/** ConfigError unless some certificate of the CA file is valid now. */
function checkCaFile(pem: Buffer, path: string): void {
  const problems = parseCertificates(pem, path, 'ETCDCTL_CA_FILE').map((ca) => validityProblem(ca));
  if (problems.every((problem) => problem !== undefined)) {
    throw new ConfigError(`ETCDCTL_CA_FILE ${path}: ${problems[0]}`);
  }
}

/** ConfigError unless the client certificate is valid now, and for TLS clients. */
function checkClientCertificate(certificate: X509Certificate, path: string): void {
  const problem = validityProblem(certificate);
  if (problem) throw new ConfigError(`ETCDCTL_CERT_FILE ${path}: ${problem}`);
  // A certificate without extended key usages may be used for anything.
  const usages = certificate.keyUsage as string[] | undefined;
  if (usages && usages.length > 0 && !usages.includes(CLIENT_AUTH)) {
    throw new ConfigError(
      `ETCDCTL_CERT_FILE ${path}: the certificate is not for TLS clients ` +
        '(its extendedKeyUsage lacks clientAuth)',
    );
  }
}

/** OpenSSL's reason in one of its errors: `ee key too small` of `error:0A00018F:SSL routines::ee key too small`. */
function opensslReason(error: unknown): string {
  const message = String((error as Error | undefined)?.message ?? error);
  return /error:[0-9A-F]+:[^:]*:[^:]*:([^:]+)/.exec(message)?.[1] ?? message;
}

/** Node's TLS context of `material`; ConfigError naming the files if OpenSSL refuses them. */
function secureContextOf(
  material: TlsMaterial,
  files: { caFile: string; certFile?: string; keyFile?: string },
): SecureContext {
  try {
    return tls().createSecureContext(material);
  } catch (error) {
    const pair = `ETCDCTL_CERT_FILE ${files.certFile} and ETCDCTL_KEY_FILE ${files.keyFile}`;
    if ((error as { code?: unknown }).code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH') {
      throw new ConfigError(
        `${pair} do not match (the key is not the private key of the certificate)`,
        { cause: error },
      );
    }
    // Whatever else OpenSSL refuses: a key too small for its security level, a damaged file.
    const named = files.certFile !== undefined ? pair : `ETCDCTL_CA_FILE ${files.caFile}`;
    throw new ConfigError(`${named} cannot be used for TLS (${opensslReason(error)})`, {
      cause: error,
    });
  }
}

/** Read and check the CA, certificate and key files of `config`, or undefined without TLS. */
export function readTlsMaterial(config: EtcdConfig): TlsMaterial | undefined {
  if (!config.tls) return undefined;
  const { caFile, certFile, keyFile } = config.tls;
  const ca = readTlsFile(caFile, 'ETCDCTL_CA_FILE');
  const cert = certFile ? readTlsFile(certFile, 'ETCDCTL_CERT_FILE') : undefined;
  const key = keyFile ? readTlsFile(keyFile, 'ETCDCTL_KEY_FILE') : undefined;
  checkCaFile(ca, caFile);
  const certificate = cert && parseCertificates(cert, certFile!, 'ETCDCTL_CERT_FILE')[0];
  if (key) checkKeyFile(key, keyFile!);
  const material: TlsMaterial = { ca, ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
  material.secureContext = secureContextOf(material, config.tls);
  if (certificate) checkClientCertificate(certificate, certFile!);
  return material;
}
