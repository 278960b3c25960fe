/**
 * Human-readable byte counts, for messages and tables. Byte counts are `bigint` throughout the
 * domain: pools of thousands of bricks exceed 2^53 bytes.
 */

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;

/**
 * Format bytes with binary units and at most one decimal, trimming `.0`:
 * `1717986918400n` → `1.6 TiB`, `1073741824n` → `1 GiB`, `512n` → `512 B`.
 * Rounds to nearest tenth (half up) in exact integer arithmetic.
 */
export function formatBytes(bytes: bigint | number): string {
  let value = typeof bytes === 'bigint' ? bytes : BigInt(Math.round(bytes));
  const negative = value < 0n;
  if (negative) value = -value;
  let unit = 0;
  let divisor = 1n;
  while (unit < BINARY_UNITS.length - 1 && value >= divisor * 1024n) {
    divisor *= 1024n;
    unit += 1;
  }
  // tenths, rounded half up
  let tenths = (value * 10n + divisor / 2n) / divisor;
  if (tenths >= 10240n && unit < BINARY_UNITS.length - 1) {
    // rounding carried into the next unit (e.g. 1023.96 KiB)
    unit += 1;
    tenths = (tenths + 512n) / 1024n;
  }
  const whole = tenths / 10n;
  const frac = tenths % 10n;
  const text = frac === 0n ? `${whole}` : `${whole}.${frac}`;
  return `${negative ? '-' : ''}${text} ${BINARY_UNITS[unit]}`;
}

/** Integer ceiling division of non-negative bigints. */
export function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new RangeError('ceilDiv: denominator must be positive');
  return (numerator + denominator - 1n) / denominator;
}
