/**
 * What any parse of any job script must satisfy (issue 14: no crash, every rejection names its
 * line), and what formatIssues must give for any issues.
 */
import { strict as assert } from 'node:assert';
import * as fc from 'fast-check';
import {
  extractDirectiveLines,
  parseDirectiveLine,
  type Directive,
  type DirectiveIssue,
  type IssueCode,
} from '../../../src/directives';
import { show } from './characters';
import { anyText } from './corruption';
import type { DirectiveParsers } from './parsers';
import { MAX_BYTES } from './sizes';

/** Every issue code, so that an unknown one is caught (a missing key fails to compile). */
export const ISSUE_CODES: Record<IssueCode, true> = {
  carriage_return: true,
  unterminated_continuation: true,
  mixed_continuation: true,
  unknown_command: true,
  wrong_prefix: true,
  unsupported_bb_command: true,
  not_implemented: true,
  malformed_option: true,
  unexpected_argument: true,
  unknown_key: true,
  empty_value: true,
  duplicate_key: true,
  missing_option: true,
  bad_value: true,
  bad_size: true,
  fractional_size: true,
  unknown_size_unit: true,
  zero_size: true,
  bad_name: true,
  unsafe_path: true,
  path_escape: true,
  relative_path: true,
  bad_path: true,
  wrong_side: true,
  unknown_buffer: true,
  duplicate_directive: true,
  unknown_pool: true,
  exceeds_pool: true,
  exceeds_buffer_limit: true,
  too_much_staging: true,
};

