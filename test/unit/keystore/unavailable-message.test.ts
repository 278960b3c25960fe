import { etcdConfigFromEnv } from '../../../src/config/etcd-config';
import { reachFailure, unavailableMessage } from '../../../src/keystore/etcd-connection';

const errno = (code: string, message = `connect ${code} 10.0.0.1:2379`) =>
  Object.assign(new Error(message), { code });

describe('reachFailure', () => {
  it.each([
    [errno('ECONNREFUSED'), 'connection refused'],
    [errno('ENOTFOUND', 'getaddrinfo ENOTFOUND etcd1'), 'unknown host'],
    [errno('EAI_AGAIN', 'getaddrinfo EAI_AGAIN etcd1'), 'unknown host'],
    [errno('EHOSTUNREACH'), 'host unreachable'],
    [errno('ECONNRESET', 'read ECONNRESET'), 'connection reset'],
    [new Error('unable to verify the first certificate'), 'TLS handshake failed'],
    [errno('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'alert'), 'TLS handshake failed'],
    // etcd3 (grpc-js) puts the socket's error in its own message.
    [
      new Error(
        '14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1',
      ),
      'connection refused',
    ],
    // Found in a cause too, and in an error of another realm (a plain object).
    [new Error('the call failed', { cause: errno('ECONNREFUSED') }), 'connection refused'],
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, 'connection refused'],
  ])('names %p as %p', (error, reason) => {
    expect(reachFailure(error)).toBe(reason);
  });

  it('names nothing for a timeout or an answer', () => {
    expect(reachFailure(new Error('no answer within 3000 ms'))).toBeUndefined();
    expect(reachFailure(new Error('gRPC status 14: etcdserver: leader changed'))).toBeUndefined();
    expect(reachFailure(undefined)).toBeUndefined();
    expect(reachFailure('ECONNREFUSED')).toBeUndefined();
  });
});

describe('unavailableMessage', () => {
  const one = etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: 'etcd1:2379' });
  const two = etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: 'etcd1:2379,etcd2:2379' });

  it('gives the deadline when nothing is known of the failures', () => {
    expect(unavailableMessage(one)).toBe('etcd at http://etcd1:2379 did not answer within 3 s');
  });

  it('says why when every endpoint failed to connect', () => {
    expect(unavailableMessage(one, [errno('ECONNREFUSED')])).toBe(
      'cannot reach etcd at http://etcd1:2379: connection refused',
    );
    expect(unavailableMessage(two, [errno('ECONNREFUSED'), errno('ECONNREFUSED')])).toBe(
      'cannot reach etcd at http://etcd1:2379,http://etcd2:2379: connection refused',
    );
    expect(unavailableMessage(two, [errno('ECONNREFUSED'), errno('ENOTFOUND')])).toBe(
      'cannot reach etcd at http://etcd1:2379 (connection refused), http://etcd2:2379 (unknown host)',
    );
  });

  it('gives the deadline when an endpoint timed out or was not tried', () => {
    const timeout = new Error('no answer within 1500 ms');
    expect(unavailableMessage(two, [errno('ECONNREFUSED'), timeout])).toBe(
      'etcd at http://etcd1:2379,http://etcd2:2379 did not answer within 3 s',
    );
    expect(unavailableMessage(two, [errno('ECONNREFUSED')])).toBe(
      'etcd at http://etcd1:2379,http://etcd2:2379 did not answer within 3 s',
    );
  });
});
