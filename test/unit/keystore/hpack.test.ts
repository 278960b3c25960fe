/**
 * HPACK (RFC 7541): the RFC's own examples (Appendix C), the errors a decoder must refuse, every
 * Huffman code checked against codes this file derives from Appendix B's code lengths alone,
 * and header blocks exchanged with Node's HTTP/2 server (nghttp2, an independent encoder that
 * uses Huffman coding and the dynamic table) over a raw socket.
 */
import { createServer, type Http2Server, type OutgoingHttpHeaders } from 'node:http2';
import { connect, type AddressInfo } from 'node:net';
import {
  HpackDecoder,
  HpackError,
  encodeHeaderBlock,
  huffmanDecode,
} from '../../../src/keystore/hpack';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/**
 * The code lengths of RFC 7541 Appendix B, octets 0..255 then EOS. The code is canonical
 * (codes of one length are consecutive, in symbol order, and follow on from the shorter ones),
 * so the lengths alone fix every code: deriving them here checks the module's explicit codes
 * by another route.
 */
// prettier-ignore
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
   6, 10, 10, 12, 13,  6,  8, 11, 10, 10,  8, 11,  8,  6,  6,  6,
   5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8, 15,  6, 12, 10,
  13,  6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,
   7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8, 13, 19, 13, 14,  6,
  15,  5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5,
   6,  7,  6,  5,  5,  6,  7,  7,  7,  7,  7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

/** Each symbol's code as a string of '0' and '1', assigned canonically from the lengths. */
const HUFFMAN_BITS: string[] = (() => {
  const bits: string[] = [];
  const order = HUFFMAN_LENGTHS.map((length, symbol) => ({ length, symbol })).sort(
    (a, b) => a.length - b.length || a.symbol - b.symbol,
  );
  let code = 0;
  let length = order[0]!.length;
  for (const entry of order) {
    code *= 2 ** (entry.length - length);
    length = entry.length;
    bits[entry.symbol] = code.toString(2).padStart(length, '0');
    code += 1;
  }
  return bits;
})();

