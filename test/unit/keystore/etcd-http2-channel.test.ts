/**
 * One unary gRPC call of the CLI's etcd channel (node:http2), against a local node:http2 (nghttp2) server that answers the way a gRPC
 * server may: status in trailers, trailers-only errors, a message spread over many DATA frames,
 * and the broken answers a call must refuse.
 */
import {
  createServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Channel, GrpcStatusError } from '../../../src/keystore/etcd-http2/channel';

type Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer) => void;

/** gRPC's 5-byte framing, written out here independently of the code under test. */
function framed(message: Buffer, flag = 0): Buffer {
  const header = Buffer.alloc(5);
  header[0] = flag;
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

const OK_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };

describe('Channel.unary', () => {
  let server: Http2Server;
  let session: Channel;
  let handler: Handler;

  beforeAll(async () => {
    server = createServer();
    server.on('stream', (stream, headers) => {
      stream.on('error', () => undefined); // a reset stream errors on this side too
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => handler(stream, headers, Buffer.concat(chunks)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  /** The most bytes of one answer message the channel accepts here. */
  const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
  beforeEach(() => {
    session = new Channel(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, undefined, {
      maxMessageBytes: MAX_MESSAGE_BYTES,
    });
  });
  afterEach(() => session.drop());
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const call = (timeoutMs = 2000) =>
    session.unary('/pkg.Service/Method', Buffer.from('request'), timeoutMs);

  it('sends gRPC headers and a framed message, and resolves with the answer when the trailers say OK', async () => {
    let seen: { headers: IncomingHttpHeaders; body: Buffer } | undefined;
    handler = (stream, headers, body) => {
      seen = { headers, body };
      stream.respond(OK_HEADERS, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(framed(Buffer.from('answer')));
    };
    await expect(call(1500)).resolves.toEqual(Buffer.from('answer'));
    expect(seen?.headers).toMatchObject({
      ':method': 'POST',
      ':path': '/pkg.Service/Method',
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': '1500m',
    });
    expect(seen?.body).toEqual(framed(Buffer.from('request')));
  });

  it('reassembles a message that arrives in many DATA frames', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i += 1) big[i] = (i * 31) & 0xff;
    handler = (stream) => {
      stream.respond(OK_HEADERS, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      const whole = framed(big);
      // Split inside the 5-byte prefix too: framing must not assume it comes in one piece.
      stream.write(whole.subarray(0, 3));
      setImmediate(() => {
        stream.write(whole.subarray(3, 1000));
        setImmediate(() => stream.end(whole.subarray(1000)));
      });
    };
    const answer = await call();
    expect(answer.length).toBe(big.length);
    expect(answer.equals(big)).toBe(true);
  });

  it('returns an empty message (an answer with every field at its default)', async () => {
    handler = (stream) => {
      stream.respond(OK_HEADERS, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(framed(Buffer.alloc(0)));
    };
    await expect(call()).resolves.toEqual(Buffer.alloc(0));
  });

  it('rejects with the status and decoded message of a trailers-only error', async () => {
    handler = (stream) => {
      stream.respond(
        {
          ...OK_HEADERS,
          'grpc-status': '3',
          'grpc-message': 'etcdserver: key is not provided %E2%98%83',
        },
        { endStream: true },
      );
    };
    const error = await call().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrpcStatusError);
    expect(error).toMatchObject({ status: 3, grpcMessage: 'etcdserver: key is not provided ☃' });
  });

  it('rejects with the status in the trailers even after a message', async () => {
    handler = (stream) => {
      stream.respond(OK_HEADERS, { waitForTrailers: true });
      stream.on('wantTrailers', () =>
        stream.sendTrailers({ 'grpc-status': '14', 'grpc-message': 'no leader' }),
      );
      stream.end(framed(Buffer.from('partial')));
    };
    await expect(call()).rejects.toMatchObject({ status: 14, grpcMessage: 'no leader' });
  });

  it.each<[string, Handler, RegExp]>([
    [
      'no grpc-status at all',
      (stream) => {
        stream.respond(OK_HEADERS);
        stream.end(framed(Buffer.from('x')));
      },
      /no grpc-status/,
    ],
    [
      'an HTTP error status',
      (stream) => stream.respond({ ':status': 404 }, { endStream: true }),
      /HTTP status 404/,
    ],
    [
      'a frame whose length disagrees with the body',
      (stream) => {
        stream.respond(OK_HEADERS, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(framed(Buffer.from('abc')).subarray(0, 6));
      },
      /frame says 3/,
    ],
    [
      'a compressed message',
      (stream) => {
        stream.respond(OK_HEADERS, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(framed(Buffer.from('abc'), 1));
      },
      /compressed/,
    ],
    [
      'a reset stream',
      (stream) => stream.close(2), // INTERNAL_ERROR
      /reset the stream \(HTTP\/2 INTERNAL_ERROR\)/,
    ],
  ])('rejects %s as a transport failure', async (_case, answer, message) => {
    handler = answer;
    const error = await call().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(GrpcStatusError);
    expect((error as Error).message).toMatch(message);
  });

  it('gives up at its timeout when the server never answers', async () => {
    handler = () => undefined;
    const started = Date.now();
    await expect(call(300)).rejects.toThrow('no answer within 300 ms');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1000);
  });

  it('opens a new session for a call after the last one was dropped', async () => {
    handler = (stream) => {
      stream.respond(OK_HEADERS, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(framed(Buffer.from('again')));
    };
    await call();
    session.drop();
    expect((await call()).toString()).toBe('again');
  });

  it('refuses an answer over its size limit, before the rest of it arrives', async () => {
    handler = (stream) => {
      stream.respond(OK_HEADERS, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.on('error', () => undefined);
      stream.end(framed(Buffer.alloc(MAX_MESSAGE_BYTES + 1)));
    };
    await expect(call()).rejects.toThrow(
      `the answer is a gRPC message of ${MAX_MESSAGE_BYTES + 1} bytes, over the limit of ${MAX_MESSAGE_BYTES}`,
    );
  });

  it('refuses response headers over its header-list limit', async () => {
    handler = (stream) => {
      stream.on('error', () => undefined);
      stream.respond(
        { ...OK_HEADERS, 'grpc-status': '0', 'x-padding': 'x'.repeat(20 * 1024) },
        { endStream: true },
      );
    };
    const error = await call().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(GrpcStatusError);
  });
});
