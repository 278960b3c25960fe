/**
 * Option values for the directive fuzzers: persistent and pool names, stage paths on both sides
 * (and paths the checks refuse), access modes and types.
 */
import * as fc from 'fast-check';
import type { BufferRef } from '../../../src/directives';
import { VISIBLE_ASCII } from './characters';

/** A name `persistentdw` accepts: a letter, then up to 63 letters, digits and `_`. */
export const persistentName: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('p1', 'my_buf', 'A', 'scratch_2024') },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,63}$/) },
);

/** A pool name: no `:`, whitespace or control character, and not ending in `\`. */
export const poolName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('wlm_pool', 'alt_pool', 'pool-1.fast', 'default'),
  fc
    .string({
      unit: fc.constantFrom(...VISIBLE_ASCII.filter((c) => c !== ':'), 'é', '日', '😀', '\u200b'),
      minLength: 1,
      maxLength: 16,
    })
    .filter((name) => !name.endsWith('\\')),
);

/** Characters of a path segment the stage checks accept (no controls or shell characters). */
const PATH_CHARS = [
  ...VISIBLE_ASCII.filter((c) => !'/;&|`<>'.includes(c)),
  ...['é', '日', '😀', '\u00a0', '\u200b', '\u2028'],
];

const pathSegment: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 16, arbitrary: fc.string({ unit: fc.constantFrom(...PATH_CHARS), maxLength: 12 }) },
    { weight: 2, arbitrary: fc.constantFrom('.', '...', '%j', '%u_%x', 'données', '') },
    {
      weight: 1,
      arbitrary: fc.string({
        unit: fc.constantFrom('a', 'é', '😀'),
        minLength: 60,
        maxLength: 900,
      }),
    },
  )
  .filter((segment) => segment !== '..');

const relativePath: fc.Arbitrary<string> = fc
  .array(pathSegment, { minLength: 1, maxLength: 6 })
  .map((segments) => segments.join('/'));

/** What the stage checks accept, and what keeps a value intact on a directive line. */
function acceptablePath(path: string): boolean {
  return !path.includes('$(') && !path.endsWith('\\') && Buffer.byteLength(path, 'utf8') <= 4096;
}

/** An absolute file-system path the stage checks accept. */
export const filesystemPath: fc.Arbitrary<string> = relativePath
  .map((path) => `/${path}`)
  .filter(acceptablePath);

/** A path in `buffer`: `$DW_JOB_STRIPED[/...]` or `$DW_PERSISTENT_STRIPED_<name>[/...]`. */
export function bufferPath(buffer: BufferRef): fc.Arbitrary<string> {
  const root = buffer.kind === 'job' ? '$DW_JOB_STRIPED' : `$DW_PERSISTENT_STRIPED_${buffer.name}`;
  return fc
    .option(relativePath, { nil: undefined })
    .map((rest) => (rest === undefined ? root : `${root}/${rest}`))
    .filter(acceptablePath);
}

/** Paths the stage checks refuse, or that refer to a buffer the job may not have. */
export const badPath: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'data/in.txt',
    '~/in',
    '$HOME/in',
    '$DW_JOB_PRIVATE/in',
    '$DW_JOB_STRIPED/../../etc',
    '/home/../etc/passwd',
    '/a;rm',
    '/a/$(whoami)',
    '/a/`id`',
    '/a|b',
    '/a&b',
    '/a>b',
    '/a<b',
    '/a\u0001b',
    '/a\u0085b',
    '$DW_PERSISTENT_STRIPED_1bad/x',
    '$DW_PERSISTENT_STRIPED_/x',
    '$DW_JOB_STRIPEDx',
  ),
  persistentName.map((name) => `$DW_PERSISTENT_STRIPED_${name}/x`),
  fc
    .integer({ min: 60, max: 3000 })
    .map((length) => `$DW_PERSISTENT_STRIPED_p${'x'.repeat(length)}`),
  fc.integer({ min: 4000, max: 4200 }).map((length) => `/${'a'.repeat(length)}`),
);

/** Names persistentdw refuses. */
export const badName = fc.constantFrom('1abc', 'bad-name', 'café', 'buf_%j', `a${'b'.repeat(64)}`);
/** Every access mode and type, and some that do not exist. */
export const modeOrType = fc.constantFrom(
  'striped',
  'private',
  'striped,private',
  'private,striped',
  'ldbalance',
  'striped,ldbalance',
  'both',
  'scratch',
  'cache',
  'file',
  'directory',
  'list',
  'symlink',
  '',
);
/** Stage paths, good and bad. */
export const stagePath: fc.Arbitrary<string> = fc.oneof(
  filesystemPath,
  bufferPath({ kind: 'job' }),
  persistentName.chain((name) => bufferPath({ kind: 'persistent', name })),
  badPath,
);
