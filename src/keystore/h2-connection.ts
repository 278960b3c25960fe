/**
 * A small HTTP/2 client connection (RFC 9113) over `node:net` or `node:tls`: enough for unary
 * gRPC calls to etcd, and nothing else.
 *
 * Why not `node:http2`: loading it loads `http`, `crypto`, `tls`, `fs/promises` and `assert`
 * (about 11 ms), and its first request runs another 7 ms of cold code. The CLI makes one request
 * per process, every 30 s, so those 18 ms are a third of a `pools` call. There is no maintained
 * pure-JavaScript HTTP/2 client to use instead.
 *
 * What it does: the connection preface and SETTINGS, HPACK header blocks (with CONTINUATION),
 * DATA in both directions with flow control, RST_STREAM, PING, GOAWAY and WINDOW_UPDATE.
 * It refuses server push (disabled in our SETTINGS) and ignores priorities. Any protocol
 * violation by the server fails the whole connection, with a message naming it; the caller
 * then opens a new one.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import type { TlsMaterial } from './tls-files';
import { HpackDecoder, encodeHeaderBlock } from './hpack';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Frame types (RFC 9113 §6). */
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

/** Frame flags. */
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

/** SETTINGS parameters (RFC 9113 §6.5.2). */
const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;

/** Error codes (RFC 9113 §7), for messages and for the frames we send. */
const NO_ERROR = 0x0;
const PROTOCOL_ERROR = 0x1;
const CANCEL = 0x8;
const ERROR_NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

/** The largest flow-control window HTTP/2 allows. */
const MAX_WINDOW = 2 ** 31 - 1;
/** The initial window of every stream and of the connection, until SETTINGS say otherwise. */
const DEFAULT_WINDOW = 65535;
/** The frame size we accept (we never raise SETTINGS_MAX_FRAME_SIZE above the default). */
const DEFAULT_MAX_FRAME = 16384;
/**
 * We open every window to MAX_WINDOW and top it up once half of it is used: one answer never
 * waits for a WINDOW_UPDATE, and a long-lived connection never runs dry.
 */
const WINDOW_REFILL = 2 ** 30;

/** The name of an HTTP/2 error code, for messages. */
export function h2ErrorName(code: number): string {
  return ERROR_NAMES[code] ?? `0x${code.toString(16)}`;
}

/** What a stream reports to the one who opened it; exactly one of `end` or `error` comes last. */
export interface H2StreamHandler {
  /** A header block: the response headers, then possibly trailers. */
  headers(fields: ReadonlyArray<[string, string]>, endStream: boolean): void;
  data(chunk: Buffer): void;
  /** The server ended the stream. */
  end(): void;
  /** The stream or the connection failed; nothing more comes. */
  error(error: Error): void;
}

/** An open request. */
export interface H2Stream {
  /** Abandon the request (RST_STREAM CANCEL); its handler hears nothing more. Idempotent. */
  cancel(): void;
}

interface StreamState {
  id: number;
  handler: H2StreamHandler;
  /** Body bytes not yet sent (flow control). */
  pending: Buffer;
  sendWindow: number;
  /** DATA bytes received since the last WINDOW_UPDATE for this stream. */
  received: number;
}

/** A header block whose CONTINUATION frames are still to come. */
interface PartialBlock {
  streamId: number;
  endStream: boolean;
  fragments: Buffer[];
}

/** One frame: the 9-byte header and the payload. */
function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const bytes = Buffer.allocUnsafe(9 + payload.length);
  bytes.writeUIntBE(payload.length, 0, 3);
  bytes[3] = type;
  bytes[4] = flags;
  bytes.writeUInt32BE(streamId, 5);
  payload.copy(bytes, 9);
  return bytes;
}

function uint32(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32BE(value, 0);
  return bytes;
}

