/**
 * The whole pipeline for `job_process`: extract directive lines as Slurm does, parse each one,
 * then check the job as a whole. Pure: no I/O, so it fits the 200 ms budget easily.
 */
import type { DirectiveIssue } from './issues';
import { extractDirectiveLines } from './job-script';
import { parseDirectiveLine } from './parse';
import type { Directive } from './types';
import { validateDirectives, type PoolOptions } from './validate';

/** Options for {@link parseJobScript}; see {@link PoolOptions}. Default: no pool checks. */
export type ParseJobScriptOptions = PoolOptions;

/** A job script's directives and all of its problems; any issue means the job is rejected. */
export interface ParsedJobScript {
  /** Every valid directive, in script order (repeated `persistentdw` lines appear once). */
  directives: Directive[];
  /** Every problem, ordered by line. Empty when the script is valid. */
  issues: DirectiveIssue[];
}

/**
 * Parse and validate the directives of a job script (the `--job` file, already decoded as
 * UTF-8). A script with no directives gives an empty list; deciding whether that is an error
 * is the caller's business.
 */
export function parseJobScript(
  script: string,
  options: ParseJobScriptOptions = {},
): ParsedJobScript {
  const extracted = extractDirectiveLines(script);
  const parsed = extracted.lines.map(parseDirectiveLine);
  const checked = validateDirectives(parsed, options);
  const issues = [...extracted.issues, ...checked.issues].sort((a, b) => a.line - b.line);
  return { directives: checked.directives, issues };
}
