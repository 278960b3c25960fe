/**
 * TLS settings that cannot work stop the real binaries with one line naming the setting and
 * the reason, and exit 4 (an operator must fix the configuration): the CLI, on its write path
 * (`dacctl setup`, etcd3) and its read path (`dw_wlm_cli --function pools`, as Slurm polls it,
 * our gRPC reader), and dacd. No stack trace, no OpenSSL error string.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBinary } from '../../support/cli';
import { uniquePrefix } from '../../support/test-etcd';
import { otherCa, startTlsEtcd, type TlsEtcd } from '../../support/tls-certs';

const prefix = uniquePrefix('bad-tls-settings');
/** A whole second, a day ago: when the certificate of `expired` ran out. */
const expiredAt = new Date((Math.floor(Date.now() / 1000) - 86400) * 1000);

let dir: string;
let job: string;
let good: TlsEtcd;
let expired: TlsEtcd;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dac-bad-tls-'));
  job = join(dir, 'job.sh');
  writeFileSync(job, '#!/bin/sh\n#DW jobdw type=scratch access_mode=striped capacity=1GiB\n');
  writeFileSync(join(dir, 'garbage.pem'), 'not a certificate\n');
  [good, expired] = await Promise.all([
    startTlsEtcd(),
    startTlsEtcd({ notBefore: new Date(expiredAt.getTime() - 86400_000), notAfter: expiredAt }),
  ]);
}, 60000);

afterAll(() => {
  good?.stop();
  expired?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Settings for `etcd` with its CA and a good client certificate, then `changes`. */
function settings(etcd: TlsEtcd, changes: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ETCDCTL_ENDPOINTS: etcd.etcd.endpoint.replace('https://', ''),
    ETCDCTL_CA_FILE: etcd.certs.caFile,
    ETCDCTL_CERT_FILE: etcd.certs.clientCertFile,
    ETCDCTL_KEY_FILE: etcd.certs.clientKeyFile,
    ...changes,
  };
}

/** The cases: their settings and the line each program must print. */
const CASES: Record<string, () => { env: NodeJS.ProcessEnv; message: string }> = {
  'a key that is not the certificate of ETCDCTL_CERT_FILE': () => ({
    env: settings(good, { ETCDCTL_KEY_FILE: good.certs.serverKeyFile }),
    message:
      `ETCDCTL_CERT_FILE ${good.certs.clientCertFile} and ETCDCTL_KEY_FILE ` +
      `${good.certs.serverKeyFile} do not match (the key is not the private key of the certificate)`,
  }),
  'an ETCDCTL_CERT_FILE that holds no certificate': () => ({
    env: settings(good, { ETCDCTL_CERT_FILE: join(dir, 'garbage.pem') }),
    message: `ETCDCTL_CERT_FILE ${join(dir, 'garbage.pem')}: not a PEM certificate`,
  }),
  'an ETCDCTL_CA_FILE that did not sign the certificate of etcd': () => ({
    env: settings(good, { ETCDCTL_CA_FILE: otherCa(good.certs) }),
    message:
      `etcd at ${good.etcd.endpoint}: TLS handshake failed: the certificate of etcd is not ` +
      `signed by ETCDCTL_CA_FILE ${otherCa(good.certs)} (unable to verify the first certificate)`,
  }),
  'an etcd whose certificate has expired': () => ({
    env: settings(expired),
    message:
      `etcd at ${expired.etcd.endpoint}: TLS handshake failed: the certificate of etcd has ` +
      `expired (notAfter ${expiredAt.toISOString().replace(/\.\d+Z$/, 'Z')})`,
  }),
  'an http:// endpoint with ETCDCTL_CA_FILE': () => ({
    env: settings(good, { ETCDCTL_ENDPOINTS: good.etcd.endpoint.replace('https', 'http') }),
    message:
      `ETCDCTL_ENDPOINTS: ${good.etcd.endpoint.replace('https', 'http')} is plain HTTP but ` +
      'ETCDCTL_CA_FILE is set; use https://',
  }),
};

/** Nothing but the one line: no stack trace, no OpenSSL error string. */
function expectOneCleanLine(text: string, line: string): void {
  expect(text).toBe(`${line}\n`);
  expect(text).not.toMatch(/routines|error:[0-9A-F]{8}|\n\s+at /);
}

describe.each(Object.keys(CASES))('%s', (name) => {
  it('stops dacctl setup (the write path) with one line and exit 4', async () => {
    const { env, message } = CASES[name]!();
    const run = await runBinary(
      'dacctl',
      [
        ...['setup', '--token', '1', '--caller', 'SLURM', '--user', '1001', '--groupid', '1002'],
        ...['--capacity', 'default:1GiB', '--job', job],
      ],
      { prefix, env },
    );
    expectOneCleanLine(run.output, message);
    expect(run.code).toBe(4);
  });

  it('stops dw_wlm_cli pools (the read path) with one line and exit 4', async () => {
    const { env, message } = CASES[name]!();
    const run = await runBinary('dw_wlm_cli', ['--function', 'pools'], { prefix, env });
    expectOneCleanLine(run.output, message);
    expect(run.code).toBe(4);
  });

  it('stops dacd at start with one line and exit 4', async () => {
    const { env, message } = CASES[name]!();
    const run = await runBinary('dacd', [], {
      prefix,
      env: {
        DAC_HOST_NAME: 'tls1',
        DAC_LOCAL_ROOT: join(dir, 'bricks'),
        DAC_MOUNT_ROOT: join(dir, 'mnt'),
        ...env,
      },
    });
    expectOneCleanLine(run.stderr, `dacd: ${message}`);
    expect(run.code).toBe(4);
  });
});
