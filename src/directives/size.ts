/**
 * Sizes as Slurm reads them (contract §5.3): a decimal integer, then a case-insensitive unit.
 * Unlike Slurm, which reads `1.5TiB` as 1 byte and `10X` as 10 bytes, we reject what Slurm
 * would silently misread, so a user never gets one granule instead of the space they asked for.
 */
import { ceilDiv } from '../units/bytes';
import { echo } from './issues';

/** A parsed size: bytes, or a node count (`4N`, `2nodes`). */
export type ParsedSize = { kind: 'bytes'; bytes: bigint } | { kind: 'nodes'; count: number };

/** The issue codes a size can produce. */
export type SizeIssueCode = 'bad_size' | 'fractional_size' | 'unknown_size_unit' | 'zero_size';

/** The result of {@link parseSize}: a size, or a code and a message (without the option name). */
export type SizeResult =
  { ok: true; value: ParsedSize } | { ok: false; code: SizeIssueCode; message: string };

/** Options for {@link parseSize}. */
export interface ParseSizeOptions {
  /** Accept `0` (setup's `--capacity pool:0` means no job buffer). Default false. */
  allowZero?: boolean;
}

/** A unit's canonical spelling and its multiplier. */
interface Unit {
  name: string;
  multiplier: bigint;
}

const KI = 1024n;
const K = 1000n;
const BYTES: Unit = { name: '', multiplier: 1n };
const BINARY: readonly Unit[] = [
  { name: 'PiB', multiplier: KI ** 5n },
  { name: 'TiB', multiplier: KI ** 4n },
  { name: 'GiB', multiplier: KI ** 3n },
  { name: 'MiB', multiplier: KI ** 2n },
  { name: 'KiB', multiplier: KI },
  BYTES,
];
const DECIMAL: readonly Unit[] = [
  { name: 'PB', multiplier: K ** 5n },
  { name: 'TB', multiplier: K ** 4n },
  { name: 'GB', multiplier: K ** 3n },
  { name: 'MB', multiplier: K ** 2n },
  { name: 'KB', multiplier: K },
  BYTES,
];

/** Lower-cased suffix → the unit family and the position of the unit in it. */
const SUFFIXES = new Map<string, { family: readonly Unit[]; index: number }>([
  ['', { family: BINARY, index: 5 }],
  ...['p', 't', 'g', 'm', 'k'].flatMap((letter, index) => [
    [letter, { family: BINARY, index }] as const,
    [`${letter}ib`, { family: BINARY, index }] as const,
    [`${letter}b`, { family: DECIMAL, index }] as const,
  ]),
]);
const NODE_SUFFIXES = new Set(['n', 'node', 'nodes']);

/** Slurm keeps sizes in a uint64. */
const MAX_BYTES = 2n ** 64n - 1n;

/** The units accepted, for messages. */
export const ACCEPTED_SIZE_UNITS =
  'K, KiB, KB, M, MiB, MB, G, GiB, GB, T, TiB, TB, P, PiB, PB (any case), N for nodes, or none for bytes';

const SIZE_SHAPE = /^(\d*)(?:\.(\d*))?(.*)$/s;

/**
 * Digits of a size, whole and fraction together, beyond which it is refused unread: 2^64 has
 * 20, and BigInt arithmetic on a megabyte of digits takes seconds.
 */
const MAX_SIZE_DIGITS = 64;

/**
 * Parse one size token strictly: whole numbers only, known units only, greater than zero
 * unless `allowZero`. Never throws.
 */
export function parseSize(text: string, options: ParseSizeOptions = {}): SizeResult {
  if (text === '') return { ok: false, code: 'bad_size', message: 'empty size' };
  if (text.startsWith('-')) {
    return { ok: false, code: 'bad_size', message: 'negative sizes are not allowed' };
  }
  const match = SIZE_SHAPE.exec(text);
  const whole = match?.[1] ?? '';
  const fraction = match?.[2];
  const suffix = match?.[3] ?? '';
  if (whole === '' && (fraction === undefined || fraction === '')) {
    return {
      ok: false,
      code: 'bad_size',
      message: 'not a size; write a whole number and a unit, such as 100GiB',
    };
  }
  // ASCII letters only: toLowerCase() turns U+212A KELVIN SIGN into "k", a unit Slurm never sees.
  const lowered = suffix.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
  const unit = SUFFIXES.get(lowered);
  const nodes = NODE_SUFFIXES.has(lowered);
  if (unit === undefined && !nodes) {
    const note = /^[\x20-\x7e]*$/.test(suffix) ? '' : ' (units are ASCII letters)';
    return {
      ok: false,
      code: 'unknown_size_unit',
      message: `unknown unit "${echo(suffix)}"${note}; use ${ACCEPTED_SIZE_UNITS}`,
    };
  }
  if (whole.length + (fraction?.length ?? 0) > MAX_SIZE_DIGITS) {
    return {
      ok: false,
      code: 'bad_size',
      message: `sizes are limited to ${MAX_SIZE_DIGITS} digits`,
    };
  }
  if (fraction !== undefined) {
    return { ok: false, code: 'fractional_size', message: fractionMessage(whole, fraction, unit) };
  }
  const value = BigInt(whole);
  if (value === 0n && options.allowZero !== true) {
    return { ok: false, code: 'zero_size', message: 'size must be greater than 0' };
  }
  if (unit === undefined) {
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      return { ok: false, code: 'bad_size', message: 'node count is too large' };
    }
    return { ok: true, value: { kind: 'nodes', count: Number(value) } };
  }
  const bytes = value * (unit.family[unit.index] ?? BYTES).multiplier;
  if (bytes > MAX_BYTES) {
    return { ok: false, code: 'bad_size', message: 'size is too large (the limit is 16 EiB)' };
  }
  return { ok: true, value: { kind: 'bytes', bytes } };
}

/** Suggest the same size as a whole number in the largest unit of the same family that fits. */
function fractionMessage(
  whole: string,
  fraction: string,
  unit: { family: readonly Unit[]; index: number } | undefined,
): string {
  const prefix = 'fractional sizes are not supported';
  if (unit === undefined) return `${prefix}; node counts must be whole numbers`;
  const denominator = 10n ** BigInt(fraction.length);
  const numerator = BigInt(whole === '' ? '0' : whole) * denominator + BigInt(fraction || '0');
  const scaled = numerator * (unit.family[unit.index] ?? BYTES).multiplier;
  // No replacement fits: the size is past the limit, fraction or not.
  if (ceilDiv(scaled, denominator) > MAX_BYTES) {
    return `${prefix}, and the size is too large (the limit is 16 EiB)`;
  }
  for (const candidate of unit.family.slice(unit.index)) {
    const divisor = denominator * candidate.multiplier;
    if (scaled % divisor === 0n) {
      const count = scaled / divisor;
      if (count === 0n) return `${prefix}; sizes must be greater than 0`;
      return `${prefix}; use ${count}${candidate.name}`;
    }
  }
  return `${prefix}; use a whole number of bytes such as ${ceilDiv(scaled, denominator)}`;
}

/**
 * Round a byte count up to whole granules: ⌈bytes ÷ granularity⌉ × granularity, as Slurm does
 * for each `jobdw` line. Throws `RangeError` if granularity is not positive.
 */
export function roundToGranularity(bytes: bigint, granularity: bigint): bigint {
  return ceilDiv(bytes, granularity) * granularity;
}