function settingsPayload(settings: ReadonlyArray<readonly [number, number]>): Buffer {
  const bytes = Buffer.allocUnsafe(6 * settings.length);
  settings.forEach(([id, value], index) => {
    bytes.writeUInt16BE(id, index * 6);
    bytes.writeUInt32BE(value, index * 6 + 2);
  });
  return bytes;
}

/** A connection error of the peer's making. */
class ProtocolError extends Error {
  constructor(message: string) {
    super(`HTTP/2 protocol error from the server: ${message}`);
    this.name = 'ProtocolError';
  }
}

/**
 * Open a connection to `url` (`http:` speaks HTTP/2 directly, as etcd's client port accepts;
 * `https:` negotiates `h2` by ALPN with `tls`, or with the system's CAs if `tls` is undefined).
 * Returns at once: requests may be sent before the connection is up.
 */
export async function connectH2(url: URL, tls?: TlsMaterial): Promise<H2Connection> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  // URL keeps the brackets of an IPv6 literal; sockets want the bare address.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.protocol === 'http:')
    return new H2Connection(netConnect({ host, port }), 'http', url.host);
  if (url.protocol !== 'https:') throw new Error(`unsupported scheme ${url.protocol}`);
  // Loaded only for TLS: h2c, the common case on a cluster's private network, does not pay it.
  const { connect: tlsConnect } = await import('node:tls');
  const socket = tlsConnect({
    host,
    port,
    // SNI names a host, never an address (RFC 6066); Node warns if given one.
    ...(isIP(host) === 0 ? { servername: host } : {}),
    ALPNProtocols: ['h2'],
    ...tls,
  });
  const connection = new H2Connection(socket, 'https', url.host);
  socket.once('secureConnect', () => {
    if (socket.alpnProtocol !== 'h2') {
      connection.destroy(new Error('the server did not agree to HTTP/2 (ALPN h2)'));
    }
  });
  return connection;
}

