/**
 * Job scripts for the parsers to survive: lines from the directive grammar (real commands with
 * their own keys and values good and bad, junk, lookalike Unicode, very long tokens, stray
 * `\`, CR and NUL), or valid scripts, then randomly corrupted; and any text at all.
 */
import * as fc from 'fast-check';
import { anyCase, GRAMMAR_CHARS, longToken, PROTOTYPE_NAMES, TRICKY_CHARS } from './characters';
import { ending, scriptCase } from './scripts';
import { sizeLikeText } from './sizes';
import { badName, modeOrType, persistentName, poolName, stagePath } from './values';

const junkWord: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.constantFrom(...GRAMMAR_CHARS, ...TRICKY_CHARS, 'a', 'B'), maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

const command: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'jobdw',
      'persistentdw',
      'stage_in',
      'stage_out',
      'create_persistent',
      'destroy_persistent',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('swap', 'use_persistent', '_LUA', '', 'JOBDW', 'jobdwx', 'stage'),
  },
  { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES) },
  { weight: 1, arbitrary: junkWord },
);

const key: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(
        'capacity',
        'access_mode',
        'access',
        'type',
        'pool',
        'name',
        'source',
        'destination',
      )
      .chain(anyCase),
  },
  { weight: 1, arbitrary: fc.constantFrom('', 'capcity', 'sorce', 'hurry', ...PROTOTYPE_NAMES) },
  { weight: 1, arbitrary: junkWord },
);

const value: fc.Arbitrary<string> = fc.oneof(
  sizeLikeText,
  stagePath,
  persistentName,
  badName,
  poolName,
  modeOrType,
  junkWord,
  longToken,
);

/** Values for `key`, good and bad, with now and then any value at all. */
function valueFor(optionKey: string): fc.Arbitrary<string> {
  const own = ((): fc.Arbitrary<string> => {
    switch (optionKey) {
      case 'capacity':
        return sizeLikeText;
      case 'name':
        return fc.oneof(persistentName, badName);
      case 'pool':
        return poolName;
      case 'source':
      case 'destination':
        return stagePath;
      default:
        return modeOrType;
    }
  })();
  return fc.oneof({ weight: 6, arbitrary: own }, { weight: 1, arbitrary: value });
}

/** Each command, with the keys it takes. */
const COMMAND_KEYS: ReadonlyArray<readonly [string, string, readonly string[]]> = [
  ['#DW', 'jobdw', ['capacity', 'access_mode', 'type', 'pool']],
  ['#DW', 'persistentdw', ['name']],
  ['#DW', 'stage_in', ['source', 'destination', 'type']],
  ['#DW', 'stage_out', ['source', 'destination', 'type']],
  ['#BB', 'create_persistent', ['name', 'capacity', 'access', 'access_mode', 'type', 'pool']],
  ['#BB', 'destroy_persistent', ['name', 'hurry']],
];

/**
 * A real command with some of its own keys (in any order and case), each with a value meant
 * for it, good or bad; now and then a repeated key or a stray word.
 */
const keyedLine: fc.Arbitrary<string> = fc
  .constantFrom(...COMMAND_KEYS)
  .chain(([prefix, name, keys]) =>
    fc.tuple(
      fc.constant(`${prefix} ${name}`),
      fc
        .shuffledSubarray([...keys, ...keys.slice(0, 1)], { minLength: 1 })
        .chain((chosen) =>
          fc.tuple(
            ...chosen.map((k) =>
              k === 'hurry'
                ? fc.constant('hurry')
                : fc.tuple(anyCase(k), valueFor(k)).map(([written, v]) => `${written}=${v}`),
            ),
          ),
        ),
    ),
  )
  .map(([head, options]) => [head, ...options].join(' '));

const word: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(key, value).map(([k, v]) => `${k}=${v}`) },
  { weight: 1, arbitrary: fc.constantFrom('hurry', 'hurry', '=', '==x', 'fast', '2GiB') },
  { weight: 1, arbitrary: junkWord },
  { weight: 1, arbitrary: longToken },
);

