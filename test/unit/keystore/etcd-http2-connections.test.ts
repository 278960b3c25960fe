/**
 * How Http2EtcdKeystore keeps and replaces its connection, against a node:http2 server that
 * answers every call with an empty gRPC message (a RangeResponse of defaults: no keys).
 */
import { createServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { etcdConfigFromEnv } from '../../../src/config/etcd-config';
import { Http2EtcdKeystore } from '../../../src/keystore/etcd-http2/keystore';

describe('Http2EtcdKeystore connections', () => {
  let server: Http2Server;
  let sessions: ServerHttp2Session[];
  let calls: number;
  let reader: Http2EtcdKeystore;

  beforeEach(async () => {
    sessions = [];
    calls = 0;
    server = createServer();
    server.on('session', (session) => sessions.push(session));
    server.on('stream', (stream) => {
      stream.on('error', () => undefined);
      stream.resume();
      stream.on('end', () => {
        calls += 1;
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc' },
          { waitForTrailers: true },
        );
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.alloc(5)); // an empty message: flag 0, length 0
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    reader = new Http2EtcdKeystore(etcdConfigFromEnv({ ETCDCTL_ENDPOINTS: `127.0.0.1:${port}` }));
  });
  afterEach(async () => {
    await reader.close();
    for (const session of sessions) session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('makes every call of a process over one connection', async () => {
    await reader.get('/a');
    await Promise.all([reader.get('/b'), reader.range('/c/'), reader.get('/d')]);
    expect(calls).toBe(4);
    expect(sessions).toHaveLength(1);
  });

  it('opens a new connection after the server sends GOAWAY', async () => {
    expect(await reader.get('/a')).toBeUndefined();
    const first = sessions[0]!;
    await new Promise<void>((resolve) => {
      first.goaway();
      // Give the GOAWAY frame time to reach the client.
      setTimeout(resolve, 50);
    });
    expect(await reader.get('/b')).toBeUndefined();
    expect(calls).toBe(2);
    expect(sessions).toHaveLength(2);
  });

  it('opens a new connection after the old one dropped', async () => {
    await reader.get('/a');
    sessions[0]!.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await reader.get('/b')).toBeUndefined();
    expect(sessions).toHaveLength(2);
  });
});
