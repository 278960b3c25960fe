/**
 * The few etcd v3 protobuf messages the gRPC reader needs, encoded and decoded by hand: loading
 * a protobuf library (and etcd's .proto files) costs more than a read-only Slurm call may take.
 *
 * Field numbers are those of etcd's `api/etcdserverpb/rpc.proto` and `api/mvccpb/kv.proto`:
 * - RangeRequest: key = 1, range_end = 2, keys_only = 8, count_only = 9
 * - TxnRequest: compare = 1, success = 2, failure = 3 (RequestOp: request_range = 1)
 * - RangeResponse: header = 1, kvs = 2, more = 3, count = 4
 * - TxnResponse: header = 1, succeeded = 2, responses = 3 (ResponseOp: response_range = 1)
 * - ResponseHeader: revision = 3
 * - KeyValue: key = 1, create_revision = 2, mod_revision = 3, version = 4, value = 5, lease = 6
 *
 * Decoding reads fields in place from the received buffer (no copies, strings decoded straight
 * from their byte ranges) because a `show_sessions` answer holds thousands of keys.
 */
import type { KeyValue } from './keystore';

/** One range read: `key` alone reads that key; with `rangeEnd`, every key in [key, rangeEnd). */
export interface RangeRequestFields {
  key: Buffer;
  rangeEnd?: Buffer;
  /** Leave the values out of the answer. */
  keysOnly?: boolean;
  /** Only count the keys: the answer has `count` and no keys. */
  countOnly?: boolean;
}

/** A decoded RangeResponse. */
export interface DecodedRange {
  /** The store revision the range was read at. */
  revision: number;
  kvs: KeyValue[];
  /** The keys alone, instead of `kvs`, when the range was decoded as keys only. */
  keys: string[];
  /** True if etcd left keys out (only with a limit, which these requests never set). */
  more: boolean;
  /** The number of keys in the range. */
  count: number;
}

/** A decoded TxnResponse whose operations were all range reads. */
export interface DecodedTxn {
  /** The store revision the transaction ran at: every range was read there. */
  revision: number;
  succeeded: boolean;
  /** One per request operation, in request order. */
  ranges: DecodedRange[];
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;
// The decoder matches whole tags, (field << 3) | wire type, written as literals so that the
// interpreter compares constants: 0x0a is field 1 length-delimited, 0x10 field 2 varint, ...

/** The number of bytes `value` (a non-negative integer below 2^53) takes as a varint. */
function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size += 1;
  }
  return size;
}

