/**
 * One unary gRPC call over an `H2Connection`: the request headers gRPC requires, the 5-byte
 * message framing, and the status, which arrives in the trailers — or, when the server fails
 * the call before answering (etcd's "key is not provided", an unknown method), in the
 * response headers of a trailers-only response.
 */
import type { H2Connection, H2Stream } from './h2-connection';
import { startOwnTimeDeadline } from './own-time-deadline';

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

/** The first value of header `name`, if any. */
function headerText(
  fields: ReadonlyArray<[string, string]> | undefined,
  name: string,
): string | undefined {
  return fields?.find(([field]) => field === name)?.[1];
}

/**
 * Send `message` to `path` (e.g. `/etcdserverpb.KV/Range`) and resolve with the response
 * message. Rejects with `GrpcStatusError` for a non-zero status and with a plain Error for a
 * transport failure (connection refused, reset stream, TLS refusal, no answer within
 * `timeoutMs` of this process's own time), after which the connection should not be trusted again.
 */
export function grpcUnaryCall(
  connection: H2Connection,
  path: string,
  message: Buffer,
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let headers: ReadonlyArray<[string, string]> | undefined;
    let trailers: ReadonlyArray<[string, string]> | undefined;
    let settled = false;
    let stream: H2Stream | undefined;

    const settle = (error: Error | undefined, result?: Buffer): void => {
      if (settled) return;
      settled = true;
      deadline.cancel();
      if (error === undefined) resolve(result!);
      else {
        stream?.cancel();
        reject(error);
      }
    };
    // Counted in this process's own time: a starved process must not blame etcd.
    const deadline = startOwnTimeDeadline(timeoutMs, () =>
      settle(new Error(`no answer within ${timeoutMs} ms`)),
    );
    /** The stream has ended: only now is the status known. */
    const end = (): void => {
      if (headers === undefined) {
        settle(new Error('the stream ended without an answer'));
        return;
      }
      const httpStatus = headerText(headers, ':status');
      if (httpStatus !== '200') {
        settle(new Error(`HTTP status ${httpStatus ?? '(none)'}, not a gRPC answer`));
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
    };

    try {
      stream = connection.request(
        'POST',
        path,
        [
          ['content-type', 'application/grpc'],
          // Required by gRPC: it tells proxies that the status will come in trailers.
          ['te', 'trailers'],
          // So that etcd also gives up on the call when we do.
          ['grpc-timeout', `${Math.max(1, Math.ceil(timeoutMs))}m`],
        ],
        frame(message),
        {
          headers: (fields) => {
            if (headers === undefined) headers = fields;
            else trailers = fields;
          },
          data: (chunk) => chunks.push(chunk),
          end,
          error: (error) => settle(error),
        },
      );
    } catch (error) {
      settle(error as Error); // the connection has already failed or is going away
    }
  });
}
