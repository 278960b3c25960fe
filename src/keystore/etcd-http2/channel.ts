/**
 * gRPC to one etcd endpoint over one `node:http2` session: unary calls and bidirectional
 * streams, the 5-byte message framing, `grpc-timeout`, and the status, which arrives in the
 * trailers or, when etcd fails a call before answering (`key is not provided`), in the
 * headers of a trailers-only response.
 *
 * The session is opened on first use and again after it failed or etcd sent GOAWAY. It is
 * referenced only while a call or stream is open: an idle session never delays the exit of
 * a CLI that has printed its answer.
 */
import {
  connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
} from 'node:http2';
import { isIP } from 'node:net';
import type { TlsMaterial } from '../tls-files';
import { startOwnTimeDeadline } from '../own-time-deadline';

/** The limits of one channel (README.md). */
export interface ChannelLimits {
  /** The largest gRPC message accepted from etcd; a larger one fails its call. */
  maxMessageBytes: number;
}

/** The largest answer by default: a snapshot of a busy cluster's sessions is several MB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Response headers we accept, in bytes (HPACK-decoded) and in fields; etcd sends a handful. */
const MAX_HEADER_LIST_BYTES = 16 * 1024;
const MAX_HEADER_FIELDS = 32;
/**
 * Flow-control windows: large enough that a multi-megabyte answer never waits for a
 * WINDOW_UPDATE round trip; nghttp2 refills them as the data is read.
 */
const STREAM_WINDOW = 8 * 1024 * 1024;
const SESSION_WINDOW = 32 * 1024 * 1024;
/** nghttp2's own buffers per session, in MB (node's default 10 is below one window). */
const MAX_SESSION_MEMORY_MB = 64;

