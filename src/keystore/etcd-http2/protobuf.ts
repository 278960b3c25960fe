/**
 * The etcd v3 protobuf messages the CLI's client sends and receives, encoded and decoded by
 * hand: loading protobufjs and etcd's .proto files costs more than a whole polled Slurm call
 * (README.md). Tests check this codec against protobufjs with etcd's own .proto files, and
 * feed every decoder arbitrary bytes.
 *
 * Field numbers are those of etcd's `api/etcdserverpb/rpc.proto` and `api/mvccpb/kv.proto`:
 * - RangeRequest: key = 1, range_end = 2, limit = 3, revision = 4, keys_only = 8, count_only = 9
 * - PutRequest: key = 1, value = 2, lease = 3, prev_kv = 4
 * - DeleteRangeRequest: key = 1, range_end = 2, prev_kv = 3
 * - Compare: result = 1, target = 2, key = 3, version = 4, create_revision = 5,
 *   mod_revision = 6, value = 7, lease = 8, range_end = 64
 * - RequestOp: request_range = 1, request_put = 2, request_delete_range = 3
 * - TxnRequest: compare = 1, success = 2, failure = 3
 * - ResponseHeader: revision = 3 (cluster_id, member_id, raft_term are skipped)
 * - RangeResponse: header = 1, kvs = 2, more = 3, count = 4
 * - PutResponse: header = 1, prev_kv = 2; DeleteRangeResponse: header = 1, deleted = 2,
 *   prev_kvs = 3
 * - ResponseOp: response_range = 1, response_put = 2, response_delete_range = 3,
 *   response_txn = 4; TxnResponse: header = 1, succeeded = 2, responses = 3
 * - KeyValue: key = 1, create_revision = 2, mod_revision = 3, version = 4, value = 5, lease = 6
 * - WatchRequest: create_request = 1 (WatchCreateRequest: key = 1, range_end = 2,
 *   start_revision = 3, prev_kv = 6), cancel_request = 2 (WatchCancelRequest: watch_id = 1)
 * - WatchResponse: header = 1, watch_id = 2, created = 3, canceled = 4, compact_revision = 5,
 *   cancel_reason = 6, fragment = 7, events = 11 (Event: type = 1, kv = 2, prev_kv = 3)
 * - LeaseGrantRequest: TTL = 1, ID = 2; LeaseGrantResponse: header = 1, ID = 2, TTL = 3,
 *   error = 4; LeaseRevokeRequest: ID = 1; LeaseRevokeResponse: header = 1;
 *   LeaseKeepAliveRequest: ID = 1; LeaseKeepAliveResponse: header = 1, ID = 2, TTL = 3
 *
 * Decoding reads fields in place from the received buffer (no copies, strings decoded straight
 * from their byte ranges) because a `show_sessions` answer holds thousands of keys. Every
 * decoder checks each length against the end of its enclosing message, so no field can claim
 * more than the bytes received (whose total the gRPC layer caps); keys, entry counts and the
 * nesting of transactions have limits of their own (`DECODE_LIMITS`). Malformed input fails
 * with `ProtoDecodeError` and nothing else.
 */
import type { KeyValue } from '../keystore';

/** Limits of the decoders, beyond the size of the message itself. */
export const DECODE_LIMITS = {
  /** The longest key: etcd's default request limit (`--max-request-bytes`), 1.5 MiB. */
  maxKeyBytes: 1.5 * 1024 * 1024,
  /** The most entries of one repeated field (key-values, events, response ops). */
  maxEntries: 4_000_000,
  /** The deepest nesting of transactions in a TxnResponse (etcd answers what we send: 1). */
  maxTxnDepth: 4,
} as const;

