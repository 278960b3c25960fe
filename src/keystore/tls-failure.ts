/**
 * TLS handshakes with etcd that failed for a reason of the settings or certificates (etcd's
 * certificate is not signed by our CA, has expired, names another host; etcd refused our client
 * certificate), recognised in the errors of both clients and put into words that name the
 * setting to fix. Retrying cannot help with any of them.
 *
 * The CLI's client (node:http2) sees Node's TLS errors, with their `code`; etcd3 (grpc-js) only passes on
 * their message, inside its own ("14 UNAVAILABLE: ... Last error: ..."): each failure is
 * recognised by either.
 */
import type { DetailedPeerCertificate } from 'node:tls';
import type { EtcdConfig } from '../config/etcd-config';
import { certificateDate, type TlsMaterial } from './tls-files';

/** What went wrong, by whose certificate. */
export type TlsProblem =
  /** etcd's certificate does not chain to `ETCDCTL_CA_FILE`. */
  | 'untrusted'
  | 'expired'
  | 'notYetValid'
  /** etcd's certificate does not name the endpoint's host. */
  | 'wrongHost'
  /** etcd's certificate is not for TLS servers. */
  | 'notServer'
  /** etcd refused our client certificate (or its absence) with a TLS alert. */
  | 'rejected';

export interface TlsFailure {
  problem: TlsProblem;
  /** In Node's or OpenSSL's words, for the end of the message: `certificate has expired`. */
  said: string;
}

/** [problem, error codes, words of the message] */
const VERIFY_FAILURES: readonly (readonly [TlsProblem, RegExp, RegExp])[] = [
  [
    'untrusted',
    /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_SIGNATURE_FAILURE|CERT_UNTRUSTED|CERT_REJECTED)$/,
    /unable to verify the first certificate|unable to get (local )?issuer certificate|self[- ]signed certificate( in certificate chain)?|certificate signature failure|certificate not trusted|certificate rejected/i,
  ],
  ['expired', /^CERT_HAS_EXPIRED$/, /certificate has expired/i],
  ['notYetValid', /^CERT_NOT_YET_VALID$/, /certificate is not yet valid/i],
  ['wrongHost', /^ERR_TLS_CERT_ALTNAME_INVALID$/, /does not match certificate's altnames/i],
  ['notServer', /^INVALID_PURPOSE$/, /unsupported certificate purpose/i],
];

/** The alerts a TLS server sends about the client's certificate. */
const CERTIFICATE_ALERTS =
  'bad certificate|certificate required|unknown ca|certificate expired|certificate revoked|certificate unknown|unsupported certificate|access denied';
const ALERT_CODE = new RegExp(
  `^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(${CERTIFICATE_ALERTS.replace(/ /g, '_').toUpperCase()})$`,
);
const ALERT_WORDS = new RegExp(`\\balert (${CERTIFICATE_ALERTS})\\b`, 'i');

function recognise(code: string, message: string): TlsFailure | undefined {
  for (const [problem, codes, words] of VERIFY_FAILURES) {
    const found = words.exec(message)?.[0];
    if (codes.test(code) || found) {
      // The altname message holds apostrophes (which Slurm rewrites): its code says it.
      const said = problem === 'wrongHost' ? 'ERR_TLS_CERT_ALTNAME_INVALID' : (found ?? code);
      return { problem, said };
    }
  }
  const alert = ALERT_CODE.exec(code)?.[1]?.replace(/_/g, ' ') ?? ALERT_WORDS.exec(message)?.[1];
  if (alert) return { problem: 'rejected', said: `alert ${alert.toLowerCase()}` };
  return undefined;
}

/**
 * The TLS failure of settings or certificates that `error` (or one of its causes) reports, or
 * undefined for any other failure (refused, reset, no answer, a handshake cut short).
 */
export function tlsFailure(error: unknown): TlsFailure | undefined {
  // Not `instanceof Error`: errors of Node's own modules may come from another realm (a vm).
  let cause = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; typeof cause === 'object' && cause !== null && depth < 5; depth += 1) {
    const found = recognise(String(cause.code ?? ''), String(cause.message ?? ''));
    if (found) return found;
    cause = cause.cause as typeof cause;
  }
  return undefined;
}

/** What `inspectHandshake` learnt of the certificates etcd presents, and of its answer. */
export interface PeerFacts {
  /** The names of etcd's own certificate (`IP Address:10.0.0.1, DNS:etcd1`). */
  names?: string;
  /** The first certificate of the chain, from etcd's own, that is not valid now. */
  outOfDate?: { own: boolean; subject: string; validFrom: string; validTo: string };
  /** The error etcd's TLS alert raised: it refused our certificate (or its absence). */
  refusal?: unknown;
}