/** HTTP/2's error codes (RFC 9113 §7), for messages. */
const H2_ERRORS = [
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

function h2ErrorName(code: number): string {
  return H2_ERRORS[code] ?? `0x${code.toString(16)}`;
}

/** A call etcd answered with a non-zero `grpc-status`. */
export class GrpcStatusError extends Error {
  constructor(
    /** The gRPC status code, e.g. 3 (INVALID_ARGUMENT) or 14 (UNAVAILABLE). */
    readonly status: number,
    /** etcd's `grpc-message`, percent-decoded. */
    readonly grpcMessage: string,
  ) {
    super(`gRPC status ${status}: ${grpcMessage}`);
    this.name = 'GrpcStatusError';
  }
}

/** gRPC's length-prefixed message: a compressed flag (0), the length (uint32 BE), the bytes. */
function frame(message: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(5 + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  message.copy(framed, 5);
  return framed;
}

/** gRPC percent-encodes grpc-message; keep the raw text if it is not valid encoding. */
function decodeGrpcMessage(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function headerText(headers: IncomingHttpHeaders | undefined, name: string): string | undefined {
  // node gives `:status` as a number.
  const value: unknown = headers?.[name];
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : String(first);
}

/** Splits a response body into gRPC messages, refusing any over the size limit. */
class MessageReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The length of the message being read, once its 5-byte prefix is in. */
  private length: number | undefined;

  constructor(private readonly maxBytes: number) {}

  /** The messages `chunk` completes; throws for a compressed or oversized message. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: Buffer[] = [];
    for (;;) {
      if (this.length === undefined) {
        if (this.buffered < 5) return messages;
        const prefix = this.take(5);
        // We send no grpc-accept-encoding, so a compliant server never compresses.
        if (prefix[0] !== 0) throw new Error('the answer is a compressed gRPC message');
        this.length = prefix.readUInt32BE(1);
        if (this.length > this.maxBytes) {
          throw new Error(
            `the answer is a gRPC message of ${this.length} bytes, over the limit of ${this.maxBytes}`,
          );
        }
      }
      if (this.buffered < this.length) return messages;
      messages.push(this.take(this.length));
      this.length = undefined;
    }
  }

  /** What is wrong with the end of the body, if part of a message has arrived and not the rest. */
  unfinished(): string | undefined {
    if (this.length !== undefined) {
      return `the answer is ${this.buffered} bytes, its gRPC frame says ${this.length}`;
    }
    if (this.buffered > 0) return `the answer ends inside a gRPC message prefix`;
    return undefined;
  }

  private take(bytes: number): Buffer {
    const first = this.chunks[0];
    if (bytes === 0) return Buffer.alloc(0);
    // The common cases: the first chunk holds it all (no copy), or it is the whole buffer.
    if (first && first.length >= bytes) {
      this.chunks[0] = first.subarray(bytes);
      if (this.chunks[0].length === 0) this.chunks.shift();
      this.buffered -= bytes;
      return first.subarray(0, bytes);
    }
    const all = Buffer.concat(this.chunks);
    this.chunks = all.length > bytes ? [all.subarray(bytes)] : [];
    this.buffered -= bytes;
    return all.subarray(0, bytes);
  }
}

/** What an open call reports. */
export interface StreamHandlers {
  message(message: Buffer): void;
  /** The call ended: `error` is undefined for status 0, a GrpcStatusError, or a transport failure. */
  end(error: Error | undefined): void;
}

/** An open gRPC call: send messages, end it, or cancel it. */
export interface GrpcStream {
  /** Send one message; `last` half-closes the call after it. Resolves once handed to the socket. */
  send(message: Buffer, last?: boolean): Promise<void>;
  /** Reset the stream (CANCEL); no handler runs afterwards. */
  cancel(): void;
}

/** gRPC over one HTTP/2 session to `endpoint`. */
export class Channel {
  private session: ClientHttp2Session | undefined;
  /** Why the current session failed (its `error` event), the better cause for its calls. */
  private failure: Error | undefined;
  /** Calls and streams open: while any is, the session keeps the process alive. */
  private open = 0;
  private readonly url: URL;

  constructor(
    readonly endpoint: string,
    private readonly tls: TlsMaterial | undefined,
    private readonly limits: ChannelLimits,
  ) {
    this.url = new URL(endpoint);
  }

  /** The current session, or a new one if there is none or it cannot take new streams. */
  private current(): ClientHttp2Session {
    const existing = this.session;
    if (existing && !existing.closed && !existing.destroyed) return existing;
    this.failure = undefined;
    const https = this.url.protocol === 'https:';
    const session = connect(this.url.origin, {
      settings: {
        enablePush: false,
        initialWindowSize: STREAM_WINDOW,
        maxHeaderListSize: MAX_HEADER_LIST_BYTES,
      },
      maxHeaderListPairs: MAX_HEADER_FIELDS,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      maxReservedRemoteStreams: 0,
      // Without TLS the client speaks HTTP/2 directly (h2c), which etcd's client port accepts
      // for gRPC; with it, it offers ALPN h2, with the files of the settings.
      ...(https ? { createConnection: () => this.connectTls() } : {}),
    });
    session.on('error', (error: Error) => {
      if (this.session === session) this.failure = error;
    });
    // GOAWAY: the streams in flight finish; new ones need a new session.
    session.on('goaway', () => this.forget(session));
    session.on('close', () => this.forget(session));
    session.once('connect', () => session.setLocalWindowSize(SESSION_WINDOW));
    if (this.open === 0) session.unref();
    this.session = session;
    return session;
  }

  private connectTls() {
    // Loaded only for TLS: h2c, the common case on a cluster's private network, does not pay it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tls = require('node:tls') as typeof import('node:tls');
    // URL keeps the brackets of an IPv6 literal; sockets want the bare address.
    const host = this.url.hostname.replace(/^\[(.*)\]$/, '$1');
    return tls.connect({
      host,
      port: Number(this.url.port || 443),
      // SNI names a host, never an address (RFC 6066); Node warns if given one.
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ALPNProtocols: ['h2'],
      ...this.tls,
    });
  }

  private forget(session: ClientHttp2Session): void {
    if (this.session === session) this.session = undefined;
  }

  private hold(session: ClientHttp2Session): void {
    if (this.open++ === 0) session.ref();
  }

  private release(session: ClientHttp2Session): void {
    if (--this.open === 0) session.unref();
  }

  /**
   * Open a call of `path` (e.g. `/etcdserverpb.Watch/Watch`). `timeoutMs`, if given, is sent
   * as `grpc-timeout`, so that etcd gives up on the call when we do.
   */
  stream(path: string, handlers: StreamHandlers, timeoutMs?: number): GrpcStream {
    const session = this.current();
    const reader = new MessageReader(this.limits.maxMessageBytes);
    let request: ClientHttp2Stream;
    try {
      request = session.request(
        {
          ':method': 'POST',
          ':path': path,
          'content-type': 'application/grpc',
          // Required by gRPC: it tells proxies that the status will come in trailers.
          te: 'trailers',
          ...(timeoutMs !== undefined
            ? { 'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m` }
            : {}),
        },
        { endStream: false },
      );
    } catch (error) {
      // The session is going away or has failed: the next call opens a new one.
      this.forget(session);
      const failure = this.failure ?? (error as Error);
      queueMicrotask(() => handlers.end(failure));
      return { send: () => Promise.resolve(), cancel: () => undefined };
    }
    this.hold(session);
    let headers: IncomingHttpHeaders | undefined;
    let trailers: IncomingHttpHeaders | undefined;
    let done = false;
    /** Sends not yet handed to the socket: they settle when the call ends, whatever happens. */
    const sending = new Set<() => void>();
    const stop = (): void => {
      done = true;
      this.release(session);
      if (!request.closed) request.close(constants.NGHTTP2_CANCEL);
      for (const settle of sending) settle();
    };
    const finish = (error: Error | undefined): void => {
      if (done) return;
      stop();
      handlers.end(error);
    };
    request.on('response', (fields) => (headers = fields));
    request.on('trailers', (fields) => (trailers = fields));
    request.on('data', (chunk: Buffer) => {
      if (done) return;
      let messages: Buffer[];
      try {
        messages = reader.push(chunk);
      } catch (error) {
        finish(error as Error);
        return;
      }
      for (const message of messages) if (!done) handlers.message(message);
    });
    request.on('error', (error: Error & { code?: string }) => {
      // A stream failed with its session: the session's failure (refused, TLS) says why.
      if (this.failure) finish(this.failure);
      else if (error.code === 'ERR_HTTP2_STREAM_ERROR') {
        finish(new Error(`the server reset the stream (HTTP/2 ${h2ErrorName(request.rstCode)})`));
      } else finish(error);
    });
    request.on('close', () => finish(this.failure ?? this.outcome(headers, trailers, reader)));
    return {
      send: (message, last = false) =>
        new Promise((resolve) => {
          if (done || request.writableEnded) return resolve();
          const settle = (): void => {
            sending.delete(settle);
            resolve();
          };
          sending.add(settle);
          const framed = frame(message);
          if (last) request.end(framed, settle);
          else request.write(framed, settle);
        }),
      cancel: () => {
        if (!done) stop();
      },
    };
  }

  /** How a call that closed ended: undefined for status 0. */
  private outcome(
    headers: IncomingHttpHeaders | undefined,
    trailers: IncomingHttpHeaders | undefined,
    reader: MessageReader,
  ): Error | undefined {
    if (headers === undefined) return new Error('the stream ended without an answer');
    const httpStatus = headerText(headers, ':status');
    if (httpStatus !== '200') {
      return new Error(`HTTP status ${httpStatus ?? '(none)'}, not a gRPC answer`);
    }
    const status = headerText(trailers, 'grpc-status') ?? headerText(headers, 'grpc-status');
    if (status === undefined) return new Error('the answer has no grpc-status');
    if (status !== '0') {
      const text =
        headerText(trailers, 'grpc-message') ?? headerText(headers, 'grpc-message') ?? '';
      return new GrpcStatusError(Number(status), decodeGrpcMessage(text));
    }
    const unfinished = reader.unfinished();
    return unfinished === undefined ? undefined : new Error(unfinished);
  }

  /**
   * One unary call: resolves with the one answer message. Rejects with GrpcStatusError for a
   * non-zero status and a plain Error for a transport failure or no answer within `timeoutMs`
   * of this process's own time (a starved process must not blame etcd). `sent`, if given,
   * settles once the request has been handed to the socket (or could not be).
   */
  unary(
    path: string,
    message: Buffer,
    timeoutMs: number,
    sent?: (promise: Promise<void>) => void,
  ): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const answers: Buffer[] = [];
      const deadline = startOwnTimeDeadline(timeoutMs, () => {
        call.cancel();
        // The session may be what is stuck (a member that accepts and never answers).
        this.drop();
        reject(new Error(`no answer within ${Math.round(timeoutMs)} ms`));
      });
      const call = this.stream(
        path,
        {
          message: (answer) => answers.push(answer),
          end: (error) => {
            deadline.cancel();
            if (error) reject(error);
            else if (answers.length !== 1) {
              reject(new Error(`the answer holds ${answers.length} gRPC messages, not 1`));
            } else resolve(answers[0]!);
          },
        },
        timeoutMs,
      );
      const sending = call.send(message, true);
      sent?.(sending);
    });
  }

  /** End the session at once (calls in flight fail); the next call opens a new one. */
  drop(): void {
    const session = this.session;
    this.session = undefined;
    session?.destroy();
  }

  /**
   * Close the session: at once if idle, else once the calls in flight are done (they keep it
   * referenced until then).
   */
  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (!session || session.destroyed) return;
    if (this.open === 0) {
      session.destroy();
      return;
    }
    await new Promise<void>((resolve) => session.close(resolve));
  }
}
