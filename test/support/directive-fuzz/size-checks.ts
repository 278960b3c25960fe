/**
 * What the size parsers must do: agree with a reference grammar on any text, read a size in
 * every unit, suggest usable replacements for fractions, and round up to whole granules.
 */
import { strict as assert } from 'node:assert';
import * as fc from 'fast-check';
import type { ParsedSize, SizeIssueCode } from '../../../src/directives';
import { show, TRICKY_CHARS } from './characters';
import { MAX_FORMATTED_ISSUE, POOL_NAME } from './parse-checks';
import type { DirectiveParsers } from './parsers';
import { BYTE_UNITS, MAX_BYTES, NODE_UNITS, type FractionCase, type SizeCase } from './sizes';
import { poolName } from './values';

const SIZE_ISSUE_CODES: readonly SizeIssueCode[] = [
  'bad_size',
  'fractional_size',
  'unknown_size_unit',
  'zero_size',
];

/** The longest a size's message may be. */
const MAX_SIZE_MESSAGE = 250;

/** Sizes are refused past this many digits (2^64 has 20), before any arithmetic. */
const MAX_SIZE_DIGITS = 64;

/**
 * What parseSize must accept, written as plainly as possible: ASCII digits, then an ASCII
 * unit of the contract in any case; greater than zero unless `allowZero`; at most 16 EiB, or
 * 2^53 - 1 nodes.
 */
function referenceSize(text: string, allowZero: boolean): ParsedSize | undefined {
  const match = /^([0-9]+)([A-Za-z]*)$/.exec(text);
  if (match === null) return undefined;
  const [, number = '', suffix = ''] = match;
  if (number.length > MAX_SIZE_DIGITS) return undefined;
  const count = BigInt(number);
  if (count === 0n && !allowZero) return undefined;
  const unit = suffix.toLowerCase();
  if (NODE_UNITS.includes(unit)) {
    return count <= BigInt(Number.MAX_SAFE_INTEGER)
      ? { kind: 'nodes', count: Number(count) }
      : undefined;
  }
  const multiplier = BYTE_UNITS.get(unit);
  if (multiplier === undefined || count * multiplier > MAX_BYTES) return undefined;
  return { kind: 'bytes', bytes: count * multiplier };
}

/** `<pool>:<rest>` split as the CLI must: at the only `:`, with a valid pool name. */
function referencePoolSplit(text: string): { pool: string; rest: string } | undefined {
  const parts = text.split(':');
  if (parts.length !== 2) return undefined;
  const [pool = '', rest = ''] = parts;
  return POOL_NAME.test(pool) ? { pool, rest } : undefined;
}

function checkSizeMessage(what: string, message: string, limit = MAX_SIZE_MESSAGE): void {
  assert.ok(message.length > 0, `${what}: empty message`);
  assert.ok(!message.includes('\n'), `${what}: message of more than one line`);
  assert.ok(message.length <= limit, `${what}: message of ${message.length} characters`);
}

/** parseSize and both capacity arguments agree with the reference, on any text. */
export function checkSizeText(parsers: DirectiveParsers, text: string, pool: string): void {
  for (const allowZero of [false, true]) {
    const result = parsers.parseSize(text, { allowZero });
    const expected = referenceSize(text, allowZero);
    const what = `parseSize(${show(text)}, { allowZero: ${allowZero} })`;
    if (expected !== undefined) {
      assert.deepStrictEqual(result, { ok: true, value: expected }, what);
    } else {
      assert.ok(!result.ok, `${what} accepted ${JSON.stringify(result, bigints)}`);
      assert.ok(SIZE_ISSUE_CODES.includes(result.code), `${what}: code ${result.code}`);
      checkSizeMessage(what, result.message);
    }
  }
  for (const argument of [text, `${pool}:${text}`]) {
    const split = referencePoolSplit(argument);
    const what = `parseCapacityArg(${show(argument)})`;
    const size = split && referenceSize(split.rest, true);
    const capacity = parsers.parseCapacityArg(argument);
    if (split !== undefined && size !== undefined) {
      assert.deepStrictEqual(capacity, { ok: true, value: { pool: split.pool, size } }, what);
    } else {
      assert.ok(!capacity.ok, `${what} accepted`);
      checkSizeMessage(what, capacity.message, MAX_FORMATTED_ISSUE);
    }
    const bytes =
      split && /^[0-9]+$/.test(split.rest) ? referenceSize(split.rest, false) : undefined;
    const persistent = parsers.parsePersistentCapacityArg(argument);
    const whatPersistent = `parsePersistentCapacityArg(${show(argument)})`;
    if (split !== undefined && bytes?.kind === 'bytes') {
      assert.deepStrictEqual(
        persistent,
        { ok: true, value: { pool: split.pool, bytes: bytes.bytes } },
        whatPersistent,
      );
    } else {
      assert.ok(!persistent.ok, `${whatPersistent} accepted`);
      checkSizeMessage(whatPersistent, persistent.message, MAX_FORMATTED_ISSUE);
    }
  }
}

/** JSON.stringify replacer for results holding bigints. */
function bigints(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}

/** A pool name from text: not empty, and none of `:`, whitespace or controls. */
export const poolLikeText = fc.oneof(
  poolName,
  fc.string({ unit: fc.constantFrom('a', ':', ' ', '\t', '\u00a0', '\u0085', ...TRICKY_CHARS) }),
);

