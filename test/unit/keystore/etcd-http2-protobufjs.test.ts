/**
 * The CLI's etcd protobuf codec against an independent one: protobufjs with etcd's own .proto
 * files (those etcd3 ships). Random requests encoded by ours decode in protobufjs to what was
 * asked; random answers encoded by protobufjs decode in ours to what was sent. And every
 * decoder, fed arbitrary or mutated bytes, returns or throws ProtoDecodeError, nothing else.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { loadSync, type Type } from 'protobufjs';
import {
  ProtoDecodeError,
  decodeDeleteRangeResponse,
  decodeLeaseResponse,
  decodePutResponse,
  decodeRangeResponse,
  decodeTxnResponse,
  decodeWatchResponse,
  encodeDeleteRangeRequest,
  encodeLeaseGrantRequest,
  encodeLeaseIdRequest,
  encodePutRequest,
  encodeRangeRequest,
  encodeTxnRequest,
  encodeWatchCancel,
  encodeWatchCreate,
  type CompareFields,
  type DeleteRangeRequestFields,
  type PutRequestFields,
  type RangeRequestFields,
  type RequestOpFields,
} from '../../../src/keystore/etcd-http2/protobuf';
import type { KeyValue } from '../../../src/keystore/keystore';

const root = loadSync(
  join(__dirname, '..', '..', '..', 'node_modules', 'etcd3', 'proto', 'rpc.proto'),
);
const type = (name: string): Type => root.lookupType(name);

/** What protobufjs decodes `bytes` to: present fields only, int64 as strings, bytes as base64. */
function decoded(name: string, bytes: Buffer): unknown {
  const message = type(name);
  return JSON.parse(
    JSON.stringify(
      message.toObject(message.decode(bytes), { longs: String, bytes: String, enums: String }),
    ),
  );
}

function encoded(name: string, object: Record<string, unknown>): Buffer {
  const message = type(name);
  return Buffer.from(message.encode(message.fromObject(object)).finish());
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
/** Only the fields that are set: proto3 leaves defaults out of the wire. */
const present = (object: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(object).filter(
      ([, value]) =>
        value !== undefined && value !== '' && value !== false && value !== '0' && value !== 0,
    ),
  );

const text = fc.string({ unit: 'binary', maxLength: 12 });
const key = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
const revision = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const leaseId = fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String);
const flag = fc.boolean();

const rangeRequest: fc.Arbitrary<RangeRequestFields> = fc.record(
  { key, rangeEnd: text, limit: revision, revision, keysOnly: flag, countOnly: flag },
  { requiredKeys: ['key'] },
);
const putRequest: fc.Arbitrary<PutRequestFields> = fc.record(
  { key, value: text, lease: leaseId, prevKv: flag },
  { requiredKeys: ['key', 'value'] },
);
const deleteRequest: fc.Arbitrary<DeleteRangeRequestFields> = fc.record(
  { key, rangeEnd: text, prevKv: flag },
  { requiredKeys: ['key'] },
);
const compare: fc.Arbitrary<CompareFields> = fc.oneof(
  fc.record({
    key,
    target: fc.constantFrom('version', 'create', 'mod' as const),
    result: fc.constantFrom('equal', 'greater', 'less', 'notEqual' as const),
    value: revision,
  }),
  fc.record({
    key,
    target: fc.constant('lease' as const),
    result: fc.constant('equal' as const),
    value: leaseId,
  }),
  fc.record({
    key,
    target: fc.constant('value' as const),
    result: fc.constantFrom('equal', 'notEqual' as const),
    value: text,
    rangeEnd: text,
  }),
);
const requestOp: fc.Arbitrary<RequestOpFields> = fc.oneof(
  rangeRequest.map((range) => ({ range })),
  putRequest.map((put) => ({ put })),
  deleteRequest.map((deleteRange) => ({ deleteRange })),
);

/** What protobufjs shows of each request, by our names. */
const rangeObject = (r: RangeRequestFields) =>
  present({
    key: b64(String(r.key)),
    rangeEnd: b64(String(r.rangeEnd ?? '')),
    limit: String(r.limit ?? 0),
    revision: String(r.revision ?? 0),
    keysOnly: r.keysOnly,
    countOnly: r.countOnly,
  });
const putObject = (r: PutRequestFields) =>
  present({
    key: b64(String(r.key)),
    value: b64(String(r.value)),
    lease: r.lease,
    prevKv: r.prevKv,
  });
const deleteObject = (r: DeleteRangeRequestFields) =>
  present({ key: b64(String(r.key)), rangeEnd: b64(String(r.rangeEnd ?? '')), prevKv: r.prevKv });
