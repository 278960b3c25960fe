/**
 * Extract directive lines from a job script exactly as Slurm does (contract §4.1, §4.2), so we
 * validate the same lines Slurm acts on: scan from the top, skip empty lines, stop at the first
 * line not starting with `#`, and join `\`-continued `#DW`/`#BB` lines.
 */
import { directiveLabel, type DirectiveIssue } from './issues';

/** The two directive prefixes. `#BB_LUA` counts as `BB`, as in Slurm. */
export type DirectivePrefix = 'DW' | 'BB';

/** One logical directive: a `#DW`/`#BB` line with its continuations joined. */
export interface DirectiveLine {
  /** 1-based number of the first physical line. */
  line: number;
  prefix: DirectivePrefix;
  /** Everything after the 3-character prefix, continuations joined, `\r` removed. */
  text: string;
}

/** Directive lines and the problems found while extracting them. */
export interface ExtractedDirectives {
  lines: DirectiveLine[];
  issues: DirectiveIssue[];
}

/** A logical line being assembled from continuations. */
interface Pending extends DirectiveLine {
  /** Set while the last physical line ended in `\`. */
  continues: boolean;
  /** The character before that `\` was a space: drop the continuation's leading spaces. */
  dropLeadingSpaces: boolean;
}

/** The first word of a directive's text, for labels in messages. */
export function commandWord(text: string): string {
  return text.trim().split(/[ \t\n\v\f\r]+/)[0] ?? '';
}

/**
 * Extract the directive lines of a job script. The text may end in NUL bytes (batch scripts)
 * or lack a final newline (interactive jobs); Slurm reads the script as a C string, so anything
 * after the first NUL is ignored.
 */
export function extractDirectiveLines(script: string): ExtractedDirectives {
  const nul = script.indexOf('\0');
  const text = nul < 0 ? script : script.slice(0, nul);
  const lines: DirectiveLine[] = [];
  const issues: DirectiveIssue[] = [];
  let pending: Pending | undefined;

  const label = (prefix: DirectivePrefix, body: string): string =>
    directiveLabel(prefix, commandWord(body));
  const flush = (): void => {
    if (pending === undefined) return;
    if (pending.continues) {
      issues.push({
        line: pending.line,
        directive: label(pending.prefix, pending.text),
        code: 'unterminated_continuation',
        message: `the directive ends with \\ but is not followed by another #${pending.prefix} line`,
      });
    }
    lines.push({ line: pending.line, prefix: pending.prefix, text: pending.text });
    pending = undefined;
  };

  const physical = text.split('\n');
  for (let index = 0; index < physical.length; index += 1) {
    const raw = physical[index] ?? '';
    const lineNumber = index + 1;
    if (raw === '') continue; // Slurm tokenises on "\n", which skips empty lines
    if (!raw.startsWith('#')) break; // a command, or a line of spaces, ends the directives
    const tag = raw.slice(1, 3);
    if (tag !== 'DW' && tag !== 'BB') {
      // #SBATCH, #! and other comments: skipped, but they end a continuation
      flush();
      continue;
    }
    const prefix: DirectivePrefix = tag;
    let body = raw.slice(3);
    if (body.includes('\r')) {
      // On a continuation, the issue belongs to the directive's first line, like all its others.
      const owner = pending?.prefix === prefix ? pending : undefined;
      const where = owner === undefined ? 'the line' : `its continuation on line ${lineNumber}`;
      issues.push({
        line: owner?.line ?? lineNumber,
        directive: label(prefix, owner?.text ?? body),
        code: 'carriage_return',
        message: body.endsWith('\r')
          ? `${where} ends with a carriage return (Windows line endings); convert the script with dos2unix`
          : `${where} contains a carriage return character; remove it`,
      });
      body = body.replace(/\r/g, '');
    }
    const continues = body.endsWith('\\');
    const dropLeadingSpaces = continues && body.at(-2) === ' ';
    if (continues) body = body.slice(0, -1);

    if (pending !== undefined && pending.continues && pending.prefix !== prefix) {
      issues.push({
        line: lineNumber,
        directive: label(pending.prefix, pending.text),
        code: 'mixed_continuation',
        message: `a #${pending.prefix} line (line ${pending.line}) cannot continue on a #${prefix} line`,
      });
      pending.continues = false;
      flush();
    }
    if (pending !== undefined && pending.continues) {
      pending.text += pending.dropLeadingSpaces ? body.replace(/^ +/, '') : body;
      pending.continues = continues;
      pending.dropLeadingSpaces = dropLeadingSpaces;
    } else {
      flush();
      pending = { line: lineNumber, prefix, text: body, continues, dropLeadingSpaces };
    }
    if (!continues) flush();
  }
  flush();
  return { lines, issues };
}
