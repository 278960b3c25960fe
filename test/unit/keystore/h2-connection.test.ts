/**
 * Our HTTP/2 client against Node's own HTTP/2 server (nghttp2, an independent implementation):
 * streams side by side, flow control both ways, long header blocks, padding, cancel, GOAWAY,
 * a dropped connection, a server that is not HTTP/2, and TLS with and without ALPN h2.
 */
import { readFileSync, rmSync } from 'node:fs';
import {
  constants,
  createSecureServer,
  createServer,
  type Http2Server,
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import {
  connectH2,
  h2ErrorName,
  type H2Connection,
  type H2StreamHandler,
} from '../../../src/keystore/h2-connection';
import { makeTestCertificates, type TestCertificates } from '../../support/tls-certs';

/** What a stream delivered to its handler. */
interface Received {
  headers: Array<ReadonlyArray<[string, string]>>;
  body: Buffer;
}

/** Send a request and collect what comes back, or the error that ends it. */
function exchange(
  connection: H2Connection,
  path: string,
  body: Buffer = Buffer.from('ping'),
  headers: ReadonlyArray<readonly [string, string]> = [],
): Promise<Received> {
  return new Promise((resolve, reject) => {
    const received: Received = { headers: [], body: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    const handler: H2StreamHandler = {
      headers: (fields) => received.headers.push(fields),
      data: (chunk) => chunks.push(chunk),
      end: () => resolve({ ...received, body: Buffer.concat(chunks) }),
      error: reject,
    };
    connection.request('POST', path, headers, body, handler);
  });
}

const field = (fields: ReadonlyArray<[string, string]> | undefined, name: string) =>
  fields?.find(([key]) => key === name)?.[1];

type Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer) => void;

/** Answer with the request body reversed, in headers, data and trailers. */
const echo: Handler = (stream, headers, body) => {
  stream.respond({ ':status': 200, 'x-path': String(headers[':path']) }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'x-length': String(body.length) }));
  stream.end(Buffer.from(body).reverse());
};

function serve(server: Http2Server | Http2SecureServer, handler: () => Handler): void {
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined); // a cancelled stream errors on this side too
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => handler()(stream, headers, Buffer.concat(chunks)));
  });
}