const ENUM_TARGET = {
  version: 'Version',
  create: 'Create',
  mod: 'Mod',
  value: 'Value',
  lease: 'Lease',
};
const ENUM_RESULT = { equal: 'Equal', greater: 'Greater', less: 'Less', notEqual: 'NotEqual' };
const UNION_FIELD = {
  version: 'version',
  create: 'createRevision',
  mod: 'modRevision',
  value: 'value',
  lease: 'lease',
};
const compareObject = (c: CompareFields) => ({
  ...present({
    result: c.result === 'equal' ? undefined : ENUM_RESULT[c.result],
    target: c.target === 'version' ? undefined : ENUM_TARGET[c.target],
    key: b64(String(c.key)),
    rangeEnd: b64(String(c.rangeEnd ?? '')),
  }),
  // The oneof member is on the wire even at its default: it says which target is compared.
  [UNION_FIELD[c.target]]: c.target === 'value' ? b64(String(c.value)) : String(c.value),
});
const opObject = (op: RequestOpFields) =>
  'range' in op
    ? { requestRange: rangeObject(op.range) }
    : 'put' in op
      ? { requestPut: putObject(op.put) }
      : { requestDeleteRange: deleteObject(op.deleteRange) };

describe('requests encoded by our codec, decoded by protobufjs', () => {
  it('RangeRequest, PutRequest and DeleteRangeRequest', () => {
    fc.assert(
      fc.property(rangeRequest, putRequest, deleteRequest, (range, put, del) => {
        expect(decoded('etcdserverpb.RangeRequest', encodeRangeRequest(range))).toEqual(
          rangeObject(range),
        );
        expect(decoded('etcdserverpb.PutRequest', encodePutRequest(put))).toEqual(putObject(put));
        expect(decoded('etcdserverpb.DeleteRangeRequest', encodeDeleteRangeRequest(del))).toEqual(
          deleteObject(del),
        );
      }),
    );
  });

  it('TxnRequest with compares of every target and result, and ops of every kind', () => {
    const branch = fc.array(requestOp, { maxLength: 5 });
    fc.assert(
      fc.property(
        fc.array(compare, { maxLength: 5 }),
        branch,
        branch,
        (compares, success, failure) => {
          const bytes = encodeTxnRequest({ compare: compares, success, failure });
          expect(decoded('etcdserverpb.TxnRequest', bytes)).toEqual(
            present({
              compare: compares.length > 0 ? compares.map(compareObject) : undefined,
              success: success.length > 0 ? success.map(opObject) : undefined,
              failure: failure.length > 0 ? failure.map(opObject) : undefined,
            }),
          );
        },
      ),
    );
  });

  it('WatchRequest (create and cancel) and the lease requests', () => {
    fc.assert(
      fc.property(
        key,
        text,
        revision,
        flag,
        revision,
        fc.integer({ min: 1, max: 1e9 }),
        leaseId,
        (k, end, start, prevKv, watchId, ttl, id) => {
          expect(
            decoded(
              'etcdserverpb.WatchRequest',
              encodeWatchCreate({ key: k, rangeEnd: end, startRevision: start, prevKv }),
            ),
          ).toEqual({
            createRequest: present({
              key: b64(k),
              rangeEnd: b64(end),
              startRevision: String(start),
              prevKv,
            }),
          });
          expect(decoded('etcdserverpb.WatchRequest', encodeWatchCancel(watchId))).toEqual({
            cancelRequest: present({ watchId: String(watchId) }),
          });
          expect(
            decoded('etcdserverpb.LeaseGrantRequest', encodeLeaseGrantRequest(ttl, id)),
          ).toEqual(present({ TTL: String(ttl), ID: id }));
          expect(decoded('etcdserverpb.LeaseKeepAliveRequest', encodeLeaseIdRequest(id))).toEqual(
            present({ ID: id }),
          );
        },
      ),
    );
  });
});

/** A random KeyValue, as protobufjs takes it and as our decoder gives it. */
const keyValue = fc
  .record({
    key: text,
    value: text,
    createRevision: revision,
    modRevision: revision,
    version: revision,
    lease: leaseId,
  })
  .map((kv) => ({
    wire: { ...kv, key: Buffer.from(kv.key), value: Buffer.from(kv.value) },
    ours: {
      key: kv.key,
      value: kv.value,
      createRevision: kv.createRevision,
      modRevision: kv.modRevision,
      version: kv.version,
      ...(kv.lease !== '0' ? { lease: kv.lease } : {}),
    } as KeyValue,
  }));
/** A ResponseHeader with 64-bit ids, which our decoder skips. */
const header = fc
  .record({ clusterId: leaseId, memberId: leaseId, revision, raftTerm: revision })
  .map((h) => ({ wire: h, revision: h.revision }));

