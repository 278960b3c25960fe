/**
 * Directive problems, reported zod-style: every problem is one issue keyed on a stable `code`,
 * and a parse returns all of them at once so the job owner can fix the script in one pass.
 */

/** Stable machine-readable codes for directive problems. Control flow keys off these. */
export type IssueCode =
  | 'carriage_return'
  | 'unterminated_continuation'
  | 'mixed_continuation'
  | 'unknown_command'
  | 'wrong_prefix'
  | 'unsupported_bb_command'
  | 'not_implemented'
  | 'malformed_option'
  | 'unexpected_argument'
  | 'unknown_key'
  | 'empty_value'
  | 'duplicate_key'
  | 'missing_option'
  | 'bad_value'
  | 'bad_size'
  | 'fractional_size'
  | 'unknown_size_unit'
  | 'zero_size'
  | 'bad_name'
  | 'unsafe_path'
  | 'path_escape'
  | 'relative_path'
  | 'bad_path'
  | 'wrong_side'
  | 'unknown_buffer'
  | 'duplicate_directive'
  | 'unknown_pool'
  | 'exceeds_pool'
  | 'exceeds_buffer_limit'
  | 'too_much_staging';

/** One problem with one directive line. */
export interface DirectiveIssue {
  /** 1-based line number in the job script (the first line of a continued directive). */
  line: number;
  /** What the line is, for messages: `#DW jobdw`, `#BB create_persistent`. */
  directive: string;
  code: IssueCode;
  /** One line the job owner can act on. */
  message: string;
}

/** The result of a small pure check: a value, or one problem with a code and a message. */
export type CheckResult<T, C extends IssueCode = IssueCode> =
  { ok: true; value: T } | { ok: false; code: C; message: string };

/** Longest piece of user text echoed back in a message. */
const MAX_ECHO = 60;

/** Characters Slurm or a terminal would mangle: C0/C1 controls and DEL. */
const CONTROL_CHARS = /\p{Cc}/gu;

/** Shorten user text for a message (a 100 KB path must not become a 100 KB reason). */
export function echo(text: string): string {
  const clean = text.replace(CONTROL_CHARS, '?');
  if (clean.length <= MAX_ECHO) return clean;
  // Never keep half of a surrogate pair: written as UTF-8, it would become U+FFFD.
  const end = /[\uD800-\uDBFF]/.test(clean[MAX_ECHO - 1] ?? '') ? MAX_ECHO - 1 : MAX_ECHO;
  return `${clean.slice(0, end)}...`;
}

/** `key=value` as the user wrote it, shortened for a message. */
export function describeOption(key: string, value: string): string {
  return echo(`${key}=${value}`);
}

/** The label of a directive in messages: `#DW jobdw`, or just `#DW` when the command is missing. */
export function directiveLabel(prefix: string, command: string): string {
  return command === '' ? `#${prefix}` : `#${prefix} ${echo(command)}`;
}

/** Options for {@link formatIssues}. */
export interface FormatIssuesOptions {
  /** How many issues to spell out before summarising the rest (default 10). */
  maxIssues?: number;
}

/**
 * All issues as one line for Slurm to show the user: `line 3 (#DW jobdw): ...; line 5 ...`.
 * No newlines and no apostrophes, because Slurm puts the text in a reason field and rewrites `'`.
 */
export function formatIssues(
  issues: readonly DirectiveIssue[],
  options: FormatIssuesOptions = {},
): string {
  const max = options.maxIssues ?? 10;
  const shown = issues
    .slice(0, max)
    .map((issue) => `line ${issue.line} (${issue.directive}): ${issue.message}`);
  if (issues.length > max) shown.push(`and ${issues.length - max} more problems`);
  return shown.join('; ').replace(CONTROL_CHARS, ' ').replace(/'/g, '"');
}