function listen(server: Server | Http2Server | Http2SecureServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function close(server: Server | Http2Server | Http2SecureServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('H2Connection against node:http2', () => {
  let server: Http2Server;
  let url: URL;
  let handler: Handler;
  const sessions: ServerHttp2Session[] = [];
  const open: H2Connection[] = [];

  beforeAll(async () => {
    // A small initial window and padded frames: flow control and padding are exercised.
    server = createServer({
      settings: { initialWindowSize: 1000 },
      paddingStrategy: constants.PADDING_STRATEGY_MAX,
    });
    server.on('session', (session) => sessions.push(session));
    serve(server, () => handler);
    url = new URL(`http://127.0.0.1:${await listen(server)}`);
  });
  beforeEach(() => {
    handler = echo;
  });
  afterEach(() => {
    for (const connection of open.splice(0)) connection.destroy();
  });
  afterAll(async () => {
    for (const session of sessions) session.destroy();
    await close(server);
  });

  const connect = async (): Promise<H2Connection> => {
    const connection = await connectH2(url);
    open.push(connection);
    return connection;
  };

  it('sends the request and receives headers, body and trailers, padding removed', async () => {
    const connection = await connect();
    const answer = await exchange(connection, '/a/b?c=d', Buffer.from('hello'));
    expect(field(answer.headers[0], ':status')).toBe('200');
    expect(field(answer.headers[0], 'x-path')).toBe('/a/b?c=d');
    expect(field(answer.headers[1], 'x-length')).toBe('5');
    expect(answer.body.toString()).toBe('olleh');
  });

  it('sends a body larger than the server’s window, waiting for its WINDOW_UPDATEs', async () => {
    const connection = await connect();
    const body = Buffer.alloc(300_000);
    for (let i = 0; i < body.length; i += 1) body[i] = (i * 7) & 0xff;
    const answer = await exchange(connection, '/big', body);
    expect(answer.body.equals(Buffer.from(body).reverse())).toBe(true);
  });

  it('receives an answer larger than the default window without stalling', async () => {
    const big = Buffer.alloc(2_000_000, 'x');
    handler = (stream) => {
      stream.respond({ ':status': 200 });
      stream.end(big);
    };
    const answer = await exchange(await connect(), '/download');
    expect(answer.body.length).toBe(big.length);
  });

  it('carries many streams at once on one connection, each with its own answer', async () => {
    const connection = await connect();
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => exchange(connection, `/n/${i}`, Buffer.from(`${i}`))),
    );
    answers.forEach((answer, i) => {
      expect(field(answer.headers[0], 'x-path')).toBe(`/n/${i}`);
      expect(answer.body.toString()).toBe(`${i}`.split('').reverse().join(''));
    });
    expect(connection.activeStreams).toBe(0);
  });

  it('splits a header block longer than a frame into CONTINUATION frames', async () => {
    const long = 'v'.repeat(40_000);
    let seen: string | undefined;
    handler = (stream, headers, body) => {
      seen = String(headers['x-long']);
      echo(stream, headers, body);
    };
    await exchange(await connect(), '/long', Buffer.from('x'), [['x-long', long]]);
    expect(seen).toBe(long);
  });

  it('cancels a stream with RST_STREAM and keeps the connection for the next request', async () => {
    const connection = await connect();
    const reset = new Promise<number>((resolve) => {
      handler = (stream) => stream.on('close', () => resolve(stream.rstCode));
    });
    const silent: H2StreamHandler = {
      headers: () => undefined,
      data: () => undefined,
      end: () => undefined,
      error: () => undefined,
    };
    const stream = connection.request('POST', '/never', [], Buffer.from('x'), silent);
    // Wait until the server has the request, then cancel.
    await new Promise((resolve) => setTimeout(resolve, 50));
    stream.cancel();
    stream.cancel();
    expect(await reset).toBe(constants.NGHTTP2_CANCEL);
    handler = echo;
    expect((await exchange(connection, '/after')).body.toString()).toBe('gnip');
    expect(connection.usable).toBe(true);
  });

  it('fails a reset stream with the error code’s name', async () => {
    handler = (stream) => stream.close(constants.NGHTTP2_REFUSED_STREAM);
    await expect(exchange(await connect(), '/refused')).rejects.toThrow(
      'the server reset the stream (HTTP/2 REFUSED_STREAM)',
    );
  });

  it('answers the server’s PING', async () => {
    const connection = await connect();
    await exchange(connection, '/warm-up');
    const session = sessions[sessions.length - 1]!;
    const acked = await new Promise<boolean>((resolve) =>
      session.ping((error) => resolve(error === null)),
    );
    expect(acked).toBe(true);
    expect(connection.usable).toBe(true);
  });

  it('stops taking requests after GOAWAY, and fails the streams the server did not take', async () => {
    const connection = await connect();
    await exchange(connection, '/first');
    const session = sessions[sessions.length - 1]!;
    const pending = new Promise<void>((resolve) => {
      handler = () => resolve(); // holds stream 3 unanswered
    });
    const held = exchange(connection, '/held');
    await pending;
    // Stream 3 was taken (last stream id 3), the error code says the server is failing.
    session.goaway(constants.NGHTTP2_INTERNAL_ERROR, 3, Buffer.from('shutting down'));
    await expect(held).rejects.toThrow(
      'the server is closing the connection (HTTP/2 GOAWAY INTERNAL_ERROR: shutting down)',
    );
    expect(connection.usable).toBe(false);
    expect(() =>
      connection.request('POST', '/late', [], Buffer.from('x'), unexpectedHandler()),
    ).toThrow();
  });

  it('fails every stream in flight when the connection drops', async () => {
    const connection = await connect();
    const taken = new Promise<void>((resolve) => {
      handler = () => resolve();
    });
    const both = Promise.allSettled([exchange(connection, '/one'), exchange(connection, '/two')]);
    await taken;
    sessions[sessions.length - 1]!.destroy();
    const [first, second] = await both;
    expect(first).toMatchObject({ status: 'rejected' });
    expect(second).toMatchObject({ status: 'rejected' });
    expect(connection.usable).toBe(false);
  });

  it('closes gracefully once its streams are done', async () => {
    const connection = await connect();
    await exchange(connection, '/one');
    await connection.close();
    expect(connection.usable).toBe(false);
  });

  it('names h2ErrorName codes it knows, and shows the others in hex', () => {
    expect(h2ErrorName(0)).toBe('NO_ERROR');
    expect(h2ErrorName(0xb)).toBe('ENHANCE_YOUR_CALM');
    expect(h2ErrorName(0x42)).toBe('0x42');
  });
});

