import {
  parseCapacityArg,
  parsePersistentCapacityArg,
  parseSize,
  roundToGranularity,
} from '../../../src/directives';

const KiB = 1024n;
const MiB = KiB ** 2n;
const GiB = KiB ** 3n;
const TiB = KiB ** 4n;
const PiB = KiB ** 5n;

describe('parseSize', () => {
  it.each([
    ['4096', 4096n],
    ['2K', 2n * KiB],
    ['2k', 2n * KiB],
    ['2KiB', 2n * KiB],
    ['2kib', 2n * KiB],
    ['2KB', 2000n],
    ['2kb', 2000n],
    ['3M', 3n * MiB],
    ['3MiB', 3n * MiB],
    ['3mib', 3n * MiB],
    ['3MB', 3_000_000n],
    ['3Mb', 3_000_000n],
    ['5G', 5n * GiB],
    ['5g', 5n * GiB],
    ['5GiB', 5n * GiB],
    ['5GIB', 5n * GiB],
    ['5GB', 5_000_000_000n],
    ['5gb', 5_000_000_000n],
    ['7T', 7n * TiB],
    ['7TiB', 7n * TiB],
    ['7tib', 7n * TiB],
    ['7TB', 7n * 1000n ** 4n],
    ['7tb', 7n * 1000n ** 4n],
    ['2P', 2n * PiB],
    ['2PiB', 2n * PiB],
    ['2pib', 2n * PiB],
    ['2PB', 2n * 1000n ** 5n],
    ['2pB', 2n * 1000n ** 5n],
    ['007GiB', 7n * GiB],
  ])('reads %s as %s bytes', (text, bytes) => {
    expect(parseSize(text)).toEqual({ ok: true, value: { kind: 'bytes', bytes } });
  });

  it.each([['4N'], ['4n'], ['4node'], ['4NODES'], ['4Nodes']])(
    'reads %s as a count of 4 nodes',
    (text) => {
      expect(parseSize(text)).toEqual({ ok: true, value: { kind: 'nodes', count: 4 } });
    },
  );

  it.each([
    ['3.5TB', 'use 3500GB'],
    ['1.5TiB', 'use 1536GiB'],
    ['0.5GiB', 'use 512MiB'],
    ['3.5T', 'use 3584GiB'],
    ['2.0GiB', 'use 2GiB'],
    ['.25KiB', 'use 256'],
    ['1.5', 'use a whole number of bytes such as 2'],
    ['1.0001KB', 'use a whole number of bytes such as 1001'],
    ['1.5N', 'node counts must be whole numbers'],
    ['0.0GiB', 'sizes must be greater than 0'],
  ])('rejects the fraction %s and suggests: %s', (text, hint) => {
    expect(parseSize(text)).toEqual({
      ok: false,
      code: 'fractional_size',
      message: `fractional sizes are not supported; ${hint}`,
    });
  });

  it.each([['10X'], ['10B'], ['10Kib2'], ['1e3GB'], ['10 GiB'], ['5GiBs']])(
    'rejects the unknown unit in %s and lists the accepted ones',
    (text) => {
      const result = parseSize(text);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.code).toBe('unknown_size_unit');
      expect(result.message).toContain(
        'use K, KiB, KB, M, MiB, MB, G, GiB, GB, T, TiB, TB, P, PiB, PB',
      );
    },
  );

  it.each([
    ['', 'bad_size', 'empty size'],
    ['-1GiB', 'bad_size', 'negative sizes are not allowed'],
    ['GiB', 'bad_size', 'not a size; write a whole number and a unit, such as 100GiB'],
    ['abc', 'bad_size', 'not a size; write a whole number and a unit, such as 100GiB'],
    ['0', 'zero_size', 'size must be greater than 0'],
    ['0GiB', 'zero_size', 'size must be greater than 0'],
    ['0N', 'zero_size', 'size must be greater than 0'],
    ['16384PiB', 'bad_size', 'size is too large (the limit is 16 EiB)'],
  ])('rejects %p with %s', (text, code, message) => {
    expect(parseSize(text)).toEqual({ ok: false, code, message });
  });

  it.each([['10\u212a'], ['1\u212aiB'], ['1\u212ab'], ['2\uff2b']])(
    'refuses the unit of %p, a letter that only looks like an ASCII one',
    (text) => {
      // toLowerCase() maps U+212A KELVIN SIGN to "k": Slurm would read these as bytes.
      const result = parseSize(text);
      expect(result).toMatchObject({ ok: false, code: 'unknown_size_unit' });
      expect(result.ok ? '' : result.message).toContain('(units are ASCII letters)');
      expect(parseCapacityArg(`p:${text}`).ok).toBe(false);
    },
  );

  it('refuses a fraction past 16 EiB without suggesting a size that is refused too', () => {
    expect(parseSize('100000000.5TiB')).toEqual({
      ok: false,
      code: 'fractional_size',
      message:
        'fractional sizes are not supported, and the size is too large (the limit is 16 EiB)',
    });
  });

  it.each([
    ['1'.repeat(65), 'a whole number'],
    [`1.${'5'.repeat(1_000_000)}GiB`, 'a fraction'],
    [`${'0'.repeat(64)}1`, 'leading zeros'],
  ])('refuses more than 64 digits (%#: %s) without doing arithmetic on them', (text) => {
    expect(parseSize(text)).toEqual({
      ok: false,
      code: 'bad_size',
      message: 'sizes are limited to 64 digits',
    });
  });

  it('accepts zero when allowZero is set', () => {
    expect(parseSize('0', { allowZero: true })).toEqual({
      ok: true,
      value: { kind: 'bytes', bytes: 0n },
    });
  });

  it('accepts the largest uint64 byte count', () => {
    expect(parseSize('18446744073709551615')).toEqual({
      ok: true,
      value: { kind: 'bytes', bytes: 2n ** 64n - 1n },
    });
  });
});

