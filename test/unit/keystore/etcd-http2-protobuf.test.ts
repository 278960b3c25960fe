/**
 * The CLI's etcd protobuf codec, against bytes built here field by field (etcd-http2-protobufjs
 * tests it against protobufjs with etcd's .proto files). (That the field
 * numbers are etcd's is shown by the integration tests, which read a real etcd with it.)
 */
import {
  decodeRangeResponse,
  decodeTxnResponse,
  encodeRangeRequest,
  encodeTxnRequest as encodeTxn,
  rangesOf,
  type DecodedRange,
  type RangeRequestFields,
} from '../../../src/keystore/etcd-http2/protobuf';

/** A transaction of range reads alone, as a snapshot sends. */
const encodeTxnRequest = (ranges: RangeRequestFields[]) =>
  encodeTxn({ success: ranges.map((range) => ({ range })) });

/** A decoded transaction of range reads, with its ranges (refusing any other op). */
function decodeRangesTxn(message: Buffer, keysOnly: boolean[] = []) {
  const txn = decodeTxnResponse(message, keysOnly);
  return { ...txn, ranges: rangesOf(txn) as DecodedRange[] };
}

/** A base-128 varint; bigint so that 64-bit values are exact. */
function varint(value: number | bigint): number[] {
  let rest = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    bytes.push(rest > 0n ? low | 0x80 : low);
  } while (rest > 0n);
  return bytes;
}

const varintField = (field: number, value: number | bigint): number[] => [
  ...varint(field * 8),
  ...varint(value),
];
const lengthField = (field: number, content: number[] | Buffer | string): number[] => {
  const bytes = typeof content === 'string' ? [...Buffer.from(content)] : [...content];
  return [...varint(field * 8 + 2), ...varint(bytes.length), ...bytes];
};
const message = (...fields: number[][]): Buffer => Buffer.from(fields.flat());

/** An mvccpb.KeyValue with the fields given (absent ones are left out, as proto3 does). */
function keyValue(kv: {
  key: string;
  value?: string;
  create?: number;
  mod?: number;
  version?: number;
  lease?: bigint;
}): number[] {
  return [
    ...lengthField(1, kv.key),
    ...(kv.create !== undefined ? varintField(2, kv.create) : []),
    ...(kv.mod !== undefined ? varintField(3, kv.mod) : []),
    ...(kv.version !== undefined ? varintField(4, kv.version) : []),
    ...(kv.value !== undefined ? lengthField(5, kv.value) : []),
    ...(kv.lease !== undefined ? varintField(6, kv.lease) : []),
  ];
}

/** A ResponseHeader as etcd fills it: 64-bit cluster and member ids, revision, raft term. */
const header = (revision: number): number[] =>
  lengthField(1, [
    ...varintField(1, 0xcdef0123456789abn),
    ...varintField(2, 0x8e9e05c52164694dn),
    ...varintField(3, revision),
    ...varintField(4, 2),
  ]);

describe('encodeRangeRequest', () => {
  it('writes key = 1 alone for a single key', () => {
    expect([...encodeRangeRequest({ key: Buffer.from('/a') })]).toEqual([0x0a, 2, 0x2f, 0x61]);
  });

  it('writes range_end = 2 and keys_only = 8 when asked, and leaves out what is empty or false', () => {
    const request = { key: Buffer.from('a'), rangeEnd: Buffer.from('b') };
    expect([...encodeRangeRequest({ ...request, keysOnly: true })]).toEqual([
      0x0a, 1, 0x61, 0x12, 1, 0x62, 0x40, 1,
    ]);
    expect([...encodeRangeRequest({ ...request, countOnly: true })]).toEqual([
      0x0a, 1, 0x61, 0x12, 1, 0x62, 0x48, 1,
    ]);
    expect([...encodeRangeRequest({ ...request, keysOnly: false })]).toEqual([
      0x0a, 1, 0x61, 0x12, 1, 0x62,
    ]);
    expect([...encodeRangeRequest({ key: Buffer.alloc(0), rangeEnd: Buffer.alloc(0) })]).toEqual(
      [],
    );
  });

  it('writes lengths of 128 bytes and more as multi-byte varints', () => {
    const key = Buffer.from('é'.repeat(100)); // 200 bytes
    expect(encodeRangeRequest({ key })).toEqual(message(lengthField(1, key)));
    expect([...encodeRangeRequest({ key }).subarray(0, 3)]).toEqual([0x0a, 0xc8, 0x01]);
  });
});