/** Appends to a buffer allocated once at the exact size of the message. */
class Writer {
  readonly buf: Buffer;
  private pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  varint(value: number): void {
    while (value >= 0x80) {
      this.buf[this.pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buf[this.pos++] = value;
  }

  /** A length-delimited field's tag and length; the caller writes its content next. */
  lengthPrefix(field: number, length: number): void {
    this.varint((field << 3) | WIRE_LEN);
    this.varint(length);
  }

  bytesField(field: number, bytes: Buffer): void {
    this.lengthPrefix(field, bytes.length);
    this.pos += bytes.copy(this.buf, this.pos);
  }

  boolField(field: number): void {
    this.varint((field << 3) | WIRE_VARINT);
    this.varint(1);
  }

  /** The message, checked to fill the buffer exactly (a size mistake must not go unnoticed). */
  finish(): Buffer {
    if (this.pos !== this.buf.length) {
      throw new Error(`protobuf encoder wrote ${this.pos} bytes into ${this.buf.length}`);
    }
    return this.buf;
  }
}

/** Size of a length-delimited field with `length` bytes of content; fields 1..15 have 1-byte tags. */
function lengthFieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** The encoded size of a RangeRequest; proto3 leaves empty and false fields out. */
function rangeRequestSize(request: RangeRequestFields): number {
  let size = 0;
  if (request.key.length > 0) size += lengthFieldSize(request.key.length);
  if (request.rangeEnd && request.rangeEnd.length > 0) {
    size += lengthFieldSize(request.rangeEnd.length);
  }
  if (request.keysOnly) size += 2;
  if (request.countOnly) size += 2;
  return size;
}

function writeRangeRequest(writer: Writer, request: RangeRequestFields): void {
  if (request.key.length > 0) writer.bytesField(1, request.key);
  if (request.rangeEnd && request.rangeEnd.length > 0) writer.bytesField(2, request.rangeEnd);
  if (request.keysOnly) writer.boolField(8);
  if (request.countOnly) writer.boolField(9);
}

/** Encode an `etcdserverpb.RangeRequest`. */
export function encodeRangeRequest(request: RangeRequestFields): Buffer {
  const writer = new Writer(rangeRequestSize(request));
  writeRangeRequest(writer, request);
  return writer.finish();
}

/**
 * Encode an `etcdserverpb.TxnRequest` with no compares whose success branch is `ranges`: etcd
 * always runs that branch, and runs all of it at one revision.
 */
export function encodeTxnRequest(ranges: readonly RangeRequestFields[]): Buffer {
  const sizes = ranges.map(rangeRequestSize);
  // Each success entry is a RequestOp holding one field: request_range = 1.
  const opSizes = sizes.map(lengthFieldSize);
  const writer = new Writer(opSizes.reduce((total, size) => total + lengthFieldSize(size), 0));
  ranges.forEach((range, i) => {
    writer.lengthPrefix(2, opSizes[i]!);
    writer.lengthPrefix(1, sizes[i]!);
    writeRangeRequest(writer, range);
  });
  return writer.finish();
}

function truncated(): Error {
  return new Error('protobuf message is truncated');
}

/*
 * Decoding. A read-only CLI decodes one answer per process, so this code runs cold, in V8's
 * interpreter: positions live in local variables, one-byte tags and the lengths of key-value
 * entries are read inline, and a nested message is decoded by a function given its bounds, so
 * nothing allocates but the results.
 */

/** Where the last `varintAt` stopped: its second result, without allocating a pair. */
let varintEnd = 0;

/**
 * The varint at `pos` as a Number, exact below 2^53, which every revision, version and length
 * is (a sum of exact powers of two stays exact while the result is a safe integer).
 */
function varintAt(buf: Buffer, pos: number, end: number): number {
  let value = 0;
  let scale = 1;
  for (let count = 0; count < 10; count += 1) {
    if (pos >= end) throw truncated();
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      varintEnd = pos;
      return value;
    }
    scale *= 0x80;
  }
  throw new Error('protobuf varint is longer than 10 bytes');
}

/**
 * The int64 varint at `pos` as an exact decimal string. Lease ids are random 63-bit numbers,
 * beyond Number's exact range, and a `pools` answer holds a thousand of them: they are split
 * into 24-bit limbs and joined as decimal digits with Number arithmetic (as protobuf's own
 * JavaScript runtime does), since BigInt allocates at every step and cold code pays for it.
 * Only a negative id, which etcd never issues, takes BigInt.
 */
function int64StringAt(buf: Buffer, pos: number, end: number): string {
  const approximate = varintAt(buf, pos, end);
  if (approximate <= Number.MAX_SAFE_INTEGER) return String(approximate);
  // The low 32 bits and the high 32 bits of the two's-complement value.
  let low = 0;
  let high = 0;
  for (let i = pos, shift = 0; i < varintEnd; i += 1, shift += 7) {
    const bits = buf[i]! & 0x7f;
    if (shift < 28) low |= bits << shift;
    else if (shift === 28) {
      low |= (bits & 0x0f) << 28;
      high |= bits >>> 4;
    } else high |= bits << (shift - 32);
  }
  low >>>= 0;
  high >>>= 0;
  if (high >= 0x80000000) {
    let value = 0n;
    for (let i = varintEnd - 1; i >= pos; i -= 1) value = (value << 7n) | BigInt(buf[i]! & 0x7f);
    return BigInt.asIntN(64, value).toString();
  }
  return unsignedDecimal(high, low);
}

/** The decimal digits of high × 2^32 + low, exactly (high < 2^31). */
function unsignedDecimal(high: number, low: number): string {
  // 24-bit limbs: value = a + b × 2^24 + c × 2^48.
  const a = low & 0xffffff;
  const b = ((low >>> 24) | (high << 8)) & 0xffffff;
  const c = (high >>> 16) & 0xffff;
  // Regroup in base 10^7: 2^24 = 1 × 10^7 + 6777216, 2^48 = 28147497 × 10^7 + 6710656.
  let digitsA = a + b * 6777216 + c * 6710656;
  let digitsB = b + c * 8147497;
  let digitsC = c * 2;
  const base = 10_000_000;
  if (digitsA >= base) {
    digitsB += Math.floor(digitsA / base);
    digitsA %= base;
  }
  if (digitsB >= base) {
    digitsC += Math.floor(digitsB / base);
    digitsB %= base;
  }
  const pad = (digits: number) => String(digits).padStart(7, '0');
  if (digitsC > 0) return `${digitsC}${pad(digitsB)}${pad(digitsA)}`;
  if (digitsB > 0) return `${digitsB}${pad(digitsA)}`;
  return String(digitsA);
}

/** The end of the length-delimited content starting after its length at `pos` (`varintEnd`). */
function contentEnd(buf: Buffer, pos: number, end: number): number {
  const length = varintAt(buf, pos, end);
  const stop = varintEnd + length;
  if (stop > end) throw truncated();
  return stop;
}

/** The position after the field of `wireType` whose value starts at `pos`. */
function skipField(buf: Buffer, wireType: number, pos: number, end: number): number {
  let next: number;
  switch (wireType) {
    case WIRE_VARINT:
      varintAt(buf, pos, end);
      return varintEnd;
    case WIRE_FIXED64:
      next = pos + 8;
      break;
    case WIRE_LEN:
      return contentEnd(buf, pos, end);
    case WIRE_FIXED32:
      next = pos + 4;
      break;
    default:
      throw new Error(`protobuf wire type ${wireType} is not supported`);
  }
  if (next > end) throw truncated();
  return next;
}

type Slice = (this: Buffer, start: number, end: number) => string;
/**
 * Buffer's own UTF-8 slice, which `toString('utf8', start, end)` calls after checking its
 * arguments; those checks cost more than the decoding for short strings in cold code. It is
 * not in the typings, so fall back to `toString` if a Node version lacks it.
 */
const utf8Slice: Slice =
  (Buffer.prototype as unknown as { utf8Slice?: Slice }).utf8Slice ??
  function (this: Buffer, start: number, end: number) {
    return this.toString('utf8', start, end);
  };

/** Decode an `mvccpb.KeyValue` occupying [pos, end). */
function keyValueAt(buf: Buffer, pos: number, end: number): KeyValue {
  let key = '';
  let value = '';
  let createRevision = 0;
  let modRevision = 0;
  let version = 0;
  let lease = '0';
  while (pos < end) {
    let tag = buf[pos]!;
    if (tag < 0x80) pos += 1;
    else {
      tag = varintAt(buf, pos, end);
      pos = varintEnd;
    }
    switch (tag) {
      case 0x0a: {
        // key = 1
        const stop = contentEnd(buf, pos, end);
        key = utf8Slice.call(buf, varintEnd, stop);
        pos = stop;
        break;
      }
      case 0x10: // create_revision = 2
        createRevision = varintAt(buf, pos, end);
        pos = varintEnd;
        break;
      case 0x18: // mod_revision = 3
        modRevision = varintAt(buf, pos, end);
        pos = varintEnd;
        break;
      case 0x20: // version = 4
        version = varintAt(buf, pos, end);
        pos = varintEnd;
        break;
      case 0x2a: {
        // value = 5
        const stop = contentEnd(buf, pos, end);
        value = utf8Slice.call(buf, varintEnd, stop);
        pos = stop;
        break;
      }
      case 0x30: // lease = 6
        lease = int64StringAt(buf, pos, end);
        pos = varintEnd;
        break;
      default:
        pos = skipField(buf, tag & 7, pos, end);
    }
  }
  const kv: KeyValue = { key, value, createRevision, modRevision, version };
  if (lease !== '0') kv.lease = lease;
  return kv;
}

/**
 * The key of an `mvccpb.KeyValue` occupying [pos, end), every other field skipped undecoded:
 * a `pools` answer holds a thousand liveness keys, whose lease ids alone cost more to turn
 * into decimal strings than the rest of their decoding.
 */
function keyAt(buf: Buffer, pos: number, end: number): string {
  let key = '';
  while (pos < end) {
    let tag = buf[pos]!;
    if (tag < 0x80) pos += 1;
    else {
      tag = varintAt(buf, pos, end);
      pos = varintEnd;
    }
    if (tag === 0x0a) {
      // key = 1
      const stop = contentEnd(buf, pos, end);
      key = utf8Slice.call(buf, varintEnd, stop);
      pos = stop;
    } else {
      pos = skipField(buf, tag & 7, pos, end);
    }
  }
  return key;
}

/** The revision of an `etcdserverpb.ResponseHeader` occupying [pos, end). */
function headerRevisionAt(buf: Buffer, pos: number, end: number): number {
  let revision = 0;
  while (pos < end) {
    const tag = varintAt(buf, pos, end);
    pos = varintEnd;
    if (tag === 0x18) {
      // revision = 3
      revision = varintAt(buf, pos, end);
      pos = varintEnd;
    } else {
      pos = skipField(buf, tag & 7, pos, end);
    }
  }
  return revision;
}

/**
 * Decode an `etcdserverpb.RangeResponse` occupying [pos, end); with `keysOnly`, only the key
 * of each key-value, into `keys`.
 */
function rangeResponseAt(buf: Buffer, pos: number, end: number, keysOnly: boolean): DecodedRange {
  const result: DecodedRange = { revision: 0, kvs: [], keys: [], more: false, count: 0 };
  while (pos < end) {
    let tag = buf[pos]!;
    if (tag < 0x80) pos += 1;
    else {
      tag = varintAt(buf, pos, end);
      pos = varintEnd;
    }
    switch (tag) {
      case 0x0a: {
        // header = 1
        const stop = contentEnd(buf, pos, end);
        result.revision = headerRevisionAt(buf, varintEnd, stop);
        pos = stop;
        break;
      }
      case 0x12: {
        // kvs = 2
        // One- and two-byte lengths are inline: keys alone, or values up to 16 KiB.
        let start: number;
        let stop: number;
        const first = buf[pos]!;
        if (first < 0x80) {
          start = pos + 1;
          stop = start + first;
        } else if (pos + 1 < end && buf[pos + 1]! < 0x80) {
          start = pos + 2;
          stop = start + (first & 0x7f) + buf[pos + 1]! * 0x80;
        } else {
          stop = contentEnd(buf, pos, end);
          start = varintEnd;
        }
        if (stop > end) throw truncated();
        if (keysOnly) result.keys.push(keyAt(buf, start, stop));
        else result.kvs.push(keyValueAt(buf, start, stop));
        pos = stop;
        break;
      }
      case 0x18: // more = 3
        result.more = varintAt(buf, pos, end) !== 0;
        pos = varintEnd;
        break;
      case 0x20: // count = 4
        result.count = varintAt(buf, pos, end);
        pos = varintEnd;
        break;
      default:
        pos = skipField(buf, tag & 7, pos, end);
    }
  }
  return result;
}

/** Decode an `etcdserverpb.RangeResponse`. */
export function decodeRangeResponse(message: Buffer): DecodedRange {
  return rangeResponseAt(message, 0, message.length, false);
}

/**
 * Decode an `etcdserverpb.TxnResponse`; every response op must be a range response. Range `i`
 * is decoded as keys only if `keysOnly[i]` is true.
 */
export function decodeTxnResponse(message: Buffer, keysOnly: readonly boolean[] = []): DecodedTxn {
  const end = message.length;
  const result: DecodedTxn = { revision: 0, succeeded: false, ranges: [] };
  let pos = 0;
  while (pos < end) {
    const tag = varintAt(message, pos, end);
    pos = varintEnd;
    switch (tag) {
      case 0x0a: {
        // header = 1
        const stop = contentEnd(message, pos, end);
        result.revision = headerRevisionAt(message, varintEnd, stop);
        pos = stop;
        break;
      }
      case 0x10: // succeeded = 2
        result.succeeded = varintAt(message, pos, end) !== 0;
        pos = varintEnd;
        break;
      case 0x1a: {
        // responses = 3
        const opEnd = contentEnd(message, pos, end);
        pos = varintEnd;
        let range: DecodedRange | undefined;
        while (pos < opEnd) {
          const opTag = varintAt(message, pos, opEnd);
          pos = varintEnd;
          if (opTag === 0x0a) {
            // ResponseOp.response_range = 1
            const stop = contentEnd(message, pos, opEnd);
            range = rangeResponseAt(
              message,
              varintEnd,
              stop,
              keysOnly[result.ranges.length] === true,
            );
            pos = stop;
          } else {
            pos = skipField(message, opTag & 7, pos, opEnd);
          }
        }
        // Positions matter (answer i is range i): an op of another kind cannot be dropped.
        if (range === undefined) throw new Error('TxnResponse holds an op that is not a range');
        result.ranges.push(range);
        break;
      }
      default:
        pos = skipField(message, tag & 7, pos, end);
    }
  }
  return result;
}