const rangeResponse = fc
  .record({ header, kvs: fc.array(keyValue, { maxLength: 4 }), more: flag, count: revision })
  .map((r) => ({
    wire: { header: r.header.wire, kvs: r.kvs.map((kv) => kv.wire), more: r.more, count: r.count },
    ours: {
      revision: r.header.revision,
      kvs: r.kvs.map((kv) => kv.ours),
      keys: [],
      more: r.more,
      count: r.count,
    },
  }));
const putResponse = fc
  .record({ header, prevKv: fc.option(keyValue, { nil: undefined }) })
  .map((r) => ({
    wire: { header: r.header.wire, ...(r.prevKv ? { prevKv: r.prevKv.wire } : {}) },
    ours: { revision: r.header.revision, ...(r.prevKv ? { prevKv: r.prevKv.ours } : {}) },
  }));
const deleteResponse = fc
  .record({ header, deleted: revision, prevKvs: fc.array(keyValue, { maxLength: 3 }) })
  .map((r) => ({
    wire: { header: r.header.wire, deleted: r.deleted, prevKvs: r.prevKvs.map((kv) => kv.wire) },
    ours: {
      revision: r.header.revision,
      deleted: r.deleted,
      prevKvs: r.prevKvs.map((kv) => kv.ours),
    },
  }));
const responseOp = fc.oneof(
  rangeResponse.map((r) => ({ wire: { responseRange: r.wire }, ours: { range: r.ours } })),
  putResponse.map((r) => ({ wire: { responsePut: r.wire }, ours: { put: r.ours } })),
  deleteResponse.map((r) => ({
    wire: { responseDeleteRange: r.wire },
    ours: { deleteRange: r.ours },
  })),
);
const txnResponse = fc
  .record({ header, succeeded: flag, responses: fc.array(responseOp, { maxLength: 5 }) })
  .map((r) => ({
    wire: {
      header: r.header.wire,
      succeeded: r.succeeded,
      responses: r.responses.map((op) => op.wire),
    },
    ours: {
      revision: r.header.revision,
      succeeded: r.succeeded,
      responses: r.responses.map((op) => op.ours),
    },
  }));
const watchResponse = fc
  .record({
    header,
    watchId: revision,
    created: flag,
    canceled: flag,
    compactRevision: revision,
    cancelReason: text,
    events: fc.array(
      fc.record({
        type: fc.constantFrom(0, 1),
        kv: keyValue,
        prevKv: fc.option(keyValue, { nil: undefined }),
      }),
      { maxLength: 4 },
    ),
  })
  .map((r) => ({
    wire: {
      ...r,
      header: r.header.wire,
      events: r.events.map((e) => ({
        type: e.type,
        kv: e.kv.wire,
        ...(e.prevKv ? { prevKv: e.prevKv.wire } : {}),
      })),
    },
    ours: {
      revision: r.header.revision,
      watchId: r.watchId,
      created: r.created,
      canceled: r.canceled,
      compactRevision: r.compactRevision,
      cancelReason: r.cancelReason,
      fragment: false,
      events: r.events.map((e) => ({
        type: e.type === 0 ? 'put' : 'delete',
        kv: e.kv.ours,
        ...(e.prevKv ? { prevKv: e.prevKv.ours } : {}),
      })),
    },
  }));
const leaseResponse = fc
  .record({ header, ID: leaseId, TTL: fc.integer({ min: -1, max: 1e9 }), error: text })
  .map((r) => ({
    wire: { ...r, header: r.header.wire },
    ours: { revision: r.header.revision, id: r.ID, ttl: r.TTL, error: r.error },
  }));

