/**
 * One unary gRPC call over a `node:http2` session: the request headers gRPC requires, the
 * 5-byte message framing, and the status, which arrives in the trailers — or, when the server
 * fails the call before answering (etcd's "key is not provided", an unknown method), in the
 * response headers of a trailers-only response.
 */
import {
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
} from 'node:http2';

/** A call the server answered with a non-zero `grpc-status`. */
export class GrpcStatusError extends Error {
  constructor(
    /** The gRPC status code, e.g. 3 (INVALID_ARGUMENT) or 14 (UNAVAILABLE). */
    readonly status: number,
    /** The server's `grpc-message`, percent-decoded. */
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

/** The one message of a unary response body, which may have come in any number of DATA frames. */
function unframe(chunks: Buffer[]): Buffer {
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  if (body.length < 5) throw new Error(`the answer holds no gRPC message (${body.length} bytes)`);
  // We send no grpc-accept-encoding, so a compliant server never compresses.
  if (body[0] !== 0) throw new Error('the answer is a compressed gRPC message');
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) {
    throw new Error(`the answer is ${body.length - 5} bytes, its gRPC frame says ${length}`);
  }
  return body.subarray(5);
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
  const value = headers?.[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Send `message` to `path` (e.g. `/etcdserverpb.KV/Range`) and resolve with the response
 * message. Rejects with `GrpcStatusError` for a non-zero status and with a plain Error for a
 * transport failure (connection refused, reset stream, TLS refusal, no answer within
 * `timeoutMs`), after which the session should not be trusted again.
 */
export function grpcUnaryCall(
  session: ClientHttp2Session,
  path: string,
  message: Buffer,
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let headers: IncomingHttpHeaders | undefined;
    let trailers: IncomingHttpHeaders | undefined;
    let settled = false;

    let stream: ClientHttp2Stream;
    try {
      stream = session.request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: path,
        [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
        // Required by gRPC: it tells proxies that the status will come in trailers.
        [constants.HTTP2_HEADER_TE]: 'trailers',
        // So that etcd also gives up on the call when we do.
        'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m`,
      });
    } catch (error) {
      reject(error as Error); // the session is already closed or going away
      return;
    }
    const settle = (error: Error | undefined, result?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === undefined) {
        resolve(result!);
        return;
      }
      if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      reject(error);
    };
    const timer = setTimeout(
      () => settle(new Error(`no answer within ${timeoutMs} ms`)),
      Math.max(0, timeoutMs),
    );

    stream.on('response', (received) => (headers = received));
    stream.on('trailers', (received) => (trailers = received));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A failed session (ECONNREFUSED, a refused TLS handshake) destroys its streams with an
    // error naming the cause; the session's own 'error' is the owner's to handle.
    stream.on('error', (error: Error) => settle(error));
    // 'close' comes after the body and the trailers: only then is the status known.
    stream.on('close', () => {
      if (settled) return;
      if (headers === undefined) {
        settle(new Error(`the stream closed without an answer (HTTP/2 code ${stream.rstCode})`));
        return;
      }
      // Node gives :status as a number, though the header types say string.
      const httpStatus = Number(headers[constants.HTTP2_HEADER_STATUS]);
      if (httpStatus !== 200) {
        settle(new Error(`HTTP status ${httpStatus}, not a gRPC answer`));
        return;
      }
      const status = headerText(trailers, 'grpc-status') ?? headerText(headers, 'grpc-status');
      if (status === undefined) {
        settle(new Error('the answer has no grpc-status'));
        return;
      }
      if (status !== '0') {
        const text =
          headerText(trailers, 'grpc-message') ?? headerText(headers, 'grpc-message') ?? '';
        settle(new GrpcStatusError(Number(status), decodeGrpcMessage(text)));
        return;
      }
      try {
        settle(undefined, unframe(chunks));
      } catch (error) {
        settle(error as Error);
      }
    });
    stream.end(frame(message));
  });
}