describe('parseCapacityArg', () => {
  it.each([
    ['wlm_pool:2GiB', 'wlm_pool', { kind: 'bytes', bytes: 2n * GiB }],
    ['alt_pool:1040MiB', 'alt_pool', { kind: 'bytes', bytes: 1040n * MiB }],
    ['wlm_pool:0', 'wlm_pool', { kind: 'bytes', bytes: 0n }],
    ['p:4N', 'p', { kind: 'nodes', count: 4 }],
    ['p:1500000001', 'p', { kind: 'bytes', bytes: 1500000001n }],
    ['p:3PiB', 'p', { kind: 'bytes', bytes: 3n * PiB }],
    ['p:3PB', 'p', { kind: 'bytes', bytes: 3n * 1000n ** 5n }],
    ['p:3TiB', 'p', { kind: 'bytes', bytes: 3n * TiB }],
    ['p:3TB', 'p', { kind: 'bytes', bytes: 3n * 1000n ** 4n }],
    ['p:3GB', 'p', { kind: 'bytes', bytes: 3n * 1000n ** 3n }],
    ['p:3MB', 'p', { kind: 'bytes', bytes: 3n * 1000n ** 2n }],
    ['p:3KiB', 'p', { kind: 'bytes', bytes: 3n * KiB }],
    ['p:3KB', 'p', { kind: 'bytes', bytes: 3000n }],
    ['pool-1.fast:1GiB', 'pool-1.fast', { kind: 'bytes', bytes: GiB }],
  ])('parses --capacity %s', (text, pool, size) => {
    expect(parseCapacityArg(text)).toEqual({ ok: true, value: { pool, size } });
  });

  it.each([
    ['2GiB', 'capacity "2GiB" is not of the form <pool>:<size>'],
    [':2GiB', 'capacity ":2GiB": the pool name is empty'],
    ['a:b:2GiB', 'capacity "a:b:2GiB" has more than one ":"; pool names cannot contain ":"'],
    [
      'wlm pool:2GiB',
      'capacity "wlm pool:2GiB": pool names cannot contain spaces or control characters',
    ],
    ['p:', 'capacity "p:": empty size'],
    ['p:1.5GiB', 'capacity "p:1.5GiB": fractional sizes are not supported; use 1536MiB'],
  ])('rejects --capacity %p', (text, message) => {
    expect(parseCapacityArg(text)).toEqual({ ok: false, message });
  });
});

describe('parsePersistentCapacityArg', () => {
  it('parses create_persistent -C <pool>:<raw bytes>', () => {
    expect(parsePersistentCapacityArg('wlm_pool:1073741824')).toEqual({
      ok: true,
      value: { pool: 'wlm_pool', bytes: GiB },
    });
  });

  it.each([
    [
      'wlm_pool:1GiB',
      'capacity "wlm_pool:1GiB": expected <pool>:<bytes> with a whole number of bytes',
    ],
    ['wlm_pool:0', 'capacity "wlm_pool:0": size must be greater than 0'],
    ['1073741824', 'capacity "1073741824" is not of the form <pool>:<size>'],
  ])('rejects -C %p', (text, message) => {
    expect(parsePersistentCapacityArg(text)).toEqual({ ok: false, message });
  });
});

describe('roundToGranularity', () => {
  it.each([
    [1500n * 1000n * 1000n, GiB, 2n * GiB],
    [GiB, GiB, GiB],
    [GiB + 1n, GiB, 2n * GiB],
    [0n, GiB, 0n],
    [1n, 1n, 1n],
  ])('rounds %s bytes up to whole granules of %s: %s', (bytes, granularity, rounded) => {
    expect(roundToGranularity(bytes, granularity)).toBe(rounded);
  });

  it('rejects a zero granularity', () => {
    expect(() => roundToGranularity(1n, 0n)).toThrow(RangeError);
  });
});
