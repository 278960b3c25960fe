import { etcdConfigFromEnv } from '../../../src/config/etcd-config';
import { unavailableMessage } from '../../../src/keystore/etcd-connection';
import { tlsFailure, tlsFailureReason } from '../../../src/keystore/tls-failure';

/** An error as Node's TLS socket raises it. */
const nodeError = (code: string, message: string) => Object.assign(new Error(message), { code });
/** The same failure as etcd3 (grpc-js) passes it on: only its words, inside its own. */
const etcd3Error = (lastError: string) =>
  new Error(
    `14 UNAVAILABLE: No connection established. Last error: ${lastError}. Resolution note: `,
  );
const alert = (words: string) =>
  `80ACF1CF137F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert ${words}:` +
  '../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n';

describe('tlsFailure', () => {
  it.each([
    [
      nodeError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'),
      { problem: 'untrusted', said: 'unable to verify the first certificate' },
    ],
    [
      etcd3Error('Error: unable to verify the first certificate'),
      { problem: 'untrusted', said: 'unable to verify the first certificate' },
    ],
    [
      nodeError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'),
      { problem: 'untrusted', said: 'self-signed certificate' },
    ],
    [
      etcd3Error('Error: self-signed certificate in certificate chain'),
      { problem: 'untrusted', said: 'self-signed certificate in certificate chain' },
    ],
    [
      nodeError('UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate'),
      { problem: 'untrusted', said: 'unable to get local issuer certificate' },
    ],
    [
      etcd3Error('Error: certificate has expired'),
      { problem: 'expired', said: 'certificate has expired' },
    ],
    [
      nodeError('CERT_NOT_YET_VALID', 'certificate is not yet valid'),
      { problem: 'notYetValid', said: 'certificate is not yet valid' },
    ],
    [
      etcd3Error(
        "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: ",
      ),
      { problem: 'wrongHost', said: 'ERR_TLS_CERT_ALTNAME_INVALID' },
    ],
    [
      nodeError('INVALID_PURPOSE', 'unsupported certificate purpose'),
      { problem: 'notServer', said: 'unsupported certificate purpose' },
    ],
    [
      nodeError('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', alert('bad certificate')),
      { problem: 'rejected', said: 'alert bad certificate' },
    ],
    [etcd3Error(alert('bad certificate')), { problem: 'rejected', said: 'alert bad certificate' }],
    [
      nodeError('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'tlsv13 alert certificate required'),
      { problem: 'rejected', said: 'alert certificate required' },
    ],
    [
      nodeError('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', alert('unknown ca')),
      { problem: 'rejected', said: 'alert unknown ca' },
    ],
    // In a cause too.
    [
      new Error('the call failed', {
        cause: nodeError('CERT_HAS_EXPIRED', 'certificate has expired'),
      }),
      { problem: 'expired', said: 'certificate has expired' },
    ],
  ])('recognises %p', (error, failure) => {
    expect(tlsFailure(error)).toEqual(failure);
  });

  it.each([
    nodeError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:2379'),
    nodeError(
      'ECONNRESET',
      'Client network socket disconnected before secure TLS connection was established',
    ),
    new Error('the server did not agree to HTTP/2 (ALPN h2)'),
    nodeError('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', alert('handshake failure')),
    undefined,
  ])('recognises nothing in %p, which retrying may mend', (error) => {
    expect(tlsFailure(error)).toBeUndefined();
  });
});

describe('tlsFailureReason', () => {
  const endpoint = 'https://etcd1:2379';
  const withCert = etcdConfigFromEnv({
    ETCDCTL_ENDPOINTS: 'etcd1:2379',
    ETCDCTL_CA_FILE: '/etc/dac/ca.pem',
    ETCDCTL_CERT_FILE: '/etc/dac/client.pem',
    ETCDCTL_KEY_FILE: '/etc/dac/client-key.pem',
  });
  const caOnly = etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: 'etcd1:2379', ETCDCTL_CA_FILE: '/ca.pem' });
  const noTls = etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: 'https://etcd1:2379' });

  it.each([
    [
      withCert,
      { problem: 'untrusted', said: 'unable to verify the first certificate' },
      undefined,
      'the certificate of etcd is not signed by ETCDCTL_CA_FILE /etc/dac/ca.pem (unable to verify the first certificate)',
    ],
    [
      noTls,
      { problem: 'untrusted', said: 'self-signed certificate' },
      undefined,
      'the certificate of etcd is not signed by a CA this system trusts; set ETCDCTL_CA_FILE (self-signed certificate)',
    ],
    [
      withCert,
      { problem: 'expired', said: 'certificate has expired' },
      {
        outOfDate: {
          own: true,
          subject: 'etcd1',
          validFrom: 'Jan  1 00:00:00 2025 GMT',
          validTo: 'Jan  1 00:00:00 2026 GMT',
        },
      },
      'the certificate of etcd has expired (notAfter 2026-01-01T00:00:00Z)',
    ],
    [
      withCert,
      { problem: 'expired', said: 'certificate has expired' },
      {
        outOfDate: {
          own: false,
          subject: 'site-ca',
          validFrom: 'Jan  1 00:00:00 2016 GMT',
          validTo: 'Jan  1 00:00:00 2026 GMT',
        },
      },
      'the CA certificate site-ca of etcd has expired (notAfter 2026-01-01T00:00:00Z)',
    ],
    [
      withCert,
      { problem: 'expired', said: 'certificate has expired' },
      undefined,
      'the certificate of etcd or of its CA has expired (certificate has expired)',
    ],
    [
      withCert,
      { problem: 'notYetValid', said: 'certificate is not yet valid' },
      {
        outOfDate: {
          own: true,
          subject: 'etcd1',
          validFrom: 'Jan  1 00:00:00 2040 GMT',
          validTo: 'Jan  1 00:00:00 2041 GMT',
        },
      },
      'the certificate of etcd is not valid yet (notBefore 2040-01-01T00:00:00Z); check the clocks',
    ],
    [
      withCert,
      { problem: 'wrongHost', said: 'ERR_TLS_CERT_ALTNAME_INVALID' },
      { names: 'DNS:etcd2, IP Address:10.0.0.2' },
      'the certificate of etcd is not for etcd1 (ERR_TLS_CERT_ALTNAME_INVALID; it names DNS:etcd2, IP Address:10.0.0.2)',
    ],
    [
      withCert,
      { problem: 'notServer', said: 'unsupported certificate purpose' },
      undefined,
      'the certificate of etcd is not for TLS servers (unsupported certificate purpose)',
    ],
    [
      caOnly,
      { problem: 'rejected', said: 'alert certificate required' },
      undefined,
      'etcd requires a client certificate; set ETCDCTL_CERT_FILE and ETCDCTL_KEY_FILE (alert certificate required)',
    ],
    [
      withCert,
      { problem: 'rejected', said: 'alert unknown ca' },
      undefined,
      'etcd does not trust the CA that signed ETCDCTL_CERT_FILE /etc/dac/client.pem (alert unknown ca)',
    ],
    [
      withCert,
      { problem: 'rejected', said: 'alert bad certificate' },
      undefined,
      'etcd rejected ETCDCTL_CERT_FILE /etc/dac/client.pem (alert bad certificate); etcd accepts only client certificates signed by its --trusted-ca-file',
    ],
  ] as const)('names the setting to fix (%#)', (config, failure, peer, reason) => {
    const text = tlsFailureReason(config, endpoint, failure, peer);
    expect(text).toBe(reason);
    expect(text).not.toContain("'"); // Slurm rewrites apostrophes
  });
});

describe('unavailableMessage with TLS failures', () => {
  it('gives each TLS reason beside the other failures', () => {
    const config = etcdConfigFromEnv({
      ETCDCTL_ENDPOINTS: 'etcd1:2379,etcd2:2379',
      ETCDCTL_CA_FILE: '/ca.pem',
    });
    const refused = nodeError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.2:2379');
    expect(
      unavailableMessage(config, [
        nodeError('CERT_HAS_EXPIRED', 'certificate has expired'),
        refused,
      ]),
    ).toBe(
      'cannot reach etcd at https://etcd1:2379 (TLS handshake failed: the certificate of etcd or ' +
        'of its CA has expired (certificate has expired)), https://etcd2:2379 (connection refused)',
    );
  });
});