/** A handler for requests that are expected never to be sent. */
function unexpectedHandler(): H2StreamHandler {
  const fail = () => {
    throw new Error('unexpected');
  };
  return { headers: fail, data: fail, end: fail, error: fail };
}

describe('H2Connection to servers that do not speak HTTP/2 to it', () => {
  it('refuses an HTTP/1.1 server', async () => {
    const server = createNetServer((socket) => {
      socket.on('error', () => undefined);
      socket.resume(); // read to the client's end, so that the server can close
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
    });
    try {
      const port = await listen(server);
      const connection = await connectH2(new URL(`http://127.0.0.1:${port}`));
      await expect(exchange(connection, '/x')).rejects.toThrow('the server does not speak HTTP/2');
      expect(connection.usable).toBe(false);
    } finally {
      await close(server);
    }
  });

  it('fails on a closed port with the socket’s error', async () => {
    const server = createNetServer();
    const port = await listen(server);
    await close(server);
    const connection = await connectH2(new URL(`http://127.0.0.1:${port}`));
    await expect(exchange(connection, '/x')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('refuses a scheme other than http and https', async () => {
    await expect(connectH2(new URL('ftp://127.0.0.1:21'))).rejects.toThrow(
      'unsupported scheme ftp:',
    );
  });

  describe('over TLS', () => {
    let certs: TestCertificates;
    beforeAll(() => {
      certs = makeTestCertificates();
    });
    afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));

    const serverOptions = () => ({
      key: readFileSync(certs.serverKeyFile),
      cert: readFileSync(certs.serverCertFile),
    });

    it('negotiates h2 by ALPN and verifies the server against the CA', async () => {
      const server = createSecureServer(serverOptions());
      serve(server, () => echo);
      const sessions: ServerHttp2Session[] = [];
      server.on('session', (session) => sessions.push(session));
      try {
        const port = await listen(server);
        const connection = await connectH2(new URL(`https://127.0.0.1:${port}`), {
          ca: readFileSync(certs.caFile),
        });
        const answer = await exchange(connection, '/secure', Buffer.from('abc'));
        expect(answer.body.toString()).toBe('cba');
        connection.destroy();
      } finally {
        for (const session of sessions) session.destroy();
        await close(server);
      }
    });

    it('refuses a server whose certificate the CA did not sign', async () => {
      const server = createSecureServer(serverOptions());
      try {
        const port = await listen(server);
        // No CA given: the system's CAs do not know the test CA.
        const connection = await connectH2(new URL(`https://127.0.0.1:${port}`));
        await expect(exchange(connection, '/x')).rejects.toThrow(/certificate/);
      } finally {
        await close(server);
      }
    });

    it('refuses a TLS server that does not offer h2', async () => {
      const server = createTlsServer({ ...serverOptions(), ALPNProtocols: ['http/1.1'] }, (s) =>
        s.on('error', () => undefined),
      );
      try {
        const port = await listen(server);
        const connection = await connectH2(new URL(`https://127.0.0.1:${port}`), {
          ca: readFileSync(certs.caFile),
        });
        await expect(exchange(connection, '/x')).rejects.toThrow(
          /did not agree to HTTP\/2|no application protocol/i,
        );
      } finally {
        await close(server);
      }
    });
  });
});
