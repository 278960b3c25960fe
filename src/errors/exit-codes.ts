/**
 * Exit codes of dacctl/dw_wlm_cli/dwstat (documented in docs/operations.md), and of dacd for the same
 * errors, from the error taxonomy (here, below both programs). Slurm only checks zero versus
 * non-zero; the distinctions are for operators and scripts.
 */
import { DacError } from './errors';

export const EXIT = {
  ok: 0,
  /** The request is wrong: bad directive, unknown name, conflict. */
  user: 1,
  /** Bad command line: unknown function, flag or value. */
  usage: 2,
  /** Try again later: etcd unreachable, pool full, deadline passed. */
  transient: 3,
  /** Needs an operator: bad configuration or a corrupted record. */
  fatal: 4,
  /** A bug: an error we did not expect. */
  internal: 70,
} as const;

/** Bad command line (unknown function or flag, missing value). */
export class UsageError extends DacError {
  readonly code = 'E_USAGE';
  readonly kind = 'user';
}

/** The exit code for an error. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof DacError) {
    return error.kind === 'user'
      ? EXIT.user
      : error.kind === 'transient'
        ? EXIT.transient
        : EXIT.fatal;
  }
  return EXIT.internal;
}

/** The one line shown to the user (Slurm puts it in the job's Reason). */
export function userMessage(error: unknown): string {
  const text =
    error instanceof DacError
      ? error.message
      : 'internal error in the burst buffer CLI; see its log for details';
  // One line, and no apostrophes: Slurm rewrites them into double quotes.
  return text.replace(/[\r\n]+/g, ' ').replace(/'/g, '`');
}