describe('encodeTxnRequest', () => {
  it('puts each range in the success branch (field 2) as a RequestOp.request_range (field 1)', () => {
    const first = { key: Buffer.from('/p/'), rangeEnd: Buffer.from('/p0') };
    const second = { key: Buffer.from('/q/'), rangeEnd: Buffer.from('/q0'), keysOnly: true };
    expect(encodeTxnRequest([first, second])).toEqual(
      message(
        lengthField(2, lengthField(1, encodeRangeRequest(first))),
        lengthField(2, lengthField(1, encodeRangeRequest(second))),
      ),
    );
    expect(encodeTxnRequest([first])[0]).toBe(0x12);
  });

  it('encodes no ranges as an empty transaction', () => {
    expect(encodeTxnRequest([])).toEqual(Buffer.alloc(0));
  });

  it('handles a request op longer than 127 bytes', () => {
    const range = { key: Buffer.from('k'.repeat(300)), rangeEnd: Buffer.from('l'.repeat(300)) };
    expect(encodeTxnRequest([range])).toEqual(
      message(lengthField(2, lengthField(1, encodeRangeRequest(range)))),
    );
  });
});

describe('decodeRangeResponse', () => {
  it('reads the header revision, every key with its metadata, more and count', () => {
    const decoded = decodeRangeResponse(
      message(
        header(1234567),
        lengthField(2, keyValue({ key: '/a', value: 'one', create: 5, mod: 900, version: 3 })),
        lengthField(
          2,
          keyValue({ key: '/ü/☃', value: 'värde 🚀', create: 7, mod: 7, version: 1, lease: 42n }),
        ),
        varintField(3, 1),
        varintField(4, 2),
      ),
    );
    expect(decoded).toEqual({
      revision: 1234567,
      kvs: [
        { key: '/a', value: 'one', createRevision: 5, modRevision: 900, version: 3 },
        {
          key: '/ü/☃',
          value: 'värde 🚀',
          createRevision: 7,
          modRevision: 7,
          version: 1,
          lease: '42',
        },
      ],
      keys: [],
      more: true,
      count: 2,
    });
    expect(decoded.kvs[0]).not.toHaveProperty('lease');
  });

  it('keeps 64-bit lease ids exact, beyond Number precision', () => {
    // A fixed pseudo-random walk over 63-bit values, so every limb and carry is exercised.
    let seed = 0x2545f4914f6cdd1dn;
    const random = Array.from({ length: 500 }, () => {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) & (2n ** 64n - 1n);
      return seed >> BigInt(1 + Number(seed & 7n)); // 56 to 63 bits
    });
    const leases = [
      2n ** 53n + 1n, // the first integer a double cannot hold
      7587869000000000123n,
      2n ** 63n - 1n, // the largest int64
      2n ** 56n, // the high limb alone
      2n ** 62n + 9_999_999n * 2n ** 24n + 9_999_999n, // lower groups that carry upwards
      10n ** 18n, // zeros to pad in both lower groups
      -1n, // a negative id, which etcd never issues, stays exact too
      -(2n ** 63n), // the smallest int64
      ...random,
    ];
    const decoded = decodeRangeResponse(
      message(...leases.map((lease, i) => lengthField(2, keyValue({ key: `/${i}`, lease })))),
    );
    expect(decoded.kvs.map((kv) => kv.lease)).toEqual(leases.map(String));
    // The Number path gives 9007199254740992 for 2^53 + 1: the test would catch a lossy decoder.
    expect(String(Number(2n ** 53n + 1n))).not.toBe(String(2n ** 53n + 1n));
  });

  it('gives an empty value for a key without one (a keys-only answer) and defaults for the rest', () => {
    const decoded = decodeRangeResponse(message(lengthField(2, keyValue({ key: '/k' }))));
    expect(decoded).toEqual({
      revision: 0,
      kvs: [{ key: '/k', value: '', createRevision: 0, modRevision: 0, version: 0 }],
      keys: [],
      more: false,
      count: 0,
    });
    expect(decodeRangeResponse(Buffer.alloc(0))).toEqual({
      revision: 0,
      kvs: [],
      keys: [],
      more: false,
      count: 0,
    });
  });

  it('steps over fields it does not know, of every wire type', () => {
    const unknown = [
      ...varintField(14, 2n ** 64n - 1n), // a 10-byte varint
      ...[(15 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8], // fixed64
      ...[(13 << 3) | 5, 1, 2, 3, 4], // fixed32
      ...lengthField(12, 'ignored'),
    ];
    const decoded = decodeRangeResponse(
      message(
        unknown,
        header(9),
        lengthField(2, [...unknown, ...keyValue({ key: '/x', value: 'v', mod: 8 }), ...unknown]),
        unknown,
      ),
    );
    expect(decoded.revision).toBe(9);
    expect(decoded.kvs).toEqual([
      { key: '/x', value: 'v', createRevision: 0, modRevision: 8, version: 0 },
    ]);
  });

  it.each<[string, Buffer]>([
    [
      'a message cut inside a key',
      message(lengthField(2, keyValue({ key: '/abc' }))).subarray(0, 5),
    ],
    ['a message cut inside a varint', Buffer.from([0x18, 0x80])],
    ['a nested field longer than its message', message([0x12, 2, 0x0a, 5, 0x61])],
    ['a varint longer than 10 bytes', Buffer.from([0x20, ...Array(10).fill(0xff), 0x01])],
    ['a deprecated group wire type', Buffer.from([(9 << 3) | 3])],
  ])('refuses %s', (_case, bytes) => {
    expect(() => decodeRangeResponse(bytes)).toThrow(/protobuf/);
  });
});

