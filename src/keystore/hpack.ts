/**
 * HPACK (RFC 7541), the header compression of HTTP/2, for our own HTTP/2 client: the decoder
 * follows everything a server may send (etcd's Go server uses the dynamic table, incremental
 * indexing and Huffman-coded strings); the encoder writes the few request headers of a gRPC
 * call in the simplest form a server must accept, so it keeps no state.
 *
 * A decoding error is a COMPRESSION_ERROR: the decoder's table may then be out of step with
 * the server's, so the connection must be closed rather than the stream alone.
 */

/** A header block that breaks RFC 7541 (a COMPRESSION_ERROR in HTTP/2 terms). */
export class HpackError extends Error {
  override name = 'HpackError';
}

/** The static table of RFC 7541 Appendix A: index 1 is the first entry. */
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** The Huffman code of each octet 0..255 and of EOS (256), as in RFC 7541 Appendix B. */
// prettier-ignore
const HUFFMAN_CODES = [
  /*   0 */ 0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7,
  /*   8 */ 0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec,
  /*  16 */ 0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3,
  /*  24 */ 0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb,
  /*  32 */ 0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa,
  /*  40 */ 0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18,
  /*  48 */ 0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
  /*  56 */ 0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc,
  /*  64 */ 0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62,
  /*  72 */ 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
  /*  80 */ 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72,
  /*  88 */ 0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22,
  /*  96 */ 0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26,
  /* 104 */ 0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7,
  /* 112 */ 0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78,
  /* 120 */ 0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc,
  /* 128 */ 0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9,
  /* 136 */ 0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf,
  /* 144 */ 0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3,
  /* 152 */ 0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef,
  /* 160 */ 0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde,
  /* 168 */ 0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec,
  /* 176 */ 0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef,
  /* 184 */ 0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1,
  /* 192 */ 0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec,
  /* 200 */ 0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed,
  /* 208 */ 0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2,
  /* 216 */ 0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5,
  /* 224 */ 0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3,
  /* 232 */ 0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4,
  /* 240 */ 0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea,
  /* 248 */ 0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee,
  /* 256 */ 0x3fffffff,
];

/** The length in bits of each code in HUFFMAN_CODES. */
// prettier-ignore
const HUFFMAN_LENGTHS = [
  /*   0 */ 13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  /*  16 */ 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  /*  32 */  6, 10, 10, 12, 13,  6,  8, 11, 10, 10,  8, 11,  8,  6,  6,  6,
  /*  48 */  5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8, 15,  6, 12, 10,
  /*  64 */ 13,  6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,
  /*  80 */  7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8, 13, 19, 13, 14,  6,
  /*  96 */ 15,  5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5,
  /* 112 */  6,  7,  6,  5,  5,  6,  7,  7,  7,  7,  7, 15, 11, 14, 13, 28,
  /* 128 */ 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  /* 144 */ 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  /* 160 */ 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  /* 176 */ 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  /* 192 */ 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  /* 208 */ 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  /* 224 */ 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  /* 240 */ 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  /* 256 */ 30,
];

const EOS = 256;

/**
 * The Huffman code as a binary tree, built on first use so that loading the module costs
 * nothing: the node at `i` has its children at `2i` (bit 0) and `2i + 1` (bit 1); a child is
 * another node's index, or `-(symbol + 1)` for a leaf. The root is node 0, so 0 never names a
 * child. 257 leaves make 256 inner nodes.
 */
let huffmanTree: Int16Array | undefined;

function buildHuffmanTree(): Int16Array {
  const tree = new Int16Array(2 * 256);
  let nodes = 1;
  for (let symbol = 0; symbol <= EOS; symbol += 1) {
    const code = HUFFMAN_CODES[symbol]!;
    let node = 0;
    for (let bit = HUFFMAN_LENGTHS[symbol]! - 1; bit > 0; bit -= 1) {
      const slot = 2 * node + ((code >>> bit) & 1);
      if (tree[slot] === 0) tree[slot] = nodes++;
      node = tree[slot]!;
    }
    tree[2 * node + (code & 1)] = -(symbol + 1);
  }
  return tree;
}