/** A count in a unit parses to count × unit, in every unit that divides it, or is refused past the limits. */
export function checkSizeCase(
  parsers: DirectiveParsers,
  text: string,
  expected: SizeCase['expected'],
  pool: string,
): void {
  for (const allowZero of [false, true]) {
    const result = parsers.parseSize(text, { allowZero });
    const what = `parseSize(${show(text)}, { allowZero: ${allowZero} })`;
    const amount = expected.kind === 'bytes' ? expected.bytes : expected.count;
    const limit = expected.kind === 'bytes' ? MAX_BYTES : BigInt(Number.MAX_SAFE_INTEGER);
    if (amount === 0n && !allowZero) {
      assert.deepStrictEqual(result.ok ? 'accepted' : result.code, 'zero_size', what);
    } else if (amount > limit) {
      assert.deepStrictEqual(result.ok ? 'accepted' : result.code, 'bad_size', what);
    } else {
      const value: ParsedSize =
        expected.kind === 'bytes'
          ? { kind: 'bytes', bytes: expected.bytes }
          : { kind: 'nodes', count: Number(expected.count) };
      assert.deepStrictEqual(result, { ok: true, value }, what);
      assert.deepStrictEqual(parsers.parseCapacityArg(`${pool}:${text}`), {
        ok: true,
        value: { pool, size: value },
      });
    }
  }
  if (expected.kind !== 'bytes') return;
  const { bytes } = expected;
  const persistent = parsers.parsePersistentCapacityArg(`${pool}:${bytes}`);
  if (bytes >= 1n && bytes <= MAX_BYTES) {
    assert.deepStrictEqual(persistent, { ok: true, value: { pool, bytes } });
    // The same byte count in every unit that divides it.
    for (const [unit, multiplier] of BYTE_UNITS) {
      if (bytes % multiplier !== 0n) continue;
      for (const spelling of [unit, unit.toUpperCase()]) {
        const other = `${bytes / multiplier}${spelling}`;
        assert.deepStrictEqual(
          parsers.parseSize(other),
          { ok: true, value: { kind: 'bytes', bytes } },
          `parseSize(${show(other)})`,
        );
      }
    }
  } else {
    assert.ok(!persistent.ok, `parsePersistentCapacityArg accepted ${bytes} bytes`);
  }
}

/** Ceiling division of non-negative bigints, written differently from src/units/bytes.ts. */
function ceilingOf(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  return quotient * denominator === numerator ? quotient : quotient + 1n;
}

/** A fraction is refused with a replacement that parses to the same size, or none when it cannot fit. */
export function checkFraction(
  parsers: DirectiveParsers,
  { whole, fraction, unit, multiplier }: FractionCase,
): void {
  const text = `${whole}.${fraction}${unit}`;
  const result = parsers.parseSize(text);
  const what = `parseSize(${show(text)})`;
  assert.ok(!result.ok, `${what} accepted a fraction`);
  assert.equal(result.code, 'fractional_size', what);
  checkSizeMessage(what, result.message);
  assert.match(result.message, /^fractional sizes are not supported/, what);
  if (multiplier === undefined) {
    assert.match(result.message, /node counts must be whole numbers$/, what);
    return;
  }
  // The size times 10^digits, in bytes, exactly.
  const scale = 10n ** BigInt(fraction.length);
  const scaledBytes = (BigInt(whole === '' ? '0' : whole) * scale + BigInt(fraction)) * multiplier;
  if (scaledBytes === 0n) {
    assert.match(result.message, /sizes must be greater than 0$/, what);
    return;
  }
  const exact = /; use (\d+[A-Za-z]*)$/.exec(result.message)?.[1];
  const rounded = /; use a whole number of bytes such as (\d+)$/.exec(result.message)?.[1];
  const hint = exact ?? rounded;
  if (ceilingOf(scaledBytes, scale) > MAX_BYTES) {
    // No replacement can be right: the size itself is too large.
    assert.equal(hint, undefined, `${what} suggests ${hint}, which is too large`);
    assert.match(result.message, /too large/, what);
    return;
  }
  assert.ok(hint !== undefined, `${what} suggests no replacement: ${show(result.message)}`);
  const replacement = parsers.parseSize(hint);
  assert.ok(
    replacement.ok && replacement.value.kind === 'bytes',
    `${what} suggests ${hint}, refused`,
  );
  const bytes = replacement.value.bytes;
  if (exact !== undefined) {
    assert.equal(bytes * scale, scaledBytes, `${what} suggests ${hint}, a different size`);
  } else {
    assert.ok(scaledBytes % scale !== 0n, `${what} rounds a whole number of bytes`);
    assert.equal(bytes, ceilingOf(scaledBytes, scale), `${what} suggests ${hint}`);
  }
}

/** The least multiple of the granularity not below the size; a granularity of 0 or less throws. */
export function checkRounding(parsers: DirectiveParsers, bytes: bigint, granularity: bigint): void {
  if (granularity <= 0n) {
    assert.throws(() => parsers.roundToGranularity(bytes, granularity), RangeError);
    return;
  }
  const rounded = parsers.roundToGranularity(bytes, granularity);
  const what = `roundToGranularity(${bytes}n, ${granularity}n) = ${rounded}n`;
  assert.ok(rounded >= bytes, `${what} is below the size`);
  assert.equal(rounded % granularity, 0n, `${what} is not whole granules`);
  assert.ok(rounded - bytes < granularity, `${what} is a granule too many`);
  assert.equal(parsers.roundToGranularity(rounded, granularity), rounded, `${what} moves again`);
}
