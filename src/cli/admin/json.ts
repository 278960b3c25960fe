/**
 * The `--json` answers of the operators' commands: one document, two-space indented, with
 * byte counts as exact JSON integers. A pool of many bricks exceeds 2^53 bytes, where a
 * JavaScript number loses digits, so byte counts are bigints here and are written out digit
 * for digit (Python, jq 1.7 and Go read them exactly; JavaScript's JSON.parse rounds them).
 */

/** Marks a bigint while JSON.stringify runs; no string of ours starts with a NUL. */
const MARK = '\u0000bigint:';
const MARKED = /"\\u0000bigint:(-?[0-9]+)"/g;

export function jsonDocument(value: unknown): string {
  const text = JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === 'bigint' ? `${MARK}${v.toString()}` : v),
    2,
  );
  return text.replace(MARKED, '$1');
}