describe('answers encoded by protobufjs, decoded by our codec', () => {
  it('RangeResponse, as key-values and as keys alone', () => {
    fc.assert(
      fc.property(rangeResponse, (r) => {
        const bytes = encoded('etcdserverpb.RangeResponse', r.wire);
        expect(decodeRangeResponse(bytes)).toEqual(r.ours);
        const keysOnly = decodeTxnResponse(
          encoded('etcdserverpb.TxnResponse', { responses: [{ responseRange: r.wire }] }),
          [true],
        ).responses[0];
        expect(keysOnly).toEqual({
          range: { ...r.ours, kvs: [], keys: r.ours.kvs.map((kv) => kv.key) },
        });
      }),
    );
  });

  it('PutResponse, DeleteRangeResponse and TxnResponse with every kind of op', () => {
    fc.assert(
      fc.property(putResponse, deleteResponse, txnResponse, (put, del, txn) => {
        expect(decodePutResponse(encoded('etcdserverpb.PutResponse', put.wire))).toEqual(put.ours);
        expect(
          decodeDeleteRangeResponse(encoded('etcdserverpb.DeleteRangeResponse', del.wire)),
        ).toEqual(del.ours);
        expect(decodeTxnResponse(encoded('etcdserverpb.TxnResponse', txn.wire))).toEqual(txn.ours);
      }),
    );
  });

  it('a TxnResponse nested in a TxnResponse', () => {
    fc.assert(
      fc.property(txnResponse, header, (inner, outer) => {
        const bytes = encoded('etcdserverpb.TxnResponse', {
          header: outer.wire,
          responses: [{ responseTxn: inner.wire }],
        });
        expect(decodeTxnResponse(bytes)).toEqual({
          revision: outer.revision,
          succeeded: false,
          responses: [{ txn: inner.ours }],
        });
      }),
    );
  });

  it('WatchResponse with events, and the lease answers', () => {
    fc.assert(
      fc.property(watchResponse, leaseResponse, (watch, lease) => {
        expect(decodeWatchResponse(encoded('etcdserverpb.WatchResponse', watch.wire))).toEqual(
          watch.ours,
        );
        expect(decodeLeaseResponse(encoded('etcdserverpb.LeaseGrantResponse', lease.wire))).toEqual(
          lease.ours,
        );
        const { error: _error, ...keepAlive } = lease.wire;
        expect(
          decodeLeaseResponse(encoded('etcdserverpb.LeaseKeepAliveResponse', keepAlive)),
        ).toEqual({
          ...lease.ours,
          error: '',
        });
      }),
    );
  });
});

const DECODERS: [string, (bytes: Buffer) => unknown][] = [
  ['RangeResponse', decodeRangeResponse],
  ['TxnResponse', (bytes) => decodeTxnResponse(bytes)],
  ['TxnResponse keys only', (bytes) => decodeTxnResponse(bytes, [true, true, true])],
  ['PutResponse', decodePutResponse],
  ['DeleteRangeResponse', decodeDeleteRangeResponse],
  ['WatchResponse', decodeWatchResponse],
  ['LeaseGrantResponse', decodeLeaseResponse],
];

/** Decode with `decode`, which may succeed or throw ProtoDecodeError and nothing else. */
function decodesOrRefuses(decode: (bytes: Buffer) => unknown, bytes: Buffer): void {
  try {
    decode(bytes);
  } catch (error) {
    if (!(error instanceof ProtoDecodeError)) throw error;
  }
}

/** Valid answers of every kind, then mutated: bytes changed, cut, inserted. */
const validAnswer = fc.oneof(
  txnResponse.map((r) => encoded('etcdserverpb.TxnResponse', r.wire)),
  rangeResponse.map((r) => encoded('etcdserverpb.RangeResponse', r.wire)),
  watchResponse.map((r) => encoded('etcdserverpb.WatchResponse', r.wire)),
  leaseResponse.map((r) => encoded('etcdserverpb.LeaseGrantResponse', r.wire)),
);
const mutated = fc
  .tuple(
    validAnswer,
    fc.array(
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'insert')),
      {
        minLength: 1,
        maxLength: 4,
      },
    ),
  )
  .map(([bytes, edits]) => {
    let out = Buffer.from(bytes);
    for (const [where, byte, edit] of edits) {
      const at = out.length === 0 ? 0 : where % out.length;
      if (edit === 'set' && out.length > 0) out[at] = byte;
      else if (edit === 'cut') out = out.subarray(0, at);
      else out = Buffer.concat([out.subarray(0, at), Buffer.from([byte]), out.subarray(at)]);
    }
    return out;
  });

describe('decoders fed bad bytes', () => {
  it.each(DECODERS)('%s returns or throws ProtoDecodeError on arbitrary bytes', (_name, decode) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) =>
        decodesOrRefuses(decode, Buffer.from(bytes)),
      ),
      { numRuns: 2000 },
    );
  });

  it.each(DECODERS)('%s returns or throws ProtoDecodeError on mutated answers', (_name, decode) => {
    fc.assert(
      fc.property(mutated, (bytes) => decodesOrRefuses(decode, bytes)),
      { numRuns: 1000 },
    );
  });

  it('refuses what is beyond its limits, with its own error', () => {
    const nested = (depth: number): Record<string, unknown> =>
      depth === 0 ? {} : { responses: [{ responseTxn: nested(depth - 1) }] };
    expect(() => decodeTxnResponse(encoded('etcdserverpb.TxnResponse', nested(8)))).toThrow(
      ProtoDecodeError,
    );
    // A revision beyond 2^53 would be rounded: it is refused instead.
    const big = encoded('etcdserverpb.RangeResponse', { header: { revision: '9007199254740993' } });
    expect(() => decodeRangeResponse(big)).toThrow('protobuf: integer beyond 2^53');
    // A length past the end of the message.
    expect(() => decodeRangeResponse(Buffer.from([0x12, 0x7f, 0x0a]))).toThrow(
      'protobuf: message is truncated',
    );
  });
});
