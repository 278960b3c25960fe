/**
 * A stand-in for etcd's Txn method over plain HTTP/2 (node:http2), for tests of how many
 * requests a reader makes: it answers every TxnRequest with success and one empty range per
 * requested operation, and records each request's body.
 */
import { createServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';

export interface FakeEtcdTxn {
  endpoint: string;
  /** The TxnRequest of each call, in the order they arrived. */
  requests: Buffer[];
  close(): Promise<void>;
}

/** The number of top-level `success` operations (field 2) of a TxnRequest. */
function operationCount(request: Buffer): number {
  let count = 0;
  let offset = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = request[offset++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
      shift += 7;
    }
  };
  while (offset < request.length) {
    const tag = varint();
    if ((tag & 7) !== 2) throw new Error(`unexpected wire type in tag ${tag}`);
    const length = varint(); // read before `offset` is: the read moves it
    offset += length;
    if (tag >>> 3 === 2) count += 1;
  }
  return count;
}

/** The TxnResponse: succeeded, and `ranges` ResponseOps each holding an empty RangeResponse. */
function txnResponse(ranges: number): Buffer {
  const body = Buffer.concat([
    Buffer.from([0x10, 0x01]),
    ...Array.from({ length: ranges }, () => Buffer.from([0x1a, 0x02, 0x0a, 0x00])),
  ]);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(body.length, 1);
  return Buffer.concat([header, body]);
}

/** Start the stand-in on a free loopback port. */
export async function startFakeEtcdTxn(): Promise<FakeEtcdTxn> {
  const requests: Buffer[] = [];
  const sessions: ServerHttp2Session[] = [];
  const server: Http2Server = createServer();
  server.on('session', (session) => sessions.push(session));
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('error', () => undefined);
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const request = Buffer.concat(chunks).subarray(5);
      requests.push(request);
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc' },
        { waitForTrailers: true },
      );
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      const ok = headers[':path'] === '/etcdserverpb.KV/Txn';
      stream.end(ok ? txnResponse(operationCount(request)) : Buffer.alloc(5));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
