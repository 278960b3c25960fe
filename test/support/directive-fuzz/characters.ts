/**
 * Characters and words for the directive fuzzers: the grammar's characters, Unicode that has
 * fooled parsers like ours, lookalike letters, very long tokens, and how to show them in an
 * assertion message.
 */
import * as fc from 'fast-check';

/**
 * Characters that break parsers like ours: case-folding hazards (U+212A KELVIN SIGN
 * lower-cases to `k`, U+0130 to `i` and a combining dot), digits and spaces that are not
 * ASCII, a BOM, a zero-width space, NEL (a C1 control), DEL, a combining accent and a
 * character outside the BMP (a surrogate pair).
 */
export const TRICKY_CHARS: readonly string[] = [
  '\u212a',
  '\u017f',
  '\u0130',
  '\u0131',
  '\uff2b',
  '\u0663',
  '\uff13',
  '\u00b2',
  '\u00a0',
  '\u2028',
  '\u3000',
  '\ufeff',
  '\u200b',
  '\u0085',
  '\u007f',
  '\u0301',
  'é',
  '😀',
];

/** The characters the directive grammar gives a meaning to, and the shell metacharacters. */
export const GRAMMAR_CHARS: readonly string[] = [
  ...[' ', '\t', '\v', '\f', '\r', '\n', '\0', '\\', '=', ',', ':', '.', '-', '/', '_'],
  ...['$', '%', '#', ';', '&', '|', '`', '(', ')', '<', '>', '"', "'", '~'],
];

/**
 * Letters of the units and characters that look like them, or that case mapping turns into
 * them: U+212A KELVIN SIGN lower-cases to `k`, U+017F LATIN SMALL LETTER LONG S upper-cases to
 * `S`, U+0130 lower-cases to `i` and a combining dot.
 */
export const LOOKALIKES: Record<string, readonly string[]> = {
  k: ['\u212a', '\uff2b', '\u03ba'],
  i: ['\u0130', '\u0131', '\u0456'],
  b: ['\uff42', '\u0432'],
  g: ['\u0261', '\uff47'],
  m: ['\u217f', '\uff4d'],
  t: ['\u0442'],
  p: ['\u0440', '\u2118'],
  n: ['\u0578', '\uff4e'],
  o: ['\u03bf', '\u043e'],
  d: ['\u217e'],
  e: ['\u0435'],
  s: ['\u017f', '\u0455'],
};

/** Names an object literal used as a lookup table finds on Object.prototype. */
export const PROTOTYPE_NAMES = [
  'constructor',
  'toString',
  '__proto__',
  'hasOwnProperty',
  'valueOf',
];

/** Printable ASCII without the space. */
export const VISIBLE_ASCII = Array.from({ length: 0x7e - 0x20 }, (_, i) =>
  String.fromCharCode(0x21 + i),
);

/** `spelling` in random case. */
export function anyCase(spelling: string): fc.Arbitrary<string> {
  return fc.mixedCase(fc.constant(spelling));
}

/** ASCII digits, between `minLength` and `maxLength` of them. */
export function digits(minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...'0123456789'), minLength, maxLength });
}

/** A long run of one short piece, past every limit on echoed text (60 characters). */
export const longToken: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('x', '9', 'é', 'a😀', '/a', 'capacity=', '$DW_JOB_STRIPED/', '\\', ' '),
    fc.integer({ min: 30, max: 3000 }),
  )
  .map(([piece, count]) => piece.repeat(count));

/** User text for an assertion message: shortened, and anything but printable ASCII escaped. */
export function show(text: string): string {
  const short = text.length > 200 ? `${text.slice(0, 200)}...` : text;
  return JSON.stringify(short).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