/** Huffman-decode to octets (§5.2): the table counts a string's size in octets, not characters. */
function huffmanOctets(bytes: Buffer): Buffer {
  const tree = (huffmanTree ??= buildHuffmanTree());
  // The shortest code has 5 bits, which bounds the output.
  const out = Buffer.allocUnsafe(Math.floor((bytes.length * 8) / 5));
  let length = 0;
  let node = 0;
  // The bits read since the last whole symbol, and whether they were all ones: at the end they
  // are the padding, which must be a prefix of EOS no longer than 7 bits.
  let pending = 0;
  let allOnes = true;
  for (const byte of bytes) {
    for (let shift = 7; shift >= 0; shift -= 1) {
      const bit = (byte >>> shift) & 1;
      const next = tree[2 * node + bit]!;
      if (next < 0) {
        const symbol = -next - 1;
        if (symbol === EOS) throw new HpackError('HPACK: a Huffman-coded string contains EOS');
        out[length++] = symbol;
        node = 0;
        pending = 0;
        allOnes = true;
      } else {
        node = next;
        pending += 1;
        if (bit === 0) allOnes = false;
      }
    }
  }
  if (pending > 7) {
    throw new HpackError(`HPACK: Huffman padding of ${pending} bits is longer than 7 bits`);
  }
  if (!allOnes) throw new HpackError('HPACK: Huffman padding is not all ones');
  return out.subarray(0, length);
}

/**
 * Huffman-decode a string (RFC 7541 §5.2, Appendix B), its octets read as UTF-8. Throws
 * HpackError on EOS in the data, or padding longer than 7 bits or not all ones.
 */
export function huffmanDecode(bytes: Buffer): string {
  return huffmanOctets(bytes).toString('utf8');
}

/** An entry of the dynamic table, with the octet counts its size is made of (§4.1). */
interface DynamicEntry {
  name: string;
  value: string;
  nameOctets: number;
  /** name octets + value octets + 32 */
  size: number;
}

/** A name or value as decoded, with its length in octets. */
interface DecodedString {
  text: string;
  octets: number;
}

// §5.1 allows integers of any size; nothing in a header block of ours needs more than 32 bits,
// and a cap keeps a hostile encoding from running on or losing precision.
const MAX_INTEGER = 0xffffffff;
const MAX_CONTINUATION_BYTES = 5;

/** Reads the primitives of §5 from one header block. */
class BlockReader {
  pos = 0;

  constructor(private readonly block: Buffer) {}

  get done(): boolean {
    return this.pos >= this.block.length;
  }

  /** The first octet of the next representation, which says what it is. */
  peek(): number {
    return this.block[this.pos]!;
  }

  /** An integer with an N-bit prefix (§5.1); the octet's other bits are the caller's. */
  integer(prefixBits: number): number {
    const block = this.block;
    const mask = (1 << prefixBits) - 1;
    let value = block[this.pos++]! & mask;
    if (value < mask) return value;
    let factor = 1;
    for (let count = 1; ; count += 1) {
      if (this.pos >= block.length) {
        throw new HpackError('HPACK: the header block ends inside an integer');
      }
      if (count > MAX_CONTINUATION_BYTES) {
        throw new HpackError(
          `HPACK: an integer has more than ${MAX_CONTINUATION_BYTES} continuation bytes`,
        );
      }
      const byte = block[this.pos++]!;
      value += (byte & 0x7f) * factor;
      if (value > MAX_INTEGER) throw new HpackError(`HPACK: integer ${value} is too large`);
      if ((byte & 0x80) === 0) return value;
      factor *= 0x80;
    }
  }

  /** A string literal (§5.2): H flag, 7-bit-prefix length, then raw or Huffman-coded octets. */
  string(): DecodedString {
    if (this.done) throw new HpackError('HPACK: the header block ends before a string');
    const huffman = (this.peek() & 0x80) !== 0;
    const length = this.integer(7);
    const start = this.pos;
    const end = start + length;
    if (end > this.block.length) {
      const left = this.block.length - start;
      throw new HpackError(
        `HPACK: the header block ends inside a string of ${length} bytes (${left} left)`,
      );
    }
    this.pos = end;
    if (!huffman) return { text: this.block.toString('utf8', start, end), octets: length };
    const octets = huffmanOctets(this.block.subarray(start, end));
    return { text: octets.toString('utf8'), octets: octets.length };
  }
}

/** Decodes the header blocks of one HTTP/2 connection, in order (it keeps the dynamic table). */
export class HpackDecoder {
  private readonly maxTableSize: number;
  /** The table size the server set, at most maxTableSize (§4.2). */
  private capacity: number;
  private size = 0;
  /** Oldest first, so that the newest, dynamic index 62, is the last. */
  private readonly entries: DynamicEntry[] = [];

  /**
   * @param maxTableSize the SETTINGS_HEADER_TABLE_SIZE we advertise (HTTP/2's default 4096):
   * a table size update above it is an error.
   */
  constructor(maxTableSize = 4096) {
    if (!Number.isInteger(maxTableSize) || maxTableSize < 0 || maxTableSize > MAX_INTEGER) {
      throw new RangeError(`HPACK: bad maximum table size ${maxTableSize}`);
    }
    this.maxTableSize = maxTableSize;
    this.capacity = maxTableSize;
  }