/** Huffman-encode octets, padded with the most significant bits of EOS (ones), per §5.2. */
function huffmanEncode(octets: Buffer): Buffer {
  let bits = '';
  for (const octet of octets) bits += HUFFMAN_BITS[octet]!;
  bits = bits.padEnd(Math.ceil(bits.length / 8) * 8, '1');
  const out = Buffer.alloc(bits.length / 8);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(bits.slice(8 * i, 8 * i + 8), 2);
  return out;
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Code points whose UTF-8 holds every octet 0x80..0xf4 that UTF-8 uses (all but 0xc0, 0xc1):
 * U+0080..U+00BF give the continuation octets, then one code point per lead octet.
 */
const UTF8_CODE_POINTS = [
  ...range(0x80, 0xbf),
  ...range(0xc3, 0xdf).map((lead) => (lead & 0x1f) << 6),
  0x800, // 0xe0 0xa0 0x80
  ...range(0xe1, 0xef).map((lead) => (lead & 0x0f) << 12),
  0x10000, // 0xf0 0x90 0x80 0x80
  ...range(0xf1, 0xf4).map((lead) => (lead & 0x07) << 18),
];

/** The octets that never occur in UTF-8. */
const NOT_UTF8 = [0xc0, 0xc1, ...range(0xf5, 0xff)];

describe('the Huffman code lengths this test derives codes from', () => {
  it('make a complete prefix code with EOS as 30 ones, as in RFC 7541 Appendix B', () => {
    expect(HUFFMAN_LENGTHS).toHaveLength(257);
    expect(HUFFMAN_LENGTHS.reduce((sum, length) => sum + 2 ** -length, 0)).toBe(1);
    expect(HUFFMAN_BITS[256]).toBe('1'.repeat(30));
    // A few codes as printed in Appendix B.
    expect(HUFFMAN_BITS[0]).toBe('1111111111000');
    expect(HUFFMAN_BITS[0x20]).toBe('010100');
    expect(HUFFMAN_BITS[0x30]).toBe('00000');
    expect(HUFFMAN_BITS[0x61]).toBe('00011');
    expect(HUFFMAN_BITS[0xff]).toBe('11111111111111111111101110');
  });
});

describe('huffmanDecode', () => {
  it('decodes the code of every octet', () => {
    let ascii = '';
    for (let octet = 0; octet < 0x80; octet += 1) ascii += String.fromCharCode(octet);
    expect(huffmanDecode(huffmanEncode(Buffer.from(ascii, 'latin1')))).toBe(ascii);

    const text = String.fromCodePoint(...UTF8_CODE_POINTS);
    const octets = Buffer.from(text, 'utf8');
    for (const octet of range(0x80, 0xff)) {
      expect(octets.includes(octet)).toBe(!NOT_UTF8.includes(octet));
    }
    expect(huffmanDecode(huffmanEncode(octets))).toBe(text);

    // The octets that never occur in UTF-8 decode to U+FFFD each, and the code after them
    // still decodes: their codes have the right lengths.
    for (const octet of NOT_UTF8) {
      expect(huffmanDecode(huffmanEncode(Buffer.from([octet, 0x61])))).toBe('\ufffda');
    }
  });

  it('decodes the empty string', () => {
    expect(huffmanDecode(Buffer.alloc(0))).toBe('');
  });

  it.each<[string, string, RegExp]>([
    ['EOS inside the data', 'ffffffff', /contains EOS/],
    ['EOS followed by a symbol', 'fffffffc7f', /contains EOS/],
    // 'a' (00011) then eleven ones
    ['padding longer than 7 bits', '1fff', /padding of 11 bits is longer than 7 bits/],
    ['a whole octet of padding', 'ff', /padding of 8 bits is longer than 7 bits/],
    // 'a' then 000, the start of '0' (00000), not of EOS
    ['padding that is not all ones', '18', /padding is not all ones/],
    ['padding of 101', '1d', /padding is not all ones/],
  ])('rejects %s', (_case, data, message) => {
    const decode = () => huffmanDecode(hex(data));
    expect(decode).toThrow(HpackError);
    expect(decode).toThrow(message);
  });
});

describe('HpackDecoder', () => {
  it('decodes the RFC 7541 C.2 single representations: with, without and never indexed, indexed', () => {
    expect(new HpackDecoder().decode(hex('040c2f73616d706c652f70617468'))).toEqual([
      [':path', '/sample/path'],
    ]);
    expect(new HpackDecoder().decode(hex('100870617373776f726406736563726574'))).toEqual([
      ['password', 'secret'],
    ]);
    expect(new HpackDecoder().decode(hex('82'))).toEqual([[':method', 'GET']]);
  });

  it('adds a literal with incremental indexing to the dynamic table (RFC 7541 C.2.1)', () => {
    const decoder = new HpackDecoder();
    const field = ['custom-key', 'custom-header'];
    expect(decoder.decode(hex('400a637573746f6d2d6b65790d637573746f6d2d686561646572'))).toEqual([
      field,
    ]);
    // Index 62 is the newest dynamic entry.
    expect(decoder.decode(hex('be'))).toEqual([field]);
    expect(decoder.decode(hex('be'))).toEqual([field]);
  });

  it('leaves the table alone for literals without indexing and never indexed (RFC 7541 C.2.2, C.2.3)', () => {
    const decoder = new HpackDecoder();
    decoder.decode(hex('040c2f73616d706c652f70617468'));
    decoder.decode(hex('100870617373776f726406736563726574'));
    expect(() => decoder.decode(hex('be'))).toThrow('HPACK: index 62 is not in the table');
  });

  it('decodes the RFC 7541 C.3 requests, one table across the three blocks', () => {
    const decoder = new HpackDecoder();
    expect(decoder.decode(hex('828684410f7777772e6578616d706c652e636f6d'))).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    expect(decoder.decode(hex('828684be58086e6f2d6361636865'))).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    expect(
      decoder.decode(hex('828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565')),
    ).toEqual([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ]);
    // The table now holds, newest first: custom-key, cache-control, :authority.
    expect(decoder.decode(hex('bebfc0'))).toEqual([
      ['custom-key', 'custom-value'],
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ]);
  });

  it('decodes the RFC 7541 C.4 requests, Huffman-coded', () => {
    const decoder = new HpackDecoder();
    expect(decoder.decode(hex('828684418cf1e3c2e5f23a6ba0ab90f4ff'))).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    expect(decoder.decode(hex('828684be5886a8eb10649cbf'))).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    expect(decoder.decode(hex('828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf'))).toEqual([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ]);
  });

  it('decodes the RFC 7541 C.6 responses, Huffman-coded, evicting from a 256-byte table', () => {
    const decoder = new HpackDecoder(256);
    expect(
      decoder.decode(
        hex(
          `488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad1718
           63c78f0b97c8e9ae82ae43d3`,
        ),
      ),
    ).toEqual([
      [':status', '302'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['location', 'https://www.example.com'],
    ]);
    // ':status: 307' evicts ':status: 302'; the other three come from the table.
    expect(decoder.decode(hex('4883640effc1c0bf'))).toEqual([
      [':status', '307'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['location', 'https://www.example.com'],
    ]);
    expect(
      decoder.decode(
        hex(
          `88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7
           b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007`,
        ),
      ),
    ).toEqual([
      [':status', '200'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
      ['location', 'https://www.example.com'],
      ['content-encoding', 'gzip'],
      ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
    ]);
    // RFC 7541 C.6.3 ends with these three entries, 215 octets, newest first; nothing else.
    expect(decoder.decode(hex('bebfc0'))).toEqual([
      ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
      ['content-encoding', 'gzip'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
    ]);
    expect(() => decoder.decode(hex('c1'))).toThrow('HPACK: index 65 is not in the table');
  });

  /** A literal with incremental indexing and a new name, strings not Huffman-coded. */
  const indexed = (name: string, value: string) =>
    Buffer.concat([
      Buffer.from([0x40, Buffer.byteLength(name)]),
      Buffer.from(name),
      Buffer.from([Buffer.byteLength(value)]),
      Buffer.from(value),
    ]);

  it('evicts the oldest entries by size, name + value + 32 octets', () => {
    // Each entry is 1 + 30 + 32 = 63 octets: two fit in 126, a third evicts the oldest.
    const decoder = new HpackDecoder(126);
    decoder.decode(Buffer.concat([indexed('a', 'x'.repeat(30)), indexed('b', 'y'.repeat(30))]));
    expect(decoder.decode(hex('bebf'))).toEqual([
      ['b', 'y'.repeat(30)],
      ['a', 'x'.repeat(30)],
    ]);
    decoder.decode(indexed('c', 'z'.repeat(30)));
    expect(decoder.decode(hex('bebf'))).toEqual([
      ['c', 'z'.repeat(30)],
      ['b', 'y'.repeat(30)],
    ]);
    expect(() => decoder.decode(hex('c0'))).toThrow('HPACK: index 64 is not in the table');
  });

  it('counts entry sizes in octets, not characters', () => {
    // 'é' is two octets in UTF-8: 1 + 30 + 32 = 63 octets do not fit in 50 (15 characters would).
    const decoder = new HpackDecoder(50);
    expect(decoder.decode(indexed('a', 'é'.repeat(15)))).toEqual([['a', 'é'.repeat(15)]]);
    expect(() => decoder.decode(hex('be'))).toThrow('HPACK: index 62 is not in the table');
  });

  it('empties the table for an entry larger than the whole table', () => {
    const decoder = new HpackDecoder(100);
    decoder.decode(indexed('a', 'x'));
    expect(decoder.decode(hex('be'))).toEqual([['a', 'x']]);
    expect(decoder.decode(indexed('b', 'y'.repeat(68)))).toEqual([['b', 'y'.repeat(68)]]);
    expect(() => decoder.decode(hex('be'))).toThrow('HPACK: index 62 is not in the table');
  });

  it('takes the name of a literal from the dynamic table, and indexes the new entry', () => {
    const decoder = new HpackDecoder();
    decoder.decode(indexed('grpc-status', '0'));
    // 0x7e: with incremental indexing, name index 62; then 0x0f 0x2f: without indexing, name
    // index 62 as 15 + 47 (the newest entry is now the one just added).
    expect(decoder.decode(hex('7e0131 0f2f0132'))).toEqual([
      ['grpc-status', '1'],
      ['grpc-status', '2'],
    ]);
    expect(decoder.decode(hex('bebf'))).toEqual([
      ['grpc-status', '1'],
      ['grpc-status', '0'],
    ]);
  });

  it('applies table size updates at the start of a block, evicting down to the new size', () => {
    const decoder = new HpackDecoder();
    decoder.decode(Buffer.concat([indexed('a', 'x'), indexed('b', 'y')]));
    // Size 0 empties the table; then back up to 4096 (0x3f 0xe1 0x1f), both before any field.
    expect(decoder.decode(hex('20 3fe11f 82'))).toEqual([[':method', 'GET']]);
    expect(() => decoder.decode(hex('be'))).toThrow('HPACK: index 62 is not in the table');
    // Size 34 keeps only 'b' (1 + 1 + 32 = 34 octets).
    decoder.decode(Buffer.concat([indexed('a', 'x'), indexed('b', 'y')]));
    expect(decoder.decode(hex('3f03 be'))).toEqual([['b', 'y']]);
    expect(() => decoder.decode(hex('bf'))).toThrow('HPACK: index 63 is not in the table');
  });

  it('decodes multi-byte integers (RFC 7541 C.1.2: 1337 with a 5-bit prefix)', () => {
    expect(new HpackDecoder(1337).decode(hex('3f9a0a'))).toEqual([]);
    expect(() => new HpackDecoder(1336).decode(hex('3f9a0a'))).toThrow(
      'HPACK: table size update to 1337 is above the maximum 1336',
    );
    const long = 'v'.repeat(300); // a length of 300 takes a 7-bit prefix and two more octets
    const block = Buffer.concat([hex('0001 61 7f ad 01'), Buffer.from(long)]);
    expect(new HpackDecoder().decode(block)).toEqual([['a', long]]);
  });

  it.each<[string, string, RegExp]>([
    ['index 0', '80', /index 0 is not allowed/],
    ['an index beyond the static table', 'c6', /index 70 is not in the table/],
    ['an index beyond the dynamic table', '82 bf', /index 63 is not in the table/],
    ['a literal name index beyond the table', '0f30 0161', /index 63 is not in the table/],
    ['a truncated integer', 'ff', /ends inside an integer/],
    ['an integer cut after a continuation octet', 'ff80', /ends inside an integer/],
    ['an integer above 2^32', 'ffffffffff7f', /integer \d+ is too large/],
    [
      'an integer with too many continuation octets',
      'ff8080808080 00',
      /more than 5 continuation bytes/,
    ],
    ['a block that ends before a string', '40', /ends before a string/],
    ['a truncated string', '400a637573', /ends inside a string of 10 bytes \(3 left\)/],
    ['a truncated value', '0001610a6162', /ends inside a string of 10 bytes \(2 left\)/],
    ['a size update above the maximum', '3fe21f', /update to 4097 is above the maximum 4096/],
    ['a size update after a header field', '82 20', /size update comes after a header field/],
    ['a Huffman-coded name containing EOS', '0084ffffffff0161', /contains EOS/],
    ['a Huffman-coded value with long padding', '000161 82 1fff', /longer than 7 bits/],
    ['Huffman padding that is not all ones', '000161 81 18', /padding is not all ones/],
  ])('rejects %s', (_case, block, message) => {
    const decode = () => new HpackDecoder().decode(hex(block));
    expect(decode).toThrow(HpackError);
    expect(decode).toThrow(message);
  });

  it('rejects a size update above the maximum it was given', () => {
    const decode = () => new HpackDecoder(256).decode(hex('3f e2 01')); // 31 + 98 + 128
    expect(decode).toThrow(HpackError);
    expect(decode).toThrow('HPACK: table size update to 257 is above the maximum 256');
    expect(new HpackDecoder(256).decode(hex('3f e1 01'))).toEqual([]); // 256 itself is fine
  });

  it('names its errors HpackError', () => {
    const error = (() => {
      try {
        new HpackDecoder().decode(hex('80'));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('HpackError');
  });
});

describe('encodeHeaderBlock', () => {
  it('writes exact static-table matches as one indexed byte', () => {
    expect(
      encodeHeaderBlock([
        [':method', 'POST'],
        [':scheme', 'http'],
        [':scheme', 'https'],
        [':path', '/'],
        ['accept-encoding', 'gzip, deflate'],
      ]),
    ).toEqual(hex('83 86 87 84 90'));
  });

  it('writes other headers as literals without indexing, naming static-table names by index', () => {
    expect(
      encodeHeaderBlock([
        [':path', '/kv'], // name index 4
        [':authority', 'h:1'], // name index 1
        ['content-type', 'application/grpc'], // name index 31: 15 + 16
        ['te', 'trailers'], // not in the static table
        [':method', 'PUT'], // name index 2, the first of the two ':method' entries
      ]),
    ).toEqual(
      Buffer.concat([
        hex('04 03'),
        Buffer.from('/kv'),
        hex('01 03'),
        Buffer.from('h:1'),
        hex('0f 10 10'),
        Buffer.from('application/grpc'),
        hex('00 02'),
        Buffer.from('te'),
        hex('08'),
        Buffer.from('trailers'),
        hex('02 03'),
        Buffer.from('PUT'),
      ]),
    );
  });

  it('writes lengths of 127 and more as multi-byte integers', () => {
    const path = '/' + 'p'.repeat(199);
    expect(encodeHeaderBlock([[':path', path]])).toEqual(
      Buffer.concat([hex('04 7f 49'), Buffer.from(path)]),
    );
  });

  it('round-trips through HpackDecoder without adding to its table', () => {
    const headers: Array<[string, string]> = [
      [':method', 'POST'],
      [':scheme', 'https'],
      [':authority', 'etcd.example:2379'],
      [':path', '/etcdserverpb.KV/Range'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['grpc-timeout', '1500m'],
      ['x-long', 'q'.repeat(1000)],
    ];
    const decoder = new HpackDecoder();
    expect(decoder.decode(encodeHeaderBlock(headers))).toEqual(headers);
    expect(() => decoder.decode(hex('be'))).toThrow('HPACK: index 62 is not in the table');
  });
});

/** One HTTP/2 frame as read off the wire (RFC 9113 §4.1). */
interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

const FRAME_DATA = 0x0;
const FRAME_HEADERS = 0x1;
const FRAME_RST_STREAM = 0x3;
const FRAME_SETTINGS = 0x4;
const FRAME_GOAWAY = 0x7;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
const SETTINGS_HEADER_TABLE_SIZE = 0x1;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/**
 * Open a raw connection, send one request on stream 1, and read frames until the server ends
 * that stream. `settings` is the payload of our SETTINGS frame.
 */
function rawExchange(port: number, settings: Buffer, requestBlock: Buffer): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const frames: Frame[] = [];
    let pending = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('the connection closed before the answer ended')));
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const read: Frame = {
          type: pending[3]!,
          flags: pending[4]!,
          streamId: pending.readUInt32BE(5) & 0x7fffffff,
          payload: pending.subarray(9, 9 + length),
        };
        pending = pending.subarray(9 + length);
        frames.push(read);
        if (read.type === FRAME_SETTINGS && !(read.flags & FLAG_ACK)) {
          socket.write(frame(FRAME_SETTINGS, FLAG_ACK, 0, Buffer.alloc(0)));
        }
        if (read.type === FRAME_GOAWAY || read.type === FRAME_RST_STREAM) {
          socket.destroy();
          reject(
            new Error(`the server sent frame type ${read.type}: ${read.payload.toString('hex')}`),
          );
          return;
        }
        if (read.streamId === 1 && read.flags & FLAG_END_STREAM) {
          if (read.type === FRAME_HEADERS || read.type === FRAME_DATA) {
            resolve(frames);
            socket.destroy();
            return;
          }
        }
      }
    });
    socket.write(
      Buffer.concat([
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
        frame(FRAME_SETTINGS, 0, 0, settings),
        frame(FRAME_HEADERS, FLAG_END_STREAM | FLAG_END_HEADERS, 1, requestBlock),
      ]),
    );
  });
}

/** The header blocks of stream 1: each HEADERS fragment joined with its CONTINUATIONs. */
function headerBlocks(frames: Frame[]): Buffer[] {
  const blocks: Buffer[] = [];
  let open: Buffer[] | undefined;
  for (const { type, flags, streamId, payload } of frames) {
    if (streamId !== 1) continue;
    if (type === FRAME_HEADERS) {
      let fragment = payload;
      if (flags & FLAG_PADDED) fragment = fragment.subarray(1, fragment.length - payload[0]!);
      if (flags & FLAG_PRIORITY) fragment = fragment.subarray(5);
      open = [fragment];
    } else if (type === FRAME_CONTINUATION) {
      open!.push(payload);
    } else {
      continue;
    }
    if (flags & FLAG_END_HEADERS) {
      blocks.push(Buffer.concat(open!));
      open = undefined;
    }
  }
  return blocks;
}

/** The [name, value] pairs Node sends for a headers object: in key order, arrays in order. */
function pairs(headers: OutgoingHttpHeaders): Array<[string, string]> {
  return Object.entries(headers).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : [value]).map((one): [string, string] => [name, String(one)]),
  );
}