export const CONTROL = /\p{Cc}/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const PERSISTENT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
export const POOL_NAME = /^[^\s:\p{Cc}]+$/u;
const SHELL_CHARACTERS = /[;&|`<>]|\$\(/;

/**
 * The longest one formatted issue may be: a label and up to two pieces of user text echoed
 * at 60 characters each, and a sentence. A message that grows with the input is a bug.
 */
export const MAX_FORMATTED_ISSUE = 400;

function checkStagePath(path: string, what: string): void {
  assert.ok(!CONTROL.test(path), `${what} has a control character: ${show(path)}`);
  assert.ok(!SHELL_CHARACTERS.test(path), `${what} has a shell character: ${show(path)}`);
  assert.ok(!path.split('/').includes('..'), `${what} has a ".." segment: ${show(path)}`);
  assert.ok(Buffer.byteLength(path) <= 4096, `${what} is longer than PATH_MAX`);
}

/**
 * A typed directive is what its type promises, and in an accepted script (`all` given) it
 * refers only to buffers the job has.
 */
function checkDirective(directive: Directive, all?: readonly Directive[]): void {
  const where = `the ${directive.kind} of line ${directive.line}`;
  switch (directive.kind) {
    case 'jobdw':
    case 'create_persistent':
      assert.ok(directive.capacityBytes >= 1n && directive.capacityBytes <= MAX_BYTES, where);
      if (directive.accessMode !== undefined) {
        assert.ok(['striped', 'private', 'striped,private'].includes(directive.accessMode), where);
      }
      if (directive.type !== undefined) assert.equal(directive.type, 'scratch', where);
      if (directive.pool !== undefined) assert.match(directive.pool, POOL_NAME, where);
      if (directive.kind === 'create_persistent') assert.match(directive.name, PERSISTENT_NAME);
      return;
    case 'persistentdw':
    case 'destroy_persistent':
      assert.match(directive.name, PERSISTENT_NAME, where);
      return;
    case 'stage_in':
    case 'stage_out': {
      assert.ok(['file', 'directory', 'list'].includes(directive.type), where);
      const [inBuffer, outside] =
        directive.kind === 'stage_in'
          ? [directive.destination, directive.source]
          : [directive.source, directive.destination];
      checkStagePath(inBuffer, where);
      checkStagePath(outside, where);
      assert.ok(outside.startsWith('/'), `${where}: ${show(outside)} is not absolute`);
      const buffer = directive.buffer;
      if (buffer.kind === 'job') {
        assert.match(inBuffer, /^\$DW_JOB_STRIPED(\/|$)/, where);
        if (all === undefined) return;
        const jobdw = all.find((d) => d.kind === 'jobdw');
        assert.ok(jobdw?.kind === 'jobdw' && jobdw.accessMode !== 'private', `${where}: no jobdw`);
      } else {
        assert.ok(inBuffer.startsWith(`$DW_PERSISTENT_STRIPED_${buffer.name}`), where);
        if (all === undefined) return;
        const named = all.some((d) => d.kind === 'persistentdw' && d.name === buffer.name);
        assert.ok(named, `${where}: no persistentdw name=${buffer.name}`);
      }
      return;
    }
  }
}

/** The issue's formatted text: names its line, bounded, one line, no apostrophe. */
export function checkFormattedIssue(parsers: DirectiveParsers, issue: DirectiveIssue): string {
  const text = parsers.formatIssues([issue]);
  assert.ok(
    text.startsWith(`line ${issue.line} (`),
    `formatted issue lacks its line: ${show(text)}`,
  );
  assert.ok(
    text.length <= MAX_FORMATTED_ISSUE,
    `formatted issue is ${text.length} characters long: ${show(text)}`,
  );
  return text;
}

/**
 * Everything a parse of any script must satisfy. Issues: in line order, each on the first
 * line of a directive (DirectiveIssue.line), with a known code, and formatted with that line
 * in bounded, well-formed text. Directives: in script order, valid, at most one jobdw. Every
 * directive line is accepted, rejected with an issue naming it, or a repeated persistentdw.
 * Text after a NUL changes nothing.
 */
export function checkParse(parsers: DirectiveParsers, script: string): void {
  const result = parsers.parseJobScript(script);
  const logical = extractDirectiveLines(script).lines;
  const firstLines = new Set(logical.map((line) => line.line));

  let previous = 0;
  for (const issue of result.issues) {
    const what = `issue ${issue.code} on line ${issue.line} (${show(issue.message)})`;
    assert.ok(issue.line >= previous, `${what} comes after line ${previous}`);
    previous = issue.line;
    assert.ok(firstLines.has(issue.line), `${what}: no directive starts on line ${issue.line}`);
    assert.ok(Object.hasOwn(ISSUE_CODES, issue.code), `${what}: unknown code`);
    assert.match(issue.directive, /^#(DW|BB)/, what);
    assert.ok(issue.message.length > 0, `${what}: empty message`);
    checkFormattedIssue(parsers, issue);
  }
  const formatted = parsers.formatIssues(result.issues, { maxIssues: Infinity });
  assert.equal(
    formatted,
    result.issues.map((issue) => parsers.formatIssues([issue])).join('; '),
    'formatIssues of all issues is not the formatted issues joined by "; "',
  );
  assert.ok(!CONTROL.test(formatted), `control character in ${show(formatted)}`);
  assert.ok(!formatted.includes("'"), `apostrophe in ${show(formatted)}`);
  if (!LONE_SURROGATE.test(script)) {
    assert.ok(!LONE_SURROGATE.test(formatted), `half a character in ${show(formatted)}`);
  }

  previous = 0;
  for (const directive of result.directives) {
    assert.ok(directive.line > previous, `directive of line ${directive.line} out of order`);
    previous = directive.line;
    assert.ok(firstLines.has(directive.line), `no directive starts on line ${directive.line}`);
    checkDirective(directive, result.issues.length === 0 ? result.directives : undefined);
  }
  assert.ok(result.directives.filter((d) => d.kind === 'jobdw').length <= 1, 'two jobdw');

  for (const line of logical) {
    if (result.directives.some((d) => d.line === line.line)) continue;
    if (result.issues.some((issue) => issue.line === line.line)) continue;
    const parsed = parseDirectiveLine(line).directive;
    const repeated =
      parsed?.kind === 'persistentdw' &&
      result.directives.some((d) => d.kind === 'persistentdw' && d.name === parsed.name);
    assert.ok(repeated, `line ${line.line} is neither accepted nor rejected: ${show(line.text)}`);
  }

  const beforeNul = script.split('\0', 1)[0] ?? '';
  assert.deepStrictEqual(
    parsers.parseJobScript(`${beforeNul}\0${script}`),
    result,
    'text after a NUL changed the result',
  );
}

/** Any issue, with the characters formatIssues must clean. */
export const issue: fc.Arbitrary<DirectiveIssue> = fc.record({
  line: fc.integer({ min: 1, max: 1_000_000 }),
  directive: fc.oneof(fc.constantFrom('#DW jobdw', '#BB create_persistent', '#DW'), anyText),
  code: fc.constantFrom(...(Object.keys(ISSUE_CODES) as IssueCode[])),
  message: fc.oneof(
    fc.constantFrom(
      "the user's buffer",
      'two\nlines',
      'a\u0000b\u007fc\u0085d',
      'and 3 more problems',
    ),
    anyText,
  ),
});

/** formatIssues spells out the first `maxIssues` (default 10), cleaned, and counts the rest. */
export function checkFormatIssues(
  parsers: DirectiveParsers,
  issues: readonly DirectiveIssue[],
  maxIssues: number | undefined,
): void {
  const text = parsers.formatIssues(issues, maxIssues === undefined ? {} : { maxIssues });
  const shown = Math.min(issues.length, maxIssues ?? 10);
  const clean = (piece: string): string => piece.replace(/\p{Cc}/gu, ' ').replace(/'/g, '"');
  const pieces = issues
    .slice(0, shown)
    .map(({ line, directive, message }) => clean(`line ${line} (${directive}): ${message}`));
  if (issues.length > shown) pieces.push(`and ${issues.length - shown} more problems`);
  assert.equal(text, pieces.join('; '));
  assert.ok(!CONTROL.test(text) && !text.includes("'"), `not one clean line: ${show(text)}`);
}
