/**
 * The error taxonomy. Control flow keys off the class (or `code`), never the message.
 *
 * Every error carries:
 * - `message`: one line the job owner or operator can act on (Slurm shows it to them);
 * - `detail`: internal detail for the log only;
 * - `kind`: whose fault it is: `user` (bad request), `transient` (retrying may help),
 *   `fatal` (needs an operator).
 */
export type ErrorKind = 'user' | 'transient' | 'fatal';

export abstract class DacError extends Error {
  /** A stable machine-readable code, e.g. `E_CAPACITY`. */
  abstract readonly code: string;
  abstract readonly kind: ErrorKind;
  readonly detail: string | undefined;

  constructor(message: string, options?: { detail?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.detail = options?.detail;
  }
}

/** The store (etcd) could not be reached or did not answer in time. */
export class StoreUnavailableError extends DacError {
  readonly code = 'E_STORE_UNAVAILABLE';
  readonly kind = 'transient';
}

/** A record in the store does not match the schema this version understands. */
export class RecordError extends DacError {
  readonly code = 'E_RECORD';
  readonly kind = 'fatal';
  constructor(
    readonly key: string,
    problem: string,
    options?: { detail?: string; cause?: unknown },
  ) {
    super(`etcd record ${key} is invalid: ${problem}`, options);
  }
}

/** A record whose own name disagrees with its key (hand-edited or copied). */
export class RecordIdentityError extends RecordError {
  constructor(key: string, field: string, value: string) {
    super(key, `${field}: "${value}" does not match the key`);
  }
}

/** A lease expired or was revoked: the keys it protected are gone. */
export class LeaseLostError extends DacError {
  readonly code = 'E_LEASE_LOST';
  readonly kind = 'transient';
}

/** A pool cannot satisfy a request now. */
export class CapacityError extends DacError {
  readonly code = 'E_CAPACITY';
  readonly kind = 'transient';
}

/** Something named in a request does not exist. */
export class NotFoundError extends DacError {
  readonly code = 'E_NOT_FOUND';
  readonly kind = 'user';
}

/**
 * No session has this token. Slurm treats output containing `No matching session` or
 * `token not found` as "nothing to do" for data_in, data_out and teardown: keep both phrases.
 */
export class NoMatchingSessionError extends NotFoundError {
  constructor(readonly token: string) {
    super(`No matching session for token ${token} (token not found)`);
  }
}

/** A request conflicts with existing state (e.g. a name already in use). */
export class ConflictError extends DacError {
  readonly code = 'E_CONFLICT';
  readonly kind = 'user';
}

/** A request is malformed or not allowed. */
export class ValidationError extends DacError {
  readonly code = 'E_VALIDATION';
  readonly kind = 'user';
}

/** Settings (environment variables or config file) are invalid. */
export class ConfigError extends DacError {
  readonly code = 'E_CONFIG';
  readonly kind = 'fatal';
}

/** Optimistic concurrency kept failing: too many concurrent writers. */
export class ContentionError extends DacError {
  readonly code = 'E_CONTENTION';
  readonly kind = 'transient';
}

/** An operation did not finish before its deadline. */
export class DeadlineError extends DacError {
  readonly code = 'E_DEADLINE';
  readonly kind = 'transient';
}

/** dacd reported that a step failed; its message is for the job owner. */
export class StepFailedError extends DacError {
  readonly code = 'E_STEP_FAILED';
  readonly kind = 'user';
}

/** The storage host serving a session is down (no liveness lease). */
export class HostDownError extends DacError {
  readonly code = 'E_HOST_DOWN';
  readonly kind = 'transient';
}

/** Staging could not read or write a path the user named (missing, unreadable, not allowed). */
export class StageError extends DacError {
  readonly code = 'E_STAGE';
  readonly kind = 'user';
}

/** A filesystem provider step failed for a reason outside the user's request. */
export class ProviderError extends DacError {
  readonly code = 'E_PROVIDER';
  readonly kind = 'transient';
}

/** The caller may not do this (an operator's command that only root may run). */
export class PermissionError extends DacError {
  readonly code = 'E_PERMISSION';
  readonly kind = 'user';
}

/** An operation was abandoned (hurry teardown, daemon stopping). */
export class AbortedError extends DacError {
  readonly code = 'E_ABORTED';
  readonly kind = 'transient';
}

/** Another daemon serves this storage host now (its liveness key is on another live lease). */
export class HostOwnedError extends ConflictError {
  constructor(
    readonly host: string,
    message: string,
  ) {
    super(message);
  }
}