/** One HTTP/2 connection and the streams it carries. */
export class H2Connection {
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, StreamState>();
  private nextStreamId = 1;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private peerInitialWindow = DEFAULT_WINDOW;
  private sendWindow = DEFAULT_WINDOW;
  /** DATA bytes received on the connection since its last WINDOW_UPDATE. */
  private received = 0;
  /** The bytes of a frame that has not fully arrived. */
  private inbox: Buffer | undefined;
  private partial: PartialBlock | undefined;
  private sawSettings = false;
  private goingAway = false;
  private failure: Error | undefined;
  private readonly closed: Promise<void>;
  private readonly sent: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly scheme: 'http' | 'https',
    private readonly authority: string,
  ) {
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('the connection closed')));
    // Our SETTINGS open every stream's window fully; a WINDOW_UPDATE does the same for the
    // connection's, which SETTINGS cannot change.
    socket.write(
      Buffer.concat([
        PREFACE,
        frame(
          SETTINGS,
          0,
          0,
          settingsPayload([
            [SETTINGS_ENABLE_PUSH, 0],
            [SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW],
          ]),
        ),
        frame(WINDOW_UPDATE, 0, 0, uint32(MAX_WINDOW - DEFAULT_WINDOW)),
      ]),
    );
    // Node writes what was queued while connecting in its own listener of the connect event,
    // added by the write above, so this one runs after it. With TLS, the queue follows the
    // handshake through more of Node's code: a turn of the event loop later it is out too.
    this.sent = new Promise((resolve) => {
      if (scheme === 'https') socket.once('secureConnect', () => setImmediate(resolve));
      else socket.once('connect', () => resolve());
      socket.once('close', () => resolve());
    });
  }

  /** Whether new requests may be sent: not failed, closed or told to go away. */
  get usable(): boolean {
    return this.failure === undefined && !this.goingAway && !this.socket.destroyed;
  }

  /** Streams in flight. */
  get activeStreams(): number {
    return this.streams.size;
  }

  /**
   * Send a request: the pseudo-headers (`:method`, `:scheme`, `:authority`, `:path`), then
   * `headers`, then `body`, which ends the stream. Throws if the connection is not usable.
   */
  request(
    method: string,
    path: string,
    headers: ReadonlyArray<readonly [string, string]>,
    body: Buffer,
    handler: H2StreamHandler,
  ): H2Stream {
    if (!this.usable) throw this.failure ?? new Error('the connection is closing');
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    // Stream ids are 31 bits; a connection that used them up is replaced by a new one.
    if (this.nextStreamId > MAX_WINDOW) this.goingAway = true;
    const block = encodeHeaderBlock([
      [':method', method],
      [':scheme', this.scheme],
      [':authority', this.authority],
      [':path', path],
      ...headers,
    ]);
    const stream: StreamState = {
      id,
      handler,
      pending: body,
      sendWindow: this.peerInitialWindow,
      received: 0,
    };
    this.streams.set(id, stream);
    this.socket.cork();
    this.writeHeaderBlock(id, block, body.length === 0);
    this.flush(stream);
    this.socket.uncork();
    return {
      cancel: () => {
        if (this.streams.get(id) !== stream) return;
        this.streams.delete(id);
        this.write(frame(RST_STREAM, 0, id, uint32(CANCEL)));
        this.closeIfDone();
      },
    };
  }

  /**
   * Settles once what was written before the connection was up (the preface, and the requests
   * sent so far) has gone to the server, or the connection has closed. The CLI's early read
   * waits for it before loading the rest of the program, so that etcd answers meanwhile.
   */
  whenSent(): Promise<void> {
    return this.sent;
  }

  /** Let the process exit while this connection is open. */
  unref(): void {
    this.socket.unref();
  }

  /** Keep the process alive while this connection is open. */
  ref(): void {
    this.socket.ref();
  }

  /** End the connection at once; streams in flight fail with `error`. */
  destroy(error: Error = new Error('the connection was closed')): void {
    this.fail(error);
  }

  /** End the connection once the streams in flight are done; resolves when it has ended. */
  close(): Promise<void> {
    this.goingAway = true;
    this.closeIfDone();
    return this.closed;
  }

  private write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  private writeHeaderBlock(id: number, block: Buffer, endStream: boolean): void {
    const streamFlag = endStream ? END_STREAM : 0;
    let offset = 0;
    let type = HEADERS;
    do {
      const size = Math.min(this.peerMaxFrame, block.length - offset);
      const last = offset + size === block.length;
      const flags = (type === HEADERS ? streamFlag : 0) | (last ? END_HEADERS : 0);
      this.write(frame(type, flags, id, block.subarray(offset, offset + size)));
      offset += size;
      type = CONTINUATION;
    } while (offset < block.length);
  }

  /** Send as much of the stream's body as the windows allow; the rest waits for WINDOW_UPDATE. */
  private flush(stream: StreamState): void {
    while (stream.pending.length > 0) {
      const size = Math.min(
        stream.pending.length,
        this.peerMaxFrame,
        stream.sendWindow,
        this.sendWindow,
      );
      if (size <= 0) return;
      const last = size === stream.pending.length;
      this.write(frame(DATA, last ? END_STREAM : 0, stream.id, stream.pending.subarray(0, size)));
      stream.pending = stream.pending.subarray(size);
      stream.sendWindow -= size;
      this.sendWindow -= size;
    }
  }

  private receive(chunk: Buffer): void {
    const bytes = this.inbox ? Buffer.concat([this.inbox, chunk]) : chunk;
    let offset = 0;
    try {
      if (!this.sawSettings && bytes.length >= 9 && bytes[3] !== SETTINGS) {
        // An HTTP/1.1 server, or a TLS port spoken to in clear text.
        throw new ProtocolError('the server does not speak HTTP/2');
      }
      while (bytes.length - offset >= 9) {
        const length = bytes.readUIntBE(offset, 3);
        if (length > DEFAULT_MAX_FRAME) {
          throw new ProtocolError(`a frame of ${length} bytes (at most ${DEFAULT_MAX_FRAME})`);
        }
        if (bytes.length - offset < 9 + length) break;
        const type = bytes[offset + 3]!;
        const flags = bytes[offset + 4]!;
        const streamId = bytes.readUInt32BE(offset + 5) & 0x7fffffff;
        const payload = bytes.subarray(offset + 9, offset + 9 + length);
        offset += 9 + length;
        this.onFrame(type, flags, streamId, payload);
        if (this.failure) return;
      }
    } catch (error) {
      // A stream handler's own exception is not the server's fault, but the stream's state is
      // unknown after it: end the connection either way, with the cause.
      this.fail(error as Error, PROTOCOL_ERROR);
      return;
    }
    this.inbox = offset < bytes.length ? bytes.subarray(offset) : undefined;
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.partial && type !== CONTINUATION) {
      throw new ProtocolError('a header block interrupted before its end');
    }
    switch (type) {
      case DATA:
        return this.onData(flags, streamId, payload);
      case HEADERS:
        return this.onHeaders(flags, streamId, payload);
      case CONTINUATION: {
        if (!this.partial || this.partial.streamId !== streamId) {
          throw new ProtocolError('CONTINUATION without a header block');
        }
        this.partial.fragments.push(payload);
        if (flags & END_HEADERS) this.endHeaderBlock();
        return;
      }
      case RST_STREAM:
        return this.onReset(streamId, payload);
      case SETTINGS:
        return this.onSettings(flags, streamId, payload);
      case PUSH_PROMISE:
        throw new ProtocolError('PUSH_PROMISE, though push is disabled');
      case PING:
        if (payload.length !== 8) throw new ProtocolError('a PING that is not 8 bytes');
        if (!(flags & ACK)) this.write(frame(PING, ACK, 0, payload));
        return;
      case GOAWAY:
        return this.onGoaway(payload);
      case WINDOW_UPDATE:
        return this.onWindowUpdate(streamId, payload);
      default:
        return; // PRIORITY, and frame types this client does not know, carry nothing for it
    }
  }

  /** The payload without its padding (RFC 9113 §6.1). */
  private unpad(flags: number, payload: Buffer): Buffer {
    if (!(flags & PADDED)) return payload;
    const padding = payload[0];
    if (padding === undefined || padding >= payload.length) {
      throw new ProtocolError('padding longer than its frame');
    }
    return payload.subarray(1, payload.length - padding);
  }

  private onData(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ProtocolError('DATA on stream 0');
    // Flow control counts the whole payload, padding included.
    this.received += payload.length;
    if (this.received >= WINDOW_REFILL) {
      this.write(frame(WINDOW_UPDATE, 0, 0, uint32(this.received)));
      this.received = 0;
    }
    const stream = this.streams.get(streamId);
    if (!stream) return; // cancelled: its remaining frames are dropped
    const data = this.unpad(flags, payload);
    stream.received += payload.length;
    if (stream.received >= WINDOW_REFILL && !(flags & END_STREAM)) {
      this.write(frame(WINDOW_UPDATE, 0, streamId, uint32(stream.received)));
      stream.received = 0;
    }
    if (data.length > 0) stream.handler.data(data);
    if (flags & END_STREAM) this.finish(stream);
  }

  private onHeaders(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ProtocolError('HEADERS on stream 0');
    let fragment = this.unpad(flags, payload);
    if (flags & PRIORITY) {
      if (fragment.length < 5) throw new ProtocolError('a HEADERS priority field cut short');
      fragment = fragment.subarray(5);
    }
    this.partial = { streamId, endStream: (flags & END_STREAM) !== 0, fragments: [fragment] };
    if (flags & END_HEADERS) this.endHeaderBlock();
  }

  /**
   * Decode a complete header block. Every block is decoded, even one for a cancelled stream:
   * HPACK's table is shared by the whole connection.
   */
  private endHeaderBlock(): void {
    const { streamId, endStream, fragments } = this.partial!;
    this.partial = undefined;
    const block = fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments);
    const fields = this.decoder.decode(block);
    const stream = this.streams.get(streamId);
    if (!stream) return;
    stream.handler.headers(fields, endStream);
    if (endStream) this.finish(stream);
  }

  private onReset(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ProtocolError('an RST_STREAM that is not 4 bytes');
    const stream = this.streams.get(streamId);
    if (!stream) return;
    this.streams.delete(streamId);
    const code = payload.readUInt32BE(0);
    stream.handler.error(new Error(`the server reset the stream (HTTP/2 ${h2ErrorName(code)})`));
    this.closeIfDone();
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new ProtocolError('SETTINGS on a stream');
    this.sawSettings = true;
    if (flags & ACK) return;
    if (payload.length % 6 !== 0) throw new ProtocolError('SETTINGS of a bad length');
    for (let offset = 0; offset < payload.length; offset += 6) {
      const id = payload.readUInt16BE(offset);
      const value = payload.readUInt32BE(offset + 2);
      if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ProtocolError('an initial window above 2^31-1');
        // The change applies to the windows of open streams too (RFC 9113 §6.9.2).
        const change = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const stream of this.streams.values()) stream.sendWindow += change;
      } else if (id === SETTINGS_MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME || value > 2 ** 24 - 1) {
          throw new ProtocolError(`a maximum frame size of ${value}`);
        }
        this.peerMaxFrame = value;
      }
      // Header table size: our encoder uses no dynamic table. Concurrent streams and header
      // list size: a CLI sends a handful of small requests.
    }
    this.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
    for (const stream of this.streams.values()) this.flush(stream);
  }

  private onGoaway(payload: Buffer): void {
    if (payload.length < 8) throw new ProtocolError('a GOAWAY cut short');
    const lastStreamId = payload.readUInt32BE(0) & 0x7fffffff;
    const code = payload.readUInt32BE(4);
    const debug = payload.subarray(8).toString('utf8');
    this.goingAway = true;
    const reason = `the server is closing the connection (HTTP/2 GOAWAY ${h2ErrorName(code)}${
      debug ? `: ${debug}` : ''
    })`;
    // Streams above lastStreamId were never processed; the ones below may still complete,
    // unless the server is ending for an error.
    for (const stream of [...this.streams.values()]) {
      if (stream.id > lastStreamId || code !== NO_ERROR) {
        this.streams.delete(stream.id);
        stream.handler.error(new Error(reason));
      }
    }
    this.closeIfDone();
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ProtocolError('a WINDOW_UPDATE that is not 4 bytes');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      this.sendWindow += increment;
      for (const stream of this.streams.values()) this.flush(stream);
      return;
    }
    const stream = this.streams.get(streamId);
    if (!stream) return;
    stream.sendWindow += increment;
    this.flush(stream);
  }

  private finish(stream: StreamState): void {
    this.streams.delete(stream.id);
    stream.handler.end();
    this.closeIfDone();
  }

  /** A connection going away ends once its last stream is done. */
  private closeIfDone(): void {
    if (!this.goingAway || this.streams.size > 0 || this.socket.destroyed) return;
    // GOAWAY, then our end of the TCP stream; the server closes its end in turn.
    if (this.socket.writable) this.socket.end(frame(GOAWAY, 0, 0, Buffer.alloc(8)));
    else this.socket.destroy();
  }

  /** Fail the connection and every stream on it, once. */
  private fail(error: Error, code = NO_ERROR): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    if (code === NO_ERROR || !this.socket.writable) this.socket.destroy();
    else {
      // Tell the server why, then stop reading: nothing it sends now can be trusted.
      const payload = Buffer.alloc(8);
      payload.writeUInt32BE(code, 4);
      this.socket.removeAllListeners('data');
      this.socket.end(frame(GOAWAY, 0, 0, payload));
    }
    const streams = [...this.streams.values()];
    this.streams.clear();
    for (const stream of streams) stream.handler.error(error);
  }
}
