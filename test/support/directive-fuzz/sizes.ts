/**
 * Sizes for the directive fuzzers: counts in every unit and case, fractions, and text that is
 * nearly a size (signs, lookalike letters, hundreds of digits).
 */
import * as fc from 'fast-check';
import { anyCase, digits, GRAMMAR_CHARS, LOOKALIKES, TRICKY_CHARS } from './characters';

/** The largest byte count Slurm can hold (a uint64). */
export const MAX_BYTES = 2n ** 64n - 1n;

const KiB = 1024n;
const KB = 1000n;

/** Every byte unit a size may have, lower-cased, and its multiplier (contract §5.3). */
export const BYTE_UNITS: ReadonlyMap<string, bigint> = new Map([
  ['', 1n],
  ['k', KiB],
  ['kib', KiB],
  ['kb', KB],
  ['m', KiB ** 2n],
  ['mib', KiB ** 2n],
  ['mb', KB ** 2n],
  ['g', KiB ** 3n],
  ['gib', KiB ** 3n],
  ['gb', KB ** 3n],
  ['t', KiB ** 4n],
  ['tib', KiB ** 4n],
  ['tb', KB ** 4n],
  ['p', KiB ** 5n],
  ['pib', KiB ** 5n],
  ['pb', KB ** 5n],
]);

/** The units of a node count, lower-cased. */
export const NODE_UNITS: readonly string[] = ['n', 'node', 'nodes'];

/** A size written as a count and a unit, and what it stands for. */
export interface SizeCase {
  /** As a user writes it: `007GiB`, `3kB`, `1048576`, `4Nodes`. */
  text: string;
  /** The count times the unit; may be 0 or exceed {@link MAX_BYTES}. */
  expected: { kind: 'bytes'; bytes: bigint } | { kind: 'nodes'; count: bigint };
}

/** A count for `multiplier`: small, any, or next to the largest one that fits in a uint64. */
function countFor(multiplier: bigint): fc.Arbitrary<bigint> {
  const largest = MAX_BYTES / multiplier;
  return fc.oneof(
    fc.bigInt({ min: 0n, max: 4096n }),
    fc.bigInt({ min: 1n, max: largest }),
    fc.bigInt({ min: largest - 2n, max: largest + 2n }),
    fc.bigInt({ min: 0n, max: 2n ** 80n }),
  );
}

/** Any count in any unit, in random case, with up to three leading zeros. */
export const sizeCase: fc.Arbitrary<SizeCase> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .constantFrom(...BYTE_UNITS.entries())
      .chain(([unit, multiplier]) =>
        fc.tuple(fc.constant(multiplier), countFor(multiplier), anyCase(unit), fc.nat(3)),
      )
      .map(([multiplier, count, unit, zeros]) => ({
        text: `${'0'.repeat(zeros)}${count}${unit}`,
        expected: { kind: 'bytes' as const, bytes: count * multiplier },
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.oneof(fc.bigInt({ min: 0n, max: 100n }), fc.bigInt({ min: 0n, max: 2n ** 60n })),
        fc.constantFrom(...NODE_UNITS).chain(anyCase),
      )
      .map(([count, unit]) => ({
        text: `${count}${unit}`,
        expected: { kind: 'nodes' as const, count },
      })),
  },
);

/** A capacity a directive can ask for (1 byte to 16 EiB), written in a unit that divides it. */
export const capacityText: fc.Arbitrary<{ text: string; bytes: bigint }> = fc
  .constantFrom(...BYTE_UNITS.entries())
  .chain(([unit, multiplier]) =>
    fc.tuple(
      fc.constant(multiplier),
      fc.oneof(
        fc.bigInt({ min: 1n, max: 4096n }),
        fc.bigInt({ min: 1n, max: MAX_BYTES / multiplier }),
      ),
      anyCase(unit),
      fc.nat(2),
    ),
  )
  .map(([multiplier, count, unit, zeros]) => ({
    text: `${'0'.repeat(zeros)}${count}${unit}`,
    bytes: count * multiplier,
  }));

/** A size with a fraction, `<whole>.<fraction><unit>`, in a unit that exists. */
export interface FractionCase {
  whole: string;
  fraction: string;
  /** As written (random case). */
  unit: string;
  /** The unit's multiplier; undefined for a node count. */
  multiplier: bigint | undefined;
}

const FRACTION_UNITS: Array<[string, bigint | undefined]> = [
  ...BYTE_UNITS.entries(),
  ...NODE_UNITS.map((unit): [string, undefined] => [unit, undefined]),
];

export const fractionCase: fc.Arbitrary<FractionCase> = fc
  .record({
    whole: fc.oneof(digits(0, 3), digits(0, 24)),
    fraction: fc.oneof(digits(1, 3), digits(1, 30)),
    unit: fc.constantFrom(...FRACTION_UNITS),
  })
  .chain(({ whole, fraction, unit: [unit, multiplier] }) =>
    anyCase(unit).map((spelling) => ({ whole, fraction, unit: spelling, multiplier })),
  );

/** A unit with one letter swapped for a lookalike: `1\u212aiB` is not 1 KiB. */
const lookalikeUnit: fc.Arbitrary<string> = fc
  .constantFrom(...[...BYTE_UNITS.keys(), ...NODE_UNITS].filter((unit) => unit !== ''))
  .chain((unit) => fc.tuple(fc.constant(unit), fc.nat(unit.length - 1), fc.nat(2), fc.boolean()))
  .map(([unit, at, pick, upper]) => {
    const letter = unit[at] ?? '';
    const choices = LOOKALIKES[letter] ?? [letter];
    const swapped = choices[pick % choices.length] ?? letter;
    const text = upper ? unit.toUpperCase() : unit;
    return text.slice(0, at) + swapped + text.slice(at + 1);
  });

const unitLike: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...BYTE_UNITS.keys(), ...NODE_UNITS).chain(anyCase),
  lookalikeUnit,
  fc.string({
    unit: fc.constantFrom(...'kKiIbBmMgGtTpPnNodes', 'X', ' ', ...TRICKY_CHARS),
    maxLength: 5,
  }),
  fc.string({ unit: 'binary', maxLength: 4 }),
);

/** A fraction, a third of the time. */
function maybeFraction(minLength: number, maxLength: number): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: digits(minLength, maxLength) },
  );
}

/** Text that is, or is nearly, a size: what a fuzzer types into `capacity=`. */
export const sizeLikeText: fc.Arbitrary<string> = fc.oneof(
  sizeCase.map((size) => size.text),
  fc.tuple(digits(1, 6), lookalikeUnit).map(([count, unit]) => `${count}${unit}`),
  fc
    .tuple(
      fc.constantFrom('', '', '', '-', '+', ' ', '0x'),
      digits(0, 22),
      maybeFraction(0, 22),
      unitLike,
    )
    .map(
      ([sign, whole, fraction, unit]) =>
        `${sign}${whole}${fraction === undefined ? '' : `.${fraction}`}${unit}`,
    ),
  fc
    .tuple(digits(20, 600), maybeFraction(1, 300), unitLike)
    .map(
      ([whole, fraction, unit]) => `${whole}${fraction === undefined ? '' : `.${fraction}`}${unit}`,
    ),
  fc.string({
    unit: fc.constantFrom(...'0123456789.kKiIbBgGnN', ...GRAMMAR_CHARS, ...TRICKY_CHARS),
    maxLength: 12,
  }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