/** Whether the dates or names of etcd's certificate (`inspectHandshake`) say more of `failure`. */
export function wantsPeerFacts(failure: TlsFailure): boolean {
  const problem = failure.problem;
  return problem === 'expired' || problem === 'notYetValid' || problem === 'wrongHost';
}

function factsOf(certificate: DetailedPeerCertificate, now: number): PeerFacts {
  const facts: PeerFacts = {};
  if (certificate.subjectaltname) facts.names = certificate.subjectaltname;
  const seen = new Set<DetailedPeerCertificate>();
  for (let c = certificate; c && !seen.has(c); c = c.issuerCertificate) {
    seen.add(c);
    if (now > new Date(c.valid_to).getTime() || now < new Date(c.valid_from).getTime()) {
      const subject = String(c.subject?.CN ?? '');
      facts.outOfDate = {
        own: c === certificate,
        subject,
        validFrom: c.valid_from,
        validTo: c.valid_to,
      };
      break;
    }
  }
  return facts;
}

/**
 * Make a TLS handshake with etcd at `endpoint` without trusting its certificates, and send
 * nothing: only run after a handshake failed, to name the dates or names of the certificate
 * that failed it, or to hear the alert of an etcd that refuses our certificate. Resolves at
 * etcd's first bytes (it accepted us), its alert or close, or after `timeoutMs`; undefined if
 * nothing was learnt.
 */
export async function inspectHandshake(
  endpoint: string,
  tls: TlsMaterial | undefined,
  timeoutMs: number,
): Promise<PeerFacts | undefined> {
  const url = new URL(endpoint);
  if (url.protocol !== 'https:') return undefined;
  const [{ connect }, { isIP }] = await Promise.all([import('node:tls'), import('node:net')]);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    let facts: PeerFacts | undefined;
    const socket = connect({
      host,
      port: Number(url.port || 443),
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ALPNProtocols: ['h2'],
      ...(tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
      rejectUnauthorized: false,
    });
    const done = (result: PeerFacts | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(facts), timeoutMs);
    socket.once('secureConnect', () => {
      facts = factsOf(socket.getPeerCertificate(true), Date.now());
    });
    // etcd's HTTP/2 SETTINGS: it accepted our certificate.
    socket.once('data', () => done(facts));
    socket.once('error', (error) => done({ ...facts, refusal: error }));
    socket.once('close', () => done(facts));
  });
}

/**
 * The reason of a TLS failure with etcd at `endpoint`, naming the setting to fix, e.g.
 * `the certificate of etcd is not signed by ETCDCTL_CA_FILE /etc/dac/ca.pem (unable to verify
 * the first certificate)`. No apostrophes: Slurm rewrites them.
 */
export function tlsFailureReason(
  config: EtcdConfig,
  endpoint: string,
  failure: TlsFailure,
  peer?: PeerFacts,
): string {
  const { said } = failure;
  const caFile = config.tls?.caFile;
  const certFile = config.tls?.certFile;
  const outOfDate = peer?.outOfDate;
  const whose =
    outOfDate && !outOfDate.own
      ? `the CA certificate ${outOfDate.subject} of etcd`
      : 'the certificate of etcd';
  switch (failure.problem) {
    case 'untrusted':
      return caFile
        ? `the certificate of etcd is not signed by ETCDCTL_CA_FILE ${caFile} (${said})`
        : `the certificate of etcd is not signed by a CA this system trusts; set ETCDCTL_CA_FILE (${said})`;
    case 'expired':
      return outOfDate
        ? `${whose} has expired (notAfter ${certificateDate(outOfDate.validTo)})`
        : `the certificate of etcd or of its CA has expired (${said})`;
    case 'notYetValid':
      return outOfDate
        ? `${whose} is not valid yet (notBefore ${certificateDate(outOfDate.validFrom)}); check the clocks`
        : `the certificate of etcd or of its CA is not valid yet (${said}); check the clocks`;
    case 'wrongHost': {
      const host = new URL(endpoint).hostname;
      const names = peer?.names ? `; it names ${peer.names}` : '';
      return `the certificate of etcd is not for ${host} (${said}${names})`;
    }
    case 'notServer':
      return `the certificate of etcd is not for TLS servers (${said})`;
    case 'rejected':
      if (!certFile) {
        return `etcd requires a client certificate; set ETCDCTL_CERT_FILE and ETCDCTL_KEY_FILE (${said})`;
      }
      if (said === 'alert unknown ca') {
        return `etcd does not trust the CA that signed ETCDCTL_CERT_FILE ${certFile} (${said})`;
      }
      return `etcd rejected ETCDCTL_CERT_FILE ${certFile} (${said}); etcd accepts only client certificates signed by its --trusted-ca-file`;
  }
}