/**
 * Values meant to exercise every code: each unusual octet among many 5-bit ones, so that its
 * string is shorter Huffman-coded and nghttp2, which Huffman-codes whatever gets shorter, does.
 * Node sends a string's characters as latin1 octets.
 */
function spread(octets: number[]): string[] {
  const values: string[] = [];
  for (let i = 0; i < octets.length; i += 8) {
    values.push(
      octets
        .slice(i, i + 8)
        .map((octet) => 'aceiost012' + String.fromCharCode(octet))
        .join(''),
    );
  }
  return values;
}

/** UTF-8 text with every octet UTF-8 uses, as the latin1 strings Node sends octet for octet. */
function utf8Values(): string[] {
  const values: string[] = [];
  for (let i = 0; i < UTF8_CODE_POINTS.length; i += 6) {
    const text = UTF8_CODE_POINTS.slice(i, i + 6)
      .map((cp) => 'aceiost012'.repeat(3) + String.fromCodePoint(cp))
      .join('');
    values.push(Buffer.from(text, 'utf8').toString('latin1'));
  }
  return values;
}

describe('HPACK against nghttp2 (node:http2)', () => {
  let server: Http2Server;
  let port: number;
  let received: Record<string, string | string[] | undefined>[];
  let responseHeaders: OutgoingHttpHeaders;
  let trailers: OutgoingHttpHeaders;

  const printable = range(0x20, 0x7e);
  // Not NUL: Node passes header strings to nghttp2 NUL-separated, so NUL cuts the list short.
  const control = [...range(0x01, 0x1f), 0x7f];

  beforeAll(async () => {
    server = createServer();
    server.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      received.push(Object.fromEntries(Object.entries(headers)));
      stream.respond(responseHeaders, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers(trailers));
      stream.end('body');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => {
    received = [];
    const printableValues = spread(printable);
    // The whole printable range in one plain value too, as a long ASCII header would be.
    const allPrintable = String.fromCharCode(...printable);
    responseHeaders = {
      ':status': '200',
      'content-type': 'application/grpc',
      date: 'Mon, 21 Oct 2013 20:13:21 GMT', // else Node adds the current date
      'x-printable': printableValues,
      'x-all-printable': allPrintable,
      'x-control': spread(control),
      'x-utf8': utf8Values(),
      'x-not-utf8': spread(NOT_UTF8),
      // Repeated fields, which nghttp2 sends as references into its dynamic table.
      'x-repeat': [allPrintable, allPrintable, printableValues[0]!, printableValues[0]!],
      'x-short': ['private', 'private'],
      'cache-control': 'private',
      'grpc-encoding': 'identity',
    };
    trailers = {
      'grpc-status': '0',
      'grpc-message': 'etcdserver: key is not provided %E2%98%83',
      'x-printable': printableValues,
      'x-repeat': allPrintable,
      'x-short': 'private',
      'cache-control': 'private',
    };
  });

  /** What our decoder must give for what Node sent: the latin1 octets read as UTF-8. */
  const decoded = (headers: OutgoingHttpHeaders) =>
    pairs(headers).map(([name, value]): [string, string] => [
      name,
      Buffer.from(value, 'latin1').toString('utf8'),
    ]);

  const request = () =>
    encodeHeaderBlock([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':authority', `127.0.0.1:${port}`],
      [':path', '/etcdserverpb.KV/Range'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['grpc-timeout', '1500m'],
      ['user-agent', 'dac-test/1'],
    ]);

  it('builds test values that are shorter Huffman-coded, so that nghttp2 Huffman-codes them', () => {
    const spreadNames = ['x-printable', 'x-control', 'x-utf8', 'x-not-utf8'];
    const values = spreadNames.flatMap((name) => responseHeaders[name] as string[]);
    expect(values.length).toBeGreaterThan(30);
    for (const value of values) {
      const octets = Buffer.from(value, 'latin1');
      expect(huffmanEncode(octets).length).toBeLessThan(octets.length);
    }
  });

  it('decodes a response and its trailers that nghttp2 encoded with Huffman and its dynamic table', async () => {
    const frames = await rawExchange(port, Buffer.alloc(0), request());
    const blocks = headerBlocks(frames);
    expect(blocks).toHaveLength(2);
    // Huffman coding and the table shrink the block well below the text it carries.
    const text = pairs(responseHeaders).reduce((n, [k, v]) => n + k.length + v.length, 0);
    expect(blocks[0]!.length).toBeLessThan(text * 0.8);

    const decoder = new HpackDecoder();
    expect(decoder.decode(blocks[0]!)).toEqual(decoded(responseHeaders));
    expect(decoder.decode(blocks[1]!)).toEqual(decoded(trailers));
    // The trailers repeat response fields, which nghttp2 sent as references to its table:
    // a decoder that did not keep the table from the response cannot read them.
    expect(() => new HpackDecoder().decode(blocks[1]!)).toThrow(/is not in the table/);
  });

  it('follows nghttp2 through a table size update and evictions when we advertise 256 bytes', async () => {
    const settings = Buffer.alloc(6);
    settings.writeUInt16BE(SETTINGS_HEADER_TABLE_SIZE, 0);
    settings.writeUInt32BE(256, 2);
    const frames = await rawExchange(port, settings, request());
    const blocks = headerBlocks(frames);
    expect(blocks).toHaveLength(2);
    // nghttp2 acknowledges the smaller table with a size update (001xxxxx) first.
    expect(blocks[0]![0]! & 0xe0).toBe(0x20);

    const decoder = new HpackDecoder(256);
    expect(decoder.decode(blocks[0]!)).toEqual(decoded(responseHeaders));
    expect(decoder.decode(blocks[1]!)).toEqual(decoded(trailers));
  });

  it('sends request headers that nghttp2 decodes exactly', async () => {
    await rawExchange(port, Buffer.alloc(0), request());
    expect(received).toEqual([
      {
        ':method': 'POST',
        ':scheme': 'http',
        ':authority': `127.0.0.1:${port}`,
        ':path': '/etcdserverpb.KV/Range',
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': '1500m',
        'user-agent': 'dac-test/1',
      },
    ]);
  });
});