const fuzzSeparator = fc.string({
  unit: fc.constantFrom(' ', ' ', '\t', '\v', '\f', '\r', '\u00a0', '\u3000'),
  minLength: 1,
  maxLength: 3,
});

const directiveLikeLine: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('#DW', '#DW', '#DW', '#BB', '#BB', '#BB_LUA', '#dw', '# DW', '#DW_', '#B'),
    fc.option(fuzzSeparator, { nil: '' }),
    command,
    fc.array(fc.tuple(fuzzSeparator, word), { maxLength: 6 }),
    fc.constantFrom('', '', ' ', '\\', ' \\', '\r', '\\\r', ' \t'),
  )
  .map(
    ([prefix, lead, cmd, rest, end]) =>
      `${prefix}${lead}${cmd}${rest.map(([sep, w]) => `${sep}${w}`).join('')}${end}`,
  );

const otherLine = fc.constantFrom(
  '#!/bin/bash',
  '#SBATCH -N 2',
  '## notes',
  '#',
  '',
  '',
  ' ',
  'srun ./app',
  'echo $DW_JOB_STRIPED',
  '\r',
  '\t#DW jobdw capacity=1GiB',
);

/** One change to a script: insert text, delete some, or repeat a piece of it. */
type Mutation =
  | { kind: 'insert'; at: number; text: string; remove: number }
  | { kind: 'repeat'; at: number; length: number; times: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.constantFrom(...TRICKY_CHARS, ...GRAMMAR_CHARS),
      fc.constantFrom('#DW ', '\\\n', '\n#DW ', '\n#BB ', ' capacity=1GiB', ' name=p1', '\r\n'),
      fc.string({ unit: 'binary', maxLength: 3 }),
      longToken,
    ),
    remove: fc.nat(4),
  }),
  fc.record({
    kind: fc.constant('repeat' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 40 }),
    times: fc.integer({ min: 2, max: 4 }),
  }),
);

function mutate(text: string, change: Mutation): string {
  const at = change.at % (text.length + 1);
  if (change.kind === 'insert') {
    return text.slice(0, at) + change.text + text.slice(at + change.remove);
  }
  const piece = text.slice(at, at + change.length);
  return text.slice(0, at) + piece.repeat(change.times) + text.slice(at + change.length);
}

/**
 * A job script from the directive grammar (real commands, keys and values, sizes and paths
 * good and bad, junk, very long tokens), or a valid script; then up to four random changes.
 */
export const fuzzScript: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .tuple(
            fc.array(
              fc.oneof(
                { weight: 2, arbitrary: directiveLikeLine },
                { weight: 3, arbitrary: keyedLine },
                { weight: 1, arbitrary: otherLine },
              ),
              { maxLength: 16 },
            ),
            fc.constantFrom('\n', '\n', '\n', '\r\n'),
            ending,
          )
          .map(([lines, newline, end]) => lines.join(newline) + end),
      },
      { weight: 1, arbitrary: scriptCase.map((c) => c.script) },
    ),
    fc.array(mutation, { maxLength: 4 }),
  )
  .map(([script, changes]) => changes.reduce(mutate, script));

/** Any text at all: code points, the grammar's characters, or UTF-16 with lone surrogates. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({
    unit: fc.constantFrom(...GRAMMAR_CHARS, ...TRICKY_CHARS, ...'#DWB#DWB\n\njobdw capacity=1G'),
    maxLength: 300,
  }),
  fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
    maxLength: 100,
  }),
  fc
    .array(
      fc.oneof(
        fc.constantFrom('#DW ', '#BB ', '\n', '\\\n', '=', ' ', '\0', '\r'),
        fc.string({ unit: 'binary', maxLength: 6 }),
      ),
      { maxLength: 40 },
    )
    .map((pieces) => pieces.join('')),
);
