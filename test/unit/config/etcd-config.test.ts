import { ConfigError } from '../../../src/errors/errors';
import { etcdConfigFromEnv } from '../../../src/config/etcd-config';

describe('etcdConfigFromEnv', () => {
  it('defaults to the local etcd', () => {
    expect(etcdConfigFromEnv({})).toEqual({
      endpoints: ['http://127.0.0.1:2379'],
      prefix: '/dac/',
      timeoutMs: 3000,
    });
  });

  it('accepts host:port and scheme://host:port in a comma list', () => {
    const config = etcdConfigFromEnv({
      ETCDCTL_ENDPOINTS: 'etcd1:2379, http://etcd2:2379,[::1]:2379',
    });
    expect(config.endpoints).toEqual([
      'http://etcd1:2379',
      'http://etcd2:2379',
      'http://[::1]:2379',
    ]);
    expect(etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: 'https://etcd1:2379' }).endpoints).toEqual([
      'https://etcd1:2379',
    ]);
  });

  it('uses https for the default endpoint when a CA is configured', () => {
    expect(etcdConfigFromEnv({ ETCDCTL_CA_FILE: '/etc/dac/ca.pem' }).endpoints).toEqual([
      'https://127.0.0.1:2379',
    ]);
  });

  it('falls back to ETCD_ENDPOINTS as data-acc did', () => {
    expect(etcdConfigFromEnv({ ETCD_ENDPOINTS: '10.0.0.5:2379' }).endpoints).toEqual([
      'http://10.0.0.5:2379',
    ]);
  });

  it('uses https for bare endpoints when a CA is configured', () => {
    const config = etcdConfigFromEnv({
      ETCDCTL_ENDPOINTS: 'etcd1:2379',
      ETCDCTL_CA_FILE: '/etc/dac/ca.pem',
      ETCDCTL_CERT_FILE: '/etc/dac/client.pem',
      ETCDCTL_KEY_FILE: '/etc/dac/client-key.pem',
    });
    expect(config.endpoints).toEqual(['https://etcd1:2379']);
    expect(config.tls).toEqual({
      caFile: '/etc/dac/ca.pem',
      certFile: '/etc/dac/client.pem',
      keyFile: '/etc/dac/client-key.pem',
    });
  });

  it.each([
    [
      { ETCDCTL_ENDPOINTS: 'etcd1' },
      'ETCDCTL_ENDPOINTS: "etcd1" is not an etcd endpoint; use host:port or http(s)://host:port',
    ],
    [
      { ETCDCTL_ENDPOINTS: 'etcd1:99999' },
      'ETCDCTL_ENDPOINTS: "etcd1:99999" is not an etcd endpoint; use host:port or http(s)://host:port',
    ],
    [
      { ETCDCTL_ENDPOINTS: 'ftp://etcd1:2379' },
      'ETCDCTL_ENDPOINTS: "ftp://etcd1:2379" is not an etcd endpoint; use host:port or http(s)://host:port',
    ],
    [{ ETCDCTL_ENDPOINTS: ' , ' }, 'ETCDCTL_ENDPOINTS is empty; set host:port of etcd'],
    [
      { ETCDCTL_CERT_FILE: '/c.pem' },
      'ETCDCTL_CERT_FILE and ETCDCTL_KEY_FILE must be set together (client certificate and its key)',
    ],
    [
      { ETCDCTL_CERT_FILE: '/c.pem', ETCDCTL_KEY_FILE: '/k.pem' },
      'ETCDCTL_CERT_FILE needs ETCDCTL_CA_FILE (the CA that signed etcd)',
    ],
    // etcd3 would speak TLS to it and our reader plain HTTP/2: writes work, reads fail.
    [
      { ETCDCTL_ENDPOINTS: 'http://etcd1:2379', ETCDCTL_CA_FILE: '/etc/dac/ca.pem' },
      'ETCDCTL_ENDPOINTS: http://etcd1:2379 is plain HTTP but ETCDCTL_CA_FILE is set; use https://',
    ],
    [
      { ETCD_ENDPOINTS: 'etcd1:2379,http://etcd2:2379', ETCDCTL_CACERT: '/etc/dac/ca.pem' },
      'ETCD_ENDPOINTS: http://etcd2:2379 is plain HTTP but ETCDCTL_CACERT is set; use https://',
    ],
    [
      { ETCDCTL_ENDPOINTS: 'etcd1:2379,https://etcd2:2379' },
      'ETCDCTL_ENDPOINTS: http://etcd1:2379 is plain HTTP but https://etcd2:2379 is HTTPS; use ' +
        'one scheme for all',
    ],
    [{ DAC_ETCD_TIMEOUT_MS: '3s' }, 'DAC_ETCD_TIMEOUT_MS: must be a whole number of milliseconds'],
    [
      { DAC_ETCD_PREFIX: 'dac' },
      'DAC_ETCD_PREFIX: must start with / and use only letters, digits, . _ - /',
    ],
  ])('rejects %j with a message naming the variable', (env, message) => {
    expect(() => etcdConfigFromEnv(env)).toThrow(new ConfigError(message));
  });

  it('adds the trailing slash to a prefix', () => {
    expect(etcdConfigFromEnv({ DAC_ETCD_PREFIX: '/site/dac' }).prefix).toBe('/site/dac/');
  });
});
