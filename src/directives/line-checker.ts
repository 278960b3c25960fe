/**
 * Per-line option reading for parse.ts: every option is read through a pure checker, and every
 * failure becomes an issue naming the option as the user wrote it.
 */
import { describeOption, echo, type CheckResult, type DirectiveIssue } from './issues';
import { parseSize } from './size';
import type { DirectiveTokens } from './tokenise';
import type { BufferRef } from './types';

/** A stage path that refers to a buffer, kept even when the line has other problems. */
export interface BufferReference {
  buffer: BufferRef;
  /** The option as written, for messages: `destination=$DW_JOB_STRIPED/in`. */
  option: string;
}

/** Collects the issues of one directive line and reads its options through checkers. */
export class LineChecker {
  readonly issues: DirectiveIssue[] = [];
  /** Set by stage lines whose buffer-side path is well-formed. */
  bufferReference: BufferReference | undefined;
  constructor(readonly tokens: DirectiveTokens) {}

  /** Record one problem with this line. */
  report(code: DirectiveIssue['code'], message: string): void {
    this.issues.push({ line: this.tokens.line, directive: this.tokens.label, code, message });
  }

  /** Report keys and bare words the command does not take. */
  checkKeys(allowed: readonly string[], allowedBare: readonly string[] = []): void {
    for (const key of this.tokens.options.keys()) {
      if (!allowed.includes(key)) {
        this.report('unknown_key', `unknown key "${echo(key)}"; expected ${allowed.join(', ')}`);
      }
    }
    for (const word of this.tokens.bareWords) {
      if (!allowedBare.includes(word)) {
        this.report(
          'unexpected_argument',
          `unexpected word "${echo(word)}"; write options as key=value`,
        );
      }
    }
  }

  /** Read an option through a checker; `undefined` when absent, empty or invalid. */
  read<T>(key: string, check: (value: string) => CheckResult<T>, required: boolean): T | undefined {
    const value = this.tokens.options.get(key);
    if (value === undefined) {
      if (required) this.report('missing_option', `${key}= is required`);
      return undefined;
    }
    if (value === '') return undefined; // reported by the tokeniser
    const result = check(value);
    if (result.ok) return result.value;
    this.report(result.code, `${describeOption(key, value)}: ${result.message}`);
    return undefined;
  }

  /** Read a size option that must be in bytes. */
  readBytes(key: string): bigint | undefined {
    return this.read(
      key,
      (value): CheckResult<bigint> => {
        const size = parseSize(value);
        if (!size.ok) return size;
        if (size.value.kind === 'nodes') {
          return {
            ok: false,
            code: 'not_implemented',
            message: 'capacity in nodes is not supported; give a size such as 100GiB',
          };
        }
        return { ok: true, value: size.value.bytes };
      },
      true,
    );
  }

  /** True once any option of this line has been reported. */
  get failed(): boolean {
    return this.issues.length > 0;
  }
}