  /**
   * Decode one complete header block (HEADERS and CONTINUATION fragments joined) into its
   * [name, value] pairs in order. Throws HpackError.
   */
  decode(block: Buffer): Array<[string, string]> {
    const fields: Array<[string, string]> = [];
    const reader = new BlockReader(block);
    while (!reader.done) {
      const first = reader.peek();
      if (first & 0x80) {
        // §6.1 indexed header field
        const index = reader.integer(7);
        if (index === 0) throw new HpackError('HPACK: index 0 is not allowed');
        const entry = this.entry(index);
        fields.push([entry[0], entry[1]]);
      } else if (first & 0x40) {
        // §6.2.1 literal with incremental indexing
        const [name, nameOctets] = this.literalName(reader, 6);
        const value = reader.string();
        fields.push([name, value.text]);
        this.add(name, value.text, nameOctets + value.octets + 32, nameOctets);
      } else if (first & 0x20) {
        // §6.3 dynamic table size update: §4.2 allows it only before the first field.
        if (fields.length > 0) {
          throw new HpackError('HPACK: a table size update comes after a header field');
        }
        const size = reader.integer(5);
        if (size > this.maxTableSize) {
          throw new HpackError(
            `HPACK: table size update to ${size} is above the maximum ${this.maxTableSize}`,
          );
        }
        this.capacity = size;
        this.evict(0);
      } else {
        // §6.2.2 without indexing (0000) and §6.2.3 never indexed (0001): the same to a decoder.
        const [name] = this.literalName(reader, 4);
        fields.push([name, reader.string().text]);
      }
    }
    return fields;
  }

  /** The [name, value] at an index of the whole index space (§2.3.3). */
  private entry(index: number): readonly [string, string] {
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
    const dynamic = this.dynamicEntry(index);
    return [dynamic.name, dynamic.value];
  }

  /** The dynamic entry at an index above the static table's: 62 is the newest (§2.3.3). */
  private dynamicEntry(index: number): DynamicEntry {
    const entry = this.entries[this.entries.length - (index - STATIC_TABLE.length)];
    if (!entry) throw new HpackError(`HPACK: index ${index} is not in the table`);
    return entry;
  }

  /** A literal's name: an index into the table (its octets counted), or 0 and a string. */
  private literalName(reader: BlockReader, prefixBits: number): [string, number] {
    const index = reader.integer(prefixBits);
    if (index === 0) {
      const name = reader.string();
      return [name.text, name.octets];
    }
    if (index <= STATIC_TABLE.length) {
      const name = STATIC_TABLE[index - 1]![0];
      return [name, name.length]; // static names are ASCII
    }
    const dynamic = this.dynamicEntry(index);
    return [dynamic.name, dynamic.nameOctets];
  }

  /** Add an entry (§4.4): evict until it fits; one larger than the whole table empties it. */
  private add(name: string, value: string, size: number, nameOctets: number): void {
    if (size > this.capacity) {
      this.evict(this.capacity);
      return;
    }
    this.evict(size);
    this.entries.push({ name, value, nameOctets, size });
    this.size += size;
  }

  /** Evict the oldest entries until `room` more octets fit in the table. */
  private evict(room: number): void {
    let oldest = 0;
    while (this.size + room > this.capacity) this.size -= this.entries[oldest++]!.size;
    if (oldest > 0) this.entries.splice(0, oldest);
  }
}

/** Appends an integer with an N-bit prefix (§5.1); `flags` are the first octet's other bits. */
function pushInteger(out: number[], value: number, prefixBits: number, flags: number): void {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) {
    out.push(flags | value);
    return;
  }
  out.push(flags | mask);
  value -= mask;
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

/** Appends a string literal, not Huffman-coded (H = 0). */
function pushString(out: number[], text: string): void {
  const octets = Buffer.from(text, 'utf8');
  pushInteger(out, octets.length, 7, 0);
  for (const octet of octets) out.push(octet);
}

/**
 * Encode request headers: an exact static-table match as one indexed byte, anything else as a
 * literal without indexing (its name indexed when the static table has it), strings not
 * Huffman-coded. It never touches a dynamic table, so it needs no state.
 */
export function encodeHeaderBlock(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    // A linear search: 61 entries and a handful of headers cost less than building a map.
    let nameIndex = 0;
    let fieldIndex = 0;
    for (let i = 0; i < STATIC_TABLE.length; i += 1) {
      const [staticName, staticValue] = STATIC_TABLE[i]!;
      if (staticName !== name) continue;
      if (staticValue === value) {
        fieldIndex = i + 1;
        break;
      }
      if (nameIndex === 0) nameIndex = i + 1;
    }
    if (fieldIndex > 0) {
      pushInteger(out, fieldIndex, 7, 0x80); // §6.1
      continue;
    }
    // §6.2.2 literal without indexing: the server's table, and so ours, stays empty.
    pushInteger(out, nameIndex, 4, 0x00);
    if (nameIndex === 0) pushString(out, name);
    pushString(out, value);
  }
  return Buffer.from(out);
}