describe('decodeTxnResponse', () => {
  it('reads the revision, succeeded, and each range response in order', () => {
    const decoded = decodeRangesTxn(
      message(
        header(77),
        varintField(2, 1),
        lengthField(3, lengthField(1, [...header(77), ...lengthField(2, keyValue({ key: '/b' }))])),
        lengthField(3, lengthField(1, header(77))),
        lengthField(
          3,
          lengthField(1, [
            ...header(77),
            ...lengthField(2, keyValue({ key: '/c/1', value: '1' })),
            ...lengthField(2, keyValue({ key: '/c/2', value: '2' })),
          ]),
        ),
      ),
    );
    expect(decoded.revision).toBe(77);
    expect(decoded.succeeded).toBe(true);
    expect(decoded.ranges.map((range) => range.kvs.map((kv) => [kv.key, kv.value]))).toEqual([
      [['/b', '']],
      [],
      [
        ['/c/1', '1'],
        ['/c/2', '2'],
      ],
    ]);
    expect(decoded.ranges.map((range) => range.revision)).toEqual([77, 77, 77]);
  });

  it('keeps an empty range response (no header, no keys) in its place', () => {
    const decoded = decodeRangesTxn(
      message(
        varintField(2, 1),
        lengthField(3, lengthField(1, [])),
        lengthField(3, lengthField(1, lengthField(2, keyValue({ key: '/z' })))),
      ),
    );
    expect(decoded.ranges.map((range) => range.kvs.length)).toEqual([0, 1]);
  });

  it('decodes a keys-only range to its keys alone, stepping over every other field', () => {
    const unknown = [
      ...varintField(14, 2n ** 64n - 1n), // a 10-byte varint
      ...[(15 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8], // fixed64
      ...lengthField(12, 'ignored'),
    ];
    const leased = keyValue({ key: '/alive/ü', create: 300, mod: 2 ** 40, version: 7 });
    const decoded = decodeRangesTxn(
      message(
        varintField(2, 1),
        lengthField(3, lengthField(1, lengthField(2, keyValue({ key: '/v', value: 'kept' })))),
        lengthField(
          3,
          lengthField(1, [
            ...header(5),
            ...lengthField(2, [...leased, ...varintField(6, 0x7fffffffffffffffn)]),
            ...lengthField(2, [...unknown, ...keyValue({ key: '/alive/b', value: 'dropped' })]),
            ...lengthField(2, [...varintField(6, 1n), ...lengthField(1, '/alive/c')]),
            ...varintField(4, 3),
          ]),
        ),
      ),
      [false, true],
    );
    expect(decoded.ranges[0]).toMatchObject({ keys: [], kvs: [{ key: '/v', value: 'kept' }] });
    expect(decoded.ranges[1]).toEqual({
      revision: 5,
      kvs: [],
      keys: ['/alive/ü', '/alive/b', '/alive/c'],
      more: false,
      count: 3,
    });
  });

  it.each<[string, number[]]>([
    ['a key-value cut inside a lease id', [0x0a, 1, 0x61, 0x30, 0xff, 0xff]],
    ['a key longer than its key-value', [0x0a, 9, 0x61]],
  ])('refuses a keys-only range with %s', (_case, kv) => {
    const bytes = message(varintField(2, 1), lengthField(3, lengthField(1, lengthField(2, kv))));
    expect(() => decodeRangesTxn(bytes, [true])).toThrow(/protobuf/);
  });

  it('refuses a response op that is not a range, since answers are matched by position', () => {
    const putResponse = lengthField(2, header(5)); // ResponseOp.response_put = 2
    expect(() => decodeRangesTxn(message(varintField(2, 1), lengthField(3, putResponse)))).toThrow(
      'not a range',
    );
  });
});

/**
 * Spy on every way of allocating or copying a Buffer while `decode` runs, and return how often
 * each was called. Decoding must copy no bytes: a copy per field (a Buffer.concat, a slice
 * turned into a new Buffer) makes a 2 MB answer cost quadratic time.
 */
function bufferCopiesDuring(decode: () => void): Record<string, number> {
  const spies = {
    concat: jest.spyOn(Buffer, 'concat'),
    alloc: jest.spyOn(Buffer, 'alloc'),
    allocUnsafe: jest.spyOn(Buffer, 'allocUnsafe'),
    from: jest.spyOn(Buffer, 'from'),
    subarray: jest.spyOn(Buffer.prototype, 'subarray'),
    slice: jest.spyOn(Buffer.prototype, 'slice'),
    copy: jest.spyOn(Buffer.prototype, 'copy'),
    toString: jest.spyOn(Buffer.prototype, 'toString'),
  };
  try {
    decode();
    return Object.fromEntries(
      Object.entries(spies).map(([name, spy]) => [name, spy.mock.calls.length]),
    );
  } finally {
    for (const spy of Object.values(spies)) spy.mockRestore();
  }
}

const NO_COPIES = {
  concat: 0,
  alloc: 0,
  allocUnsafe: 0,
  from: 0,
  subarray: 0,
  slice: 0,
  copy: 0,
  toString: 0,
};

describe('decoding large answers', () => {
  // How fast is measured by the CLI benchmark (bench/); here, that the work stays linear.
  it('decodes 2,000 values of 650 bytes without copying a byte', () => {
    const value = `{"owner":"${'x'.repeat(630)}"}`;
    const body = message(
      header(50000),
      ...Array.from({ length: 2000 }, (_, i) =>
        lengthField(
          2,
          keyValue({
            key: `/dac/sessions/${String(i).padStart(6, '0')}`,
            value,
            create: 40000 + i,
            mod: 45000 + i,
            version: 3,
            lease: 7587869000000000000n + BigInt(i),
          }),
        ),
      ),
    );
    expect(body.length).toBeGreaterThan(1.3e6);
    let decoded: ReturnType<typeof decodeRangeResponse> | undefined;
    expect(bufferCopiesDuring(() => (decoded = decodeRangeResponse(body)))).toEqual(NO_COPIES);
    expect(decoded?.kvs).toHaveLength(2000);
    expect(decoded?.kvs[1999]).toMatchObject({ value, lease: '7587869000000001999' });
  });

  it('decodes 10,000 keys of a keys-only range without copying a byte', () => {
    const ranges = lengthField(
      1,
      Array.from({ length: 10000 }, (_, i) =>
        lengthField(
          2,
          keyValue({ key: `/dac/k/${i}`, create: 90000 + i, mod: 90000 + i, version: 1 }),
        ),
      ).flat(),
    );
    const body = message(header(100000), varintField(2, 1), lengthField(3, ranges));
    let decoded: ReturnType<typeof decodeTxnResponse> | undefined;
    expect(bufferCopiesDuring(() => (decoded = decodeTxnResponse(body, [true])))).toEqual(
      NO_COPIES,
    );
    const range = decoded && rangesOf(decoded)[0];
    expect(range?.keys).toHaveLength(10000);
    expect(range?.keys[9999]).toBe('/dac/k/9999');
  });
});
