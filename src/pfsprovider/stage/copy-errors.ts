/**
 * What the copy engine says when something goes wrong. An OS error becomes a StageError that
 * the job owner can act on (it names the directive, the side and the path as they wrote it,
 * and the uid the stager copies as), or a ProviderError when the cause is not theirs to fix.
 */
import { accessSync, constants, type Dirent, type Stats } from 'node:fs';
import { AbortedError, DacError, ProviderError, StageError } from '../../errors/errors';
import type { Where } from './copy-where';
import { directiveName, type StageDirection } from './resolve';

export type Side = 'source' | 'destination';

/** Errors that say that the destination cannot take the data, whichever file is read. */
const DESTINATION_FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

export class CopyErrors {
  /** `stage_in` or `stage_out`, the directive as the job script writes it. */
  readonly directive: string;

  constructor(
    readonly direction: StageDirection,
    /** The user the stager copies as (the stager has become the job's owner). */
    readonly uid: number,
  ) {
    this.directive = directiveName(direction);
  }

  aborted(): AbortedError {
    return new AbortedError(`${this.directive} was cancelled`);
  }

  /** `step()`, with an error mapped as one on the source side. */
  onSource<T>(where: Where, step: () => T): T {
    try {
      return step();
    } catch (error) {
      throw this.failure(error, where, 'source');
    }
  }

  /** `step()`, with an error mapped as one on the destination side. */
  onDestination<T>(where: Where, step: () => T): T {
    try {
      return step();
    } catch (error) {
      throw this.failure(error, where, 'destination');
    }
  }

  /**
   * copyFile does not say which side failed: unless the error can only be the destination's,
   * ask whether the source is readable.
   */
  copyFailure(error: unknown, where: Where): Error {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined || !DESTINATION_FULL.has(code)) {
      try {
        accessSync(where.source, constants.R_OK);
      } catch (sourceError) {
        return this.failure(sourceError, where, 'source');
      }
    }
    return this.failure(error, where, 'destination');
  }

  unsupportedType(where: Where, entry: Dirent | Stats): StageError {
    const kind = entry.isFIFO()
      ? 'a named pipe'
      : entry.isSocket()
        ? 'a socket'
        : entry.isBlockDevice() || entry.isCharacterDevice()
          ? 'a device'
          : 'not a regular file';
    return new StageError(
      `${this.directive} source ${where.sourceWritten} is ${kind}; only regular files, directories and symbolic links can be staged`,
    );
  }

  /** An OS error as a StageError the job owner can act on, or a ProviderError. */
  failure(error: unknown, where: Where, side: Side): Error {
    if (error instanceof DacError) return error;
    const code = (error as NodeJS.ErrnoException).code;
    const written = side === 'source' ? where.sourceWritten : where.destinationWritten;
    const subject = `${this.directive} ${side} ${written}`;
    const staging = `staging ${where.sourceWritten} to ${where.destinationWritten}`;
    const options = { detail: String(error), cause: error };
    switch (code) {
      case 'ENOENT':
        return new StageError(
          side === 'source'
            ? `${subject} does not exist`
            : `${subject} cannot be created: a directory on its path does not exist`,
          options,
        );
      case 'EACCES':
      case 'EPERM':
        return new StageError(
          `${subject} is not ${side === 'source' ? 'readable' : 'writable'} by uid ${this.uid}`,
          options,
        );
      case 'ENOSPC':
        return new StageError(
          this.direction === 'in'
            ? `the buffer is full (no space left on device) while ${staging}`
            : `the file system is full (no space left on device) while ${staging}`,
          options,
        );
      case 'EDQUOT':
        return new StageError(
          `the disk quota of uid ${this.uid} is exceeded while ${staging}`,
          options,
        );
      case 'ENOTDIR':
        return new StageError(`${subject}: a part of the path is not a directory`, options);
      case 'EISDIR':
        return new StageError(`${subject} is a directory`, options);
      case 'ELOOP':
        return new StageError(`${subject}: too many levels of symbolic links`, options);
      case 'ENAMETOOLONG':
        return new StageError(`${subject}: the path is too long`, options);
      case 'EROFS':
        return new StageError(`${subject} is on a read-only file system`, options);
      case 'EFBIG':
        return new StageError(`${subject} is too large for the destination file system`, options);
      default:
        return new ProviderError(
          `${this.directive} failed on ${written}: ${code ?? 'unknown error'}`,
          options,
        );
    }
  }
}