/** Bytes that are not the message they were decoded as. */
export class ProtoDecodeError extends Error {
  constructor(message: string) {
    super(`protobuf: ${message}`);
    this.name = 'ProtoDecodeError';
  }
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;
// The decoder matches whole tags, (field << 3) | wire type, written as literals so that the
// interpreter compares constants: 0x0a is field 1 length-delimited, 0x10 field 2 varint, ...

/*
 * Encoding: one growing buffer; a nested message is written in place after room for its
 * length, then moved back over the room it did not need.
 */

/** Bytes to encode: a string is UTF-8. */
export type Bytes = Buffer | string;

/** The most bytes a nested message's length takes (a varint below 2^35). */
const LENGTH_ROOM = 5;

export class ProtoWriter {
  private buf = Buffer.allocUnsafe(128);
  private pos = 0;

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** A non-negative integer below 2^53. */
  private varint(value: number): void {
    this.ensure(10);
    while (value >= 0x80) {
      this.buf[this.pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buf[this.pos++] = value;
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** A length-delimited field, left out if empty (proto3), unless `always`. */
  bytes(field: number, value: Bytes | undefined, always = false): void {
    if (value === undefined || (value.length === 0 && !always)) return;
    const length = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
    this.tag(field, WIRE_LEN);
    this.varint(length);
    this.ensure(length);
    if (typeof value === 'string') this.pos += this.buf.write(value, this.pos, 'utf8');
    else this.pos += value.copy(this.buf, this.pos);
  }

  /**
   * An int64/uint64/enum field: a safe integer, or a decimal string (lease ids are 64-bit);
   * negative values as 10-byte two's complement. Left out if 0, unless `always` (a oneof).
   */
  int(field: number, value: number | string | undefined, always = false): void {
    if (value === undefined) return;
    if (typeof value === 'number' && value >= 0 && Number.isSafeInteger(value)) {
      if (value === 0 && !always) return;
      this.tag(field, WIRE_VARINT);
      this.varint(value);
      return;
    }
    let rest = BigInt.asUintN(64, BigInt(value));
    if (rest === 0n && !always) return;
    this.tag(field, WIRE_VARINT);
    this.ensure(10);
    while (rest >= 0x80n) {
      this.buf[this.pos++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.buf[this.pos++] = Number(rest);
  }

  bool(field: number, value: boolean | undefined): void {
    if (value) this.int(field, 1);
  }

  /** A nested message, always written (presence matters for message fields). */
  message(field: number, write: (writer: ProtoWriter) => void): void {
    this.tag(field, WIRE_LEN);
    this.ensure(LENGTH_ROOM);
    const lengthAt = this.pos;
    this.pos += LENGTH_ROOM;
    write(this);
    const length = this.pos - lengthAt - LENGTH_ROOM;
    const end = this.pos;
    this.pos = lengthAt;
    this.varint(length);
    const start = lengthAt + LENGTH_ROOM;
    if (this.pos !== start) this.buf.copyWithin(this.pos, start, end);
    this.pos += length;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function encode(write: (writer: ProtoWriter) => void): Buffer {
  const writer = new ProtoWriter();
  write(writer);
  return writer.finish();
}

/** One range read: `key` alone reads that key; with `rangeEnd`, every key in [key, rangeEnd). */
export interface RangeRequestFields {
  key: Bytes;
  rangeEnd?: Bytes;
  limit?: number;
  revision?: number;
  /** Leave the values out of the answer. */
  keysOnly?: boolean;
  /** Only count the keys: the answer has `count` and no keys. */
  countOnly?: boolean;
}

export interface PutRequestFields {
  key: Bytes;
  value: Bytes;
  /** A decimal lease id; absent or '0' for none. */
  lease?: string;
  prevKv?: boolean;
}

export interface DeleteRangeRequestFields {
  key: Bytes;
  rangeEnd?: Bytes;
  prevKv?: boolean;
}

/** etcd's Compare.CompareTarget and Compare.CompareResult, by their enum values. */
export const COMPARE_TARGET = { version: 0, create: 1, mod: 2, value: 3, lease: 4 } as const;
export const COMPARE_RESULT = { equal: 0, greater: 1, less: 2, notEqual: 3 } as const;

export interface CompareFields {
  key: Bytes;
  target: keyof typeof COMPARE_TARGET;
  result: keyof typeof COMPARE_RESULT;
  /** A number (or decimal lease id) for every target but `value`, whose bytes it is. */
  value: number | string;
  rangeEnd?: Bytes;
}

export type RequestOpFields =
  | { range: RangeRequestFields }
  | { put: PutRequestFields }
  | { deleteRange: DeleteRangeRequestFields };

export interface TxnRequestFields {
  compare?: readonly CompareFields[];
  success?: readonly RequestOpFields[];
  failure?: readonly RequestOpFields[];
}

function writeRange(w: ProtoWriter, request: RangeRequestFields): void {
  w.bytes(1, request.key);
  w.bytes(2, request.rangeEnd);
  w.int(3, request.limit);
  w.int(4, request.revision);
  w.bool(8, request.keysOnly);
  w.bool(9, request.countOnly);
}

function writePut(w: ProtoWriter, request: PutRequestFields): void {
  w.bytes(1, request.key);
  w.bytes(2, request.value);
  w.int(3, request.lease);
  w.bool(4, request.prevKv);
}

function writeDeleteRange(w: ProtoWriter, request: DeleteRangeRequestFields): void {
  w.bytes(1, request.key);
  w.bytes(2, request.rangeEnd);
  w.bool(3, request.prevKv);
}

/** The oneof field of each compare target's value. */
const COMPARE_FIELD = { version: 4, create: 5, mod: 6, value: 7, lease: 8 } as const;

function writeCompare(w: ProtoWriter, compare: CompareFields): void {
  w.int(1, COMPARE_RESULT[compare.result]);
  w.int(2, COMPARE_TARGET[compare.target]);
  w.bytes(3, compare.key);
  // A oneof member is written even at its default: it says which member is set.
  const field = COMPARE_FIELD[compare.target];
  if (compare.target === 'value') w.bytes(field, String(compare.value), true);
  else w.int(field, compare.value, true);
  w.bytes(64, compare.rangeEnd);
}

function writeRequestOp(w: ProtoWriter, op: RequestOpFields): void {
  if ('range' in op) w.message(1, (m) => writeRange(m, op.range));
  else if ('put' in op) w.message(2, (m) => writePut(m, op.put));
  else w.message(3, (m) => writeDeleteRange(m, op.deleteRange));
}

/** Encode an `etcdserverpb.RangeRequest`. */
export function encodeRangeRequest(request: RangeRequestFields): Buffer {
  return encode((w) => writeRange(w, request));
}

export function encodePutRequest(request: PutRequestFields): Buffer {
  return encode((w) => writePut(w, request));
}

export function encodeDeleteRangeRequest(request: DeleteRangeRequestFields): Buffer {
  return encode((w) => writeDeleteRange(w, request));
}

/**
 * Encode an `etcdserverpb.TxnRequest`. With no compares etcd always runs the success branch,
 * all of it at one revision: a snapshot is one of range ops; a put followed by range ops reads
 * what the put wrote.
 */
export function encodeTxnRequest(request: TxnRequestFields): Buffer {
  return encode((w) => {
    for (const compare of request.compare ?? []) w.message(1, (m) => writeCompare(m, compare));
    for (const op of request.success ?? []) w.message(2, (m) => writeRequestOp(m, op));
    for (const op of request.failure ?? []) w.message(3, (m) => writeRequestOp(m, op));
  });
}

export interface WatchCreateFields {
  key: Bytes;
  rangeEnd?: Bytes;
  startRevision?: number;
  prevKv?: boolean;
}

/** A `WatchRequest` holding a `create_request`. */
export function encodeWatchCreate(request: WatchCreateFields): Buffer {
  return encode((w) =>
    w.message(1, (m) => {
      m.bytes(1, request.key);
      m.bytes(2, request.rangeEnd);
      m.int(3, request.startRevision);
      m.bool(6, request.prevKv);
    }),
  );
}

/** A `WatchRequest` holding a `cancel_request`. */
export function encodeWatchCancel(watchId: number): Buffer {
  return encode((w) => w.message(2, (m) => m.int(1, watchId)));
}

export function encodeLeaseGrantRequest(ttlSeconds: number, id: string | number = 0): Buffer {
  return encode((w) => {
    w.int(1, ttlSeconds);
    w.int(2, id);
  });
}

/** A `LeaseRevokeRequest` or a `LeaseKeepAliveRequest`: both are `ID = 1` alone. */
export function encodeLeaseIdRequest(id: string): Buffer {
  return encode((w) => w.int(1, id));
}

/*
 * Decoding. A read-only CLI decodes one answer per process, so this code runs cold, in V8's
 * interpreter: positions live in local variables, one-byte tags and the lengths of key-value
 * entries are read inline, and a nested message is decoded by a function given its bounds, so
 * nothing allocates but the results.
 */

function truncated(): ProtoDecodeError {
  return new ProtoDecodeError('message is truncated');
}

/** Where the last `varintAt` stopped: its second result, without allocating a pair. */
let varintEnd = 0;

/** The position after the varint at `pos`, checked to end within 10 bytes and `end`. */
function varintStop(buf: Buffer, pos: number, end: number): number {
  for (let count = 0; count < 10; count += 1) {
    if (pos >= end) throw truncated();
    if (buf[pos++]! < 0x80) return pos;
  }
  throw new ProtoDecodeError('varint is longer than 10 bytes');
}

/**
 * The varint at `pos` as a Number; a value beyond 2^53 (no revision, version, count or length
 * is) is refused rather than rounded.
 */
function varintAt(buf: Buffer, pos: number, end: number): number {
  let value = 0;
  let scale = 1;
  for (let count = 0; count < 8; count += 1) {
    if (pos >= end) throw truncated();
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      // Seven bytes hold 49 bits; the eighth may go past 2^53.
      if (count === 7 && value > Number.MAX_SAFE_INTEGER) throw beyondSafe();
      varintEnd = pos;
      return value;
    }
    scale *= 0x80;
  }
  // Eight bytes hold 56 bits: more is a negative int64 or beyond 2^53.
  varintStop(buf, pos, end);
  throw beyondSafe();
}

function beyondSafe(): ProtoDecodeError {
  return new ProtoDecodeError('integer beyond 2^53');
}

/** The int64 at `pos` as a Number: `varintAt`, and negative values (a TTL of -1) too. */
function int64NumberAt(buf: Buffer, pos: number, end: number): number {
  const stop = varintStop(buf, pos, end);
  if (stop - pos <= 7) return varintAt(buf, pos, end);
  let value = 0n;
  for (let i = stop - 1; i >= pos; i -= 1) value = (value << 7n) | BigInt(buf[i]! & 0x7f);
  const signed = BigInt.asIntN(64, value);
  varintEnd = stop;
  if (signed > BigInt(Number.MAX_SAFE_INTEGER) || signed < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw beyondSafe();
  }
  return Number(signed);
}

/**
 * The int64 varint at `pos` as an exact decimal string. Lease ids are random 63-bit numbers,
 * beyond Number's exact range, and a `pools` answer holds a thousand of them: they are split
 * into 24-bit limbs and joined as decimal digits with Number arithmetic (as protobuf's own
 * JavaScript runtime does), since BigInt allocates at every step and cold code pays for it.
 * Only a negative id, which etcd never issues, takes BigInt.
 */
function int64StringAt(buf: Buffer, pos: number, end: number): string {
  const stop = varintStop(buf, pos, end);
  if (stop - pos <= 7) return String(varintAt(buf, pos, end));
  varintEnd = stop;
  // The low 32 bits and the high 32 bits of the two's-complement value.
  let low = 0;
  let high = 0;
  for (let i = pos, shift = 0; i < stop; i += 1, shift += 7) {
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
    for (let i = stop - 1; i >= pos; i -= 1) value = (value << 7n) | BigInt(buf[i]! & 0x7f);
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

/** A bool: any non-zero varint. */
function boolAt(buf: Buffer, pos: number, end: number): boolean {
  const stop = varintStop(buf, pos, end);
  let set = false;
  for (let i = pos; i < stop; i += 1) if ((buf[i]! & 0x7f) !== 0) set = true;
  varintEnd = stop;
  return set;
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
      return varintStop(buf, pos, end);
    case WIRE_FIXED64:
      next = pos + 8;
      break;
    case WIRE_LEN:
      return contentEnd(buf, pos, end);
    case WIRE_FIXED32:
      next = pos + 4;
      break;
    default:
      throw new ProtoDecodeError(`wire type ${wireType} is not supported`);
  }
  if (next > end) throw truncated();
  return next;
}

/** The tag at `pos` (`varintEnd` after it); field 0 does not exist. */
function tagAt(buf: Buffer, pos: number, end: number): number {
  const tag = varintAt(buf, pos, end);
  if (tag < 8) throw new ProtoDecodeError('field number 0');
  return tag;
}

/** One more entry of a repeated field, which already has `count`. */
function checkEntries(count: number): void {
  if (count >= DECODE_LIMITS.maxEntries) {
    throw new ProtoDecodeError(`more than ${DECODE_LIMITS.maxEntries} entries`);
  }
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

/** The key (UTF-8, at most `maxKeyBytes`) whose length is at `pos`; `varintEnd` after it. */
function keyAtLength(buf: Buffer, pos: number, end: number): string {
  const stop = contentEnd(buf, pos, end);
  const start = varintEnd;
  if (stop - start > DECODE_LIMITS.maxKeyBytes) {
    throw new ProtoDecodeError(`a key of ${stop - start} bytes`);
  }
  varintEnd = stop;
  return utf8Slice.call(buf, start, stop);
}

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
    if (tag < 0x80 && tag >= 8) pos += 1;
    else {
      tag = tagAt(buf, pos, end);
      pos = varintEnd;
    }
    switch (tag) {
      case 0x0a: // key = 1
        key = keyAtLength(buf, pos, end);
        pos = varintEnd;
        break;
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
    if (tag < 0x80 && tag >= 8) pos += 1;
    else {
      tag = tagAt(buf, pos, end);
      pos = varintEnd;
    }
    if (tag === 0x0a) {
      // key = 1
      key = keyAtLength(buf, pos, end);
      pos = varintEnd;
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
    const tag = tagAt(buf, pos, end);
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

/** The revision of the header (field 1) whose length is at `pos`; `varintEnd` after it. */
function headerFieldAt(buf: Buffer, pos: number, end: number): number {
  const stop = contentEnd(buf, pos, end);
  const revision = headerRevisionAt(buf, varintEnd, stop);
  varintEnd = stop;
  return revision;
}

/** The bounds of the key-value whose length is at `pos`, into `entryStart` and `varintEnd`. */
let entryStart = 0;
function entryAt(buf: Buffer, pos: number, end: number): void {
  // One- and two-byte lengths are inline: keys alone, or values up to 16 KiB.
  let stop: number;
  const first = buf[pos]!;
  if (pos < end && first < 0x80) {
    entryStart = pos + 1;
    stop = entryStart + first;
  } else if (pos + 1 < end && buf[pos + 1]! < 0x80) {
    entryStart = pos + 2;
    stop = entryStart + (first & 0x7f) + buf[pos + 1]! * 0x80;
  } else {
    stop = contentEnd(buf, pos, end);
    entryStart = varintEnd;
  }
  if (stop > end) throw truncated();
  varintEnd = stop;
}

/** A decoded RangeResponse. */
export interface DecodedRange {
  /** The store revision the range was read at. */
  revision: number;
  kvs: KeyValue[];
  /** The keys alone, instead of `kvs`, when the range was decoded as keys only. */
  keys: string[];
  /** True if etcd left keys out (only with a limit). */
  more: boolean;
  /** The number of keys in the range. */
  count: number;
}

/**
 * Decode an `etcdserverpb.RangeResponse` occupying [pos, end); with `keysOnly`, only the key
 * of each key-value, into `keys`.
 */
function rangeResponseAt(buf: Buffer, pos: number, end: number, keysOnly: boolean): DecodedRange {
  const result: DecodedRange = { revision: 0, kvs: [], keys: [], more: false, count: 0 };
  let entries = 0;
  while (pos < end) {
    let tag = buf[pos]!;
    if (tag < 0x80 && tag >= 8) pos += 1;
    else {
      tag = tagAt(buf, pos, end);
      pos = varintEnd;
    }
    switch (tag) {
      case 0x0a: // header = 1
        result.revision = headerFieldAt(buf, pos, end);
        pos = varintEnd;
        break;
      case 0x12: {
        // kvs = 2
        checkEntries(entries++);
        entryAt(buf, pos, end);
        const stop = varintEnd;
        if (keysOnly) result.keys.push(keyAt(buf, entryStart, stop));
        else result.kvs.push(keyValueAt(buf, entryStart, stop));
        pos = stop;
        break;
      }
      case 0x18: // more = 3
        result.more = boolAt(buf, pos, end);
        pos = varintEnd;
        break;
      case 0x20: // count = 4
        result.count = int64NumberAt(buf, pos, end);
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

export interface DecodedPut {
  revision: number;
  prevKv?: KeyValue;
}

export interface DecodedDeleteRange {
  revision: number;
  deleted: number;
  prevKvs: KeyValue[];
}

/** A decoded `PutResponse` occupying [pos, end). */
function putResponseAt(buf: Buffer, pos: number, end: number): DecodedPut {
  const result: DecodedPut = { revision: 0 };
  while (pos < end) {
    const tag = tagAt(buf, pos, end);
    pos = varintEnd;
    if (tag === 0x0a) {
      result.revision = headerFieldAt(buf, pos, end);
      pos = varintEnd;
    } else if (tag === 0x12) {
      const stop = contentEnd(buf, pos, end);
      result.prevKv = keyValueAt(buf, varintEnd, stop);
      pos = stop;
    } else pos = skipField(buf, tag & 7, pos, end);
  }
  return result;
}

/** A decoded `DeleteRangeResponse` occupying [pos, end). */
function deleteRangeResponseAt(buf: Buffer, pos: number, end: number): DecodedDeleteRange {
  const result: DecodedDeleteRange = { revision: 0, deleted: 0, prevKvs: [] };
  while (pos < end) {
    const tag = tagAt(buf, pos, end);
    pos = varintEnd;
    if (tag === 0x0a) {
      result.revision = headerFieldAt(buf, pos, end);
      pos = varintEnd;
    } else if (tag === 0x10) {
      result.deleted = int64NumberAt(buf, pos, end);
      pos = varintEnd;
    } else if (tag === 0x1a) {
      checkEntries(result.prevKvs.length);
      const stop = contentEnd(buf, pos, end);
      result.prevKvs.push(keyValueAt(buf, varintEnd, stop));
      pos = stop;
    } else pos = skipField(buf, tag & 7, pos, end);
  }
  return result;
}

export type DecodedResponseOp =
  | { range: DecodedRange }
  | { put: DecodedPut }
  | { deleteRange: DecodedDeleteRange }
  | { txn: DecodedTxn };

/** A decoded TxnResponse. */
export interface DecodedTxn {
  /** The store revision after the transaction: every range of it was read there. */
  revision: number;
  succeeded: boolean;
  /** One per request operation of the branch that ran, in request order. */
  responses: DecodedResponseOp[];
}

/** A decoded `ResponseOp` occupying [pos, end); range op `index` is keys only if asked. */
function responseOpAt(
  buf: Buffer,
  pos: number,
  end: number,
  keysOnly: boolean,
  depth: number,
): DecodedResponseOp {
  let op: DecodedResponseOp | undefined;
  while (pos < end) {
    const tag = tagAt(buf, pos, end);
    pos = varintEnd;
    if (tag === 0x0a || tag === 0x12 || tag === 0x1a || tag === 0x22) {
      // A oneof: the last member wins, as in every protobuf runtime.
      const stop = contentEnd(buf, pos, end);
      const start = varintEnd;
      if (tag === 0x0a) op = { range: rangeResponseAt(buf, start, stop, keysOnly) };
      else if (tag === 0x12) op = { put: putResponseAt(buf, start, stop) };
      else if (tag === 0x1a) op = { deleteRange: deleteRangeResponseAt(buf, start, stop) };
      else op = { txn: txnResponseAt(buf, start, stop, [], depth + 1) };
      pos = stop;
    } else pos = skipField(buf, tag & 7, pos, end);
  }
  if (op === undefined) throw new ProtoDecodeError('a ResponseOp holds no response');
  return op;
}

/** Which range responses of a transaction are keys only: by position, or by branch. */
export type KeysOnly = readonly boolean[] | ((succeeded: boolean) => readonly boolean[]);

function txnResponseAt(
  buf: Buffer,
  pos: number,
  end: number,
  keysOnly: KeysOnly,
  depth: number,
): DecodedTxn {
  if (depth > DECODE_LIMITS.maxTxnDepth) {
    throw new ProtoDecodeError(`transactions nested more than ${DECODE_LIMITS.maxTxnDepth} deep`);
  }
  const result: DecodedTxn = { revision: 0, succeeded: false, responses: [] };
  // The responses are decoded once the whole message is read: which of them are keys only may
  // depend on `succeeded`, and protobuf fields may come in any order.
  const spans: [number, number][] = [];
  while (pos < end) {
    const tag = tagAt(buf, pos, end);
    pos = varintEnd;
    switch (tag) {
      case 0x0a: // header = 1
        result.revision = headerFieldAt(buf, pos, end);
        pos = varintEnd;
        break;
      case 0x10: // succeeded = 2
        result.succeeded = boolAt(buf, pos, end);
        pos = varintEnd;
        break;
      case 0x1a: {
        // responses = 3
        checkEntries(spans.length);
        const stop = contentEnd(buf, pos, end);
        spans.push([varintEnd, stop]);
        pos = stop;
        break;
      }
      default:
        pos = skipField(buf, tag & 7, pos, end);
    }
  }
  const keys = typeof keysOnly === 'function' ? keysOnly(result.succeeded) : keysOnly;
  spans.forEach(([start, stop], index) => {
    result.responses.push(responseOpAt(buf, start, stop, keys[index] === true, depth));
  });
  return result;
}

/**
 * Decode an `etcdserverpb.TxnResponse`. Response op `i`, if a range, is decoded as keys only
 * if `keysOnly[i]` is true (`keysOnly(succeeded)[i]` for a function: the branches differ).
 */
export function decodeTxnResponse(message: Buffer, keysOnly: KeysOnly = []): DecodedTxn {
  return txnResponseAt(message, 0, message.length, keysOnly, 0);
}

/**
 * The range responses of a transaction whose ops were all range reads. Positions matter (answer
 * i is range i): an op of another kind is refused, not dropped.
 */
export function rangesOf(txn: DecodedTxn): DecodedRange[] {
  return txn.responses.map((op) => {
    if (!('range' in op)) throw new ProtoDecodeError('TxnResponse holds an op that is not a range');
    return op.range;
  });
}

export interface DecodedEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
  prevKv?: KeyValue;
}

export interface DecodedWatchResponse {
  revision: number;
  watchId: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  fragment: boolean;
  events: DecodedEvent[];
}

/** A decoded `mvccpb.Event` occupying [pos, end). */
function eventAt(buf: Buffer, pos: number, end: number): DecodedEvent {
  let type = 0;
  let kv: KeyValue | undefined;
  let prevKv: KeyValue | undefined;
  while (pos < end) {
    const tag = tagAt(buf, pos, end);
    pos = varintEnd;
    if (tag === 0x08) {
      type = varintAt(buf, pos, end);
      pos = varintEnd;
    } else if (tag === 0x12 || tag === 0x1a) {
      const stop = contentEnd(buf, pos, end);
      const decoded = keyValueAt(buf, varintEnd, stop);
      if (tag === 0x12) kv = decoded;
      else prevKv = decoded;
      pos = stop;
    } else pos = skipField(buf, tag & 7, pos, end);
  }
  if (type > 1) throw new ProtoDecodeError(`event type ${type}`);
  const event: DecodedEvent = {
    type: type === 0 ? 'put' : 'delete',
    kv: kv ?? { key: '', value: '', createRevision: 0, modRevision: 0, version: 0 },
  };
  if (prevKv) event.prevKv = prevKv;
  return event;
}

export function decodeWatchResponse(message: Buffer): DecodedWatchResponse {
  const buf = message;
  const end = buf.length;
  const result: DecodedWatchResponse = {
    revision: 0,
    watchId: 0,
    created: false,
    canceled: false,
    compactRevision: 0,
    cancelReason: '',
    fragment: false,
    events: [],
  };
  let pos = 0;
  while (pos < end) {
    const tag = tagAt(buf, pos, end);
    pos = varintEnd;
    switch (tag) {
      case 0x0a:
        result.revision = headerFieldAt(buf, pos, end);
        pos = varintEnd;
        break;
      case 0x10:
        result.watchId = int64NumberAt(buf, pos, end);
        pos = varintEnd;
        break;
      case 0x18:
        result.created = boolAt(buf, pos, end);
        pos = varintEnd;
        break;
      case 0x20:
        result.canceled = boolAt(buf, pos, end);
        pos = varintEnd;
        break;
      case 0x28:
        result.compactRevision = int64NumberAt(buf, pos, end);
        pos = varintEnd;
        break;
      case 0x32: {
        const stop = contentEnd(buf, pos, end);
        result.cancelReason = utf8Slice.call(buf, varintEnd, stop);
        pos = stop;
        break;
      }
      case 0x38:
        result.fragment = boolAt(buf, pos, end);
        pos = varintEnd;
        break;
      case 0x5a: {
        // events = 11
        checkEntries(result.events.length);
        const stop = contentEnd(buf, pos, end);
        result.events.push(eventAt(buf, varintEnd, stop));
        pos = stop;
        break;
      }
      default:
        pos = skipField(buf, tag & 7, pos, end);
    }
  }
  return result;
}

/** A decoded `LeaseGrantResponse` or `LeaseKeepAliveResponse` (the latter has no `error`). */
export interface DecodedLease {
  revision: number;
  /** The lease id, as a decimal string. */
  id: string;
  ttl: number;
  error: string;
}

/** Decode a `LeaseGrantResponse`, `LeaseKeepAliveResponse` or `LeaseRevokeResponse`. */
export function decodeLeaseResponse(message: Buffer): DecodedLease {
  const buf = message;
  const end = buf.length;
  const result: DecodedLease = { revision: 0, id: '0', ttl: 0, error: '' };
  let pos = 0;
  while (pos < end) {
    const tag = tagAt(buf, pos, end);
    pos = varintEnd;
    if (tag === 0x0a) {
      result.revision = headerFieldAt(buf, pos, end);
      pos = varintEnd;
    } else if (tag === 0x10) {
      result.id = int64StringAt(buf, pos, end);
      pos = varintEnd;
    } else if (tag === 0x18) {
      result.ttl = int64NumberAt(buf, pos, end);
      pos = varintEnd;
    } else if (tag === 0x22) {
      const stop = contentEnd(buf, pos, end);
      result.error = utf8Slice.call(buf, varintEnd, stop);
      pos = stop;
    } else pos = skipField(buf, tag & 7, pos, end);
  }
  return result;
}

/** Decode a `PutResponse`. */
export function decodePutResponse(message: Buffer): DecodedPut {
  return putResponseAt(message, 0, message.length);
}

/** Decode a `DeleteRangeResponse`. */
export function decodeDeleteRangeResponse(message: Buffer): DecodedDeleteRange {
  return deleteRangeResponseAt(message, 0, message.length);
}
