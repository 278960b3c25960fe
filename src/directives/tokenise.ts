/**
 * Split a directive into its command, `key=value` options and bare words (contract §5.1).
 * Splitting is on runs of ASCII whitespace, so a double space never yields an empty token
 * (data-acc bug §5.6.1), and every malformed token becomes an issue instead of being dropped.
 */
import { describeOption, directiveLabel, echo, type DirectiveIssue } from './issues';
import type { DirectiveLine } from './job-script';

/** A tokenised directive. */
export interface DirectiveTokens {
  line: number;
  prefix: DirectiveLine['prefix'];
  /** The command word, case-sensitive; `''` if the line has none. */
  command: string;
  /** `#DW jobdw`, for messages. */
  label: string;
  /** Options by lower-cased key, first occurrence only; values may be empty (already reported). */
  options: Map<string, string>;
  /** Words without `=`, in order. */
  bareWords: string[];
}

const WHITESPACE = /[ \t\n\v\f\r]+/;

/** Tokenise one logical directive line, reporting malformed, empty and duplicate options. */
export function tokeniseDirective(directive: DirectiveLine): {
  tokens: DirectiveTokens;
  issues: DirectiveIssue[];
} {
  const words = directive.text.split(WHITESPACE).filter((word) => word !== '');
  const command = words[0] ?? '';
  const label = directiveLabel(directive.prefix, command);
  const tokens: DirectiveTokens = {
    line: directive.line,
    prefix: directive.prefix,
    command,
    label,
    options: new Map(),
    bareWords: [],
  };
  const issues: DirectiveIssue[] = [];
  const report = (code: DirectiveIssue['code'], message: string): void => {
    issues.push({ line: directive.line, directive: label, code, message });
  };

  for (const word of words.slice(1)) {
    const equals = word.indexOf('=');
    if (equals < 0) {
      tokens.bareWords.push(word);
      continue;
    }
    if (equals === 0) {
      report('malformed_option', `"${echo(word)}" has no option name before "="`);
      continue;
    }
    const key = word.slice(0, equals).toLowerCase();
    const value = word.slice(equals + 1);
    if (tokens.options.has(key)) {
      report(
        'duplicate_key',
        `${describeOption(key, value)}: "${echo(key)}" is given more than once`,
      );
      continue;
    }
    tokens.options.set(key, value);
    if (value === '') report('empty_value', `${echo(key)}= has no value`);
  }
  return { tokens, issues };
}
