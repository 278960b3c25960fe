/**
 * EtcdKeystore and Http2EtcdKeystore (the CLI's) with several endpoints of which one is down: lease keepalives (which etcd3
 * sends on a stream to one endpoint picked at random, and never retries) and watches keep
 * working through the live one. The member that is down is a closed loopback port: it refuses
 * connections, as the machine of a killed etcd does; a member that accepts connections and
 * never answers costs each request one try of a share of its deadline.
 */
import { createServer } from 'node:net';
import { Http2EtcdKeystore } from '../../../src/keystore/etcd-http2/keystore';
import { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import { startSilentServer, type SilentServer } from '../../support/silent-server';
import { testEtcdConfig } from '../../support/test-etcd';

let closedPort: number;

beforeAll(async () => {
  // A port that was free a moment ago: nothing listens there.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
});

const STORES = [
  ['EtcdKeystore', EtcdKeystore],
  ['Http2EtcdKeystore', Http2EtcdKeystore],
] as const;

describe.each(STORES)('%s with a member that refuses connections', (_name, Store) => {
  function storeWith(extra: string) {
    const config = testEtcdConfig('failover');
    return new Store({ ...config, endpoints: [extra, ...config.endpoints] });
  }
  const endpoint = () => `http://127.0.0.1:${closedPort}`;
  it('renews a lease every time, through the live member', async () => {
    const store = storeWith(endpoint());
    try {
      const lease = await store.grantLease(5);
      // With a random pick per stream, 20 single tries would have hit the dead member.
      for (let i = 0; i < 20; i++) await lease.keepAliveOnce();
      await lease.revoke();
    } finally {
      await store.close();
    }
  }, 120000);

  it('delivers watch events through the live member', async () => {
    const store = storeWith(endpoint());
    const config = testEtcdConfig('failover-watch');
    const writer = new EtcdKeystore(config);
    try {
      const seen: string[] = [];
      const watch = await store.watchPrefix(config.prefix, (event) => seen.push(event.kv.value));
      for (let i = 0; i < 5; i++) await writer.put(`${config.prefix}k`, String(i));
      const deadline = Date.now() + 10000;
      while (seen.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual(['0', '1', '2', '3', '4']);
      await watch.close();
    } finally {
      await writer.txn([], [{ type: 'deletePrefix', prefix: config.prefix }]);
      await writer.close();
      await store.close();
    }
  }, 60000);
});

/*
 * A member whose machine is gone, as far as the clients can tell: its port accepts the
 * connection (a TCP proxy, a load balancer, a hung process) and never answers. Each try of a
 * request there costs a share of the deadline, not all of it.
 */
describe.each(STORES)('%s with a member that never answers', (_name, Store) => {
  let silent: SilentServer;
  function storeWith(extra: string) {
    const config = testEtcdConfig('failover');
    return new Store({ ...config, endpoints: [extra, ...config.endpoints] });
  }

  beforeAll(async () => {
    silent = await startSilentServer();
  });

  afterAll(async () => {
    await silent.close();
  });

  const endpoint = () => `http://127.0.0.1:${silent.port}`;

  it('answers every request through the live member, within the deadline', async () => {
    const store = storeWith(endpoint());
    const config = testEtcdConfig('silent');
    try {
      for (let i = 0; i < 10; i++) {
        const started = Date.now();
        await store.put(`${config.prefix}k${i}`, String(i));
        expect((await store.get(`${config.prefix}k${i}`))?.value).toBe(String(i));
        expect(Date.now() - started).toBeLessThan(config.timeoutMs * 2);
      }
      const lease = await store.grantLease(5);
      for (let i = 0; i < 5; i++) await lease.keepAliveOnce();
      await lease.revoke();
    } finally {
      await store.txn([], [{ type: 'deletePrefix', prefix: config.prefix }]);
      await store.close();
    }
  }, 120000);

  it('reads through the live member when the silent one is named first', async () => {
    const config = testEtcdConfig('silent-reader');
    const writer = new EtcdKeystore(config);
    const reader = new Store({ ...config, endpoints: [endpoint(), ...config.endpoints] });
    try {
      await writer.put(`${config.prefix}k`, 'v');
      expect((await reader.get(`${config.prefix}k`))?.value).toBe('v');
    } finally {
      await reader.close();
      await writer.txn([], [{ type: 'deletePrefix', prefix: config.prefix }]);
      await writer.close();
    }
  }, 60000);
});
