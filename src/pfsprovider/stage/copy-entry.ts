/**
 * Copying one entry: a regular file, a symbolic link, or a directory's own inode (made, given
 * its mode and times). The stager runs these as the job's owner, so the kernel decides what may
 * be read and written; nothing here checks permissions itself.
 *
 * A destination file that is a regular file with the source's size and modification time (to
 * the millisecond) was completed by an earlier run and is not copied again (its mode is
 * corrected if needed). Anything else in the way of a file or link (a partial copy, which has a
 * newer modification time, a link, a read-only older version) is removed and the entry copied
 * again, so re-running a transfer after a crash gives a byte-identical result.
 *
 * Files are copied with copyFile, which keeps the mode bits, shares the data blocks where the
 * file system can (like `cp --reflink=auto`) and else copies in the kernel (copy_file_range /
 * sendfile). Times are kept to about a microsecond (utimes takes seconds as a double).
 */
import {
  chmodSync,
  constants,
  copyFileSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readlinkSync,
  realpathSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  type statSync,
  type Stats,
} from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StageError } from '../../errors/errors';
import type { CopyErrors } from './copy-errors';
import type { CopyProgress } from './copy-progress';
import type { Where } from './copy-where';

/** Files from this size on are copied in the thread pool, several at a time. */
export const LARGE_FILE_BYTES = 1024 * 1024;
/** Directories we create start private; directories of a tree get their mode at the end. */
const CREATED_DIR_MODE = 0o700;
const MODE_BITS = 0o7777;

let largeCopies = 0;

/**
 * Large-file copies running in the thread pool (in this process). They cannot be interrupted,
 * and `process.exit` waits for them (libuv joins its threads at exit).
 */
export function largeCopiesInFlight(): number {
  return largeCopies;
}

/** How a destination directory was found by {@link EntryCopier.makeDirectory}. */
export interface MadeDirectory {
  /** This call created it: nothing in it needs checking. */
  fresh: boolean;
  /** It is the current user's: its mode and times may be set. */
  owned: boolean;
}

export class EntryCopier {
  constructor(
    private readonly errors: CopyErrors,
    private readonly progress: CopyProgress,
  ) {}

  /** The destination's stats, or undefined when it does not exist. */
  destinationStat(where: Where, statFunction: typeof statSync): Stats | undefined {
    try {
      return statFunction(where.destination);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.errors.failure(error, where, 'destination');
    }
  }

  /**
   * Whether the destination file is complete from an earlier run (then it is counted, and its
   * mode corrected if needed). Anything else in its place is removed. `mayExist` false: the
   * destination directory was created by this run, so there is nothing to look at.
   */
  destinationComplete(where: Where, source: Stats, mayExist: boolean): boolean {
    if (!mayExist) return false;
    const existing = this.destinationStat(where, lstatSync);
    if (existing === undefined) return false;
    if (
      existing.isFile() &&
      existing.size === source.size &&
      Math.abs(existing.mtimeMs - source.mtimeMs) < 1
    ) {
      if ((existing.mode & MODE_BITS) !== (source.mode & MODE_BITS)) {
        this.errors.onDestination(where, () =>
          chmodSync(where.destination, source.mode & MODE_BITS),
        );
      }
      this.progress.count(source.size);
      return true;
    }
    this.removeInTheWay(where, existing);
    return false;
  }

  /** A file below {@link LARGE_FILE_BYTES}: on the main thread, cheaper than a pool round trip. */
  copySmall(where: Where, source: Stats): void {
    try {
      copyFileSync(where.source, where.destination, constants.COPYFILE_FICLONE);
    } catch (error) {
      this.countLeftBehind(where);
      throw this.errors.copyFailure(error, where);
    }
    this.setFileTimes(where, source);
  }

  /** A file from {@link LARGE_FILE_BYTES} on: in the thread pool. */
  async copyLarge(where: Where, source: Stats): Promise<void> {
    largeCopies += 1;
    try {
      await copyFile(where.source, where.destination, constants.COPYFILE_FICLONE);
    } catch (error) {
      this.countLeftBehind(where);
      throw this.errors.copyFailure(error, where);
    } finally {
      largeCopies -= 1;
    }
    this.setFileTimes(where, source);
  }

  /** The link itself, never what it points to; `mayExist` as for destinationComplete. */
  copySymlink(where: Where, source: Stats, mayExist: boolean): void {
    const target = this.errors.onSource(where, () => readlinkSync(where.source));
    try {
      symlinkSync(target, where.destination);
    } catch (error) {
      if (!mayExist || (error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw this.errors.failure(error, where, 'destination');
      }
      const existing = this.destinationStat(where, lstatSync);
      let current: string | undefined;
      if (existing?.isSymbolicLink()) {
        current = this.errors.onDestination(where, () => readlinkSync(where.destination));
      }
      if (current !== target) {
        if (existing) this.removeInTheWay(where, existing);
        this.errors.onDestination(where, () => symlinkSync(target, where.destination));
      }
    }
    this.errors.onDestination(where, () =>
      lutimesSync(where.destination, seconds(source.atimeMs), seconds(source.mtimeMs)),
    );
    this.progress.count(0);
  }

  /**
   * Make `where.destination` a directory, private at first. `statFunction` is lstat inside a
   * tree (a link there is not a directory of ours) and stat for a transfer's own destination.
   */
  makeDirectory(where: Where, statFunction: typeof statSync): MadeDirectory {
    try {
      mkdirSync(where.destination, { mode: CREATED_DIR_MODE });
      return { fresh: true, owned: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw this.errors.failure(error, where, 'destination');
      }
    }
    const existing = this.destinationStat(where, statFunction);
    if (existing === undefined || !existing.isDirectory()) {
      throw new StageError(
        `${this.errors.directive} destination ${where.destinationWritten} exists and is not a directory`,
      );
    }
    const owned = existing.uid === this.errors.uid;
    // A directory finished by an earlier run may have lost its owner's write permission.
    if (owned && (existing.mode & 0o700) !== 0o700) {
      this.errors.onDestination(where, () =>
        chmodSync(where.destination, (existing.mode & MODE_BITS) | 0o700),
      );
    }
    return { fresh: false, owned };
  }

  /** Give a destination directory its source's mode and times (after its contents). */
  applyDirectoryAttributes(where: Where, source: Stats): void {
    this.errors.onDestination(where, () => {
      chmodSync(where.destination, source.mode & MODE_BITS);
      utimesSync(where.destination, seconds(source.atimeMs), seconds(source.mtimeMs));
    });
  }

  /** Copying a directory into itself would never end (`cp` refuses it too). */
  checkNotInside(where: Where): void {
    const source = this.errors.onSource(where, () => realpathSync(where.source));
    const destination = this.errors.onDestination(where, () => realpathSync(where.destination));
    if (destination === source || destination.startsWith(`${source}/`)) {
      throw new StageError(
        `${this.errors.directive} destination ${where.destinationWritten} is inside the source ${where.sourceWritten}`,
      );
    }
  }

  /** The missing parent directories of `path`, private. */
  makeParents(path: string, where: Where): void {
    this.errors.onDestination(where, () =>
      mkdirSync(dirname(path), { recursive: true, mode: CREATED_DIR_MODE }),
    );
  }

  private setFileTimes(where: Where, source: Stats): void {
    try {
      utimesSync(where.destination, seconds(source.atimeMs), seconds(source.mtimeMs));
    } catch (error) {
      this.countLeftBehind(where);
      throw this.errors.failure(error, where, 'destination');
    }
    this.progress.count(source.size);
  }

  /**
   * A file copy failed: count the bytes it left in the destination. Anything that was in the
   * way was removed before the copy, so what is there now is ours.
   */
  private countLeftBehind(where: Where): void {
    try {
      const left = lstatSync(where.destination);
      if (left.isFile()) this.progress.countLeftBehind(left.size);
    } catch {
      // Nothing left (copyFile removes its partial destination), or nothing we can see.
    }
  }

  /** Remove what an earlier run (or someone) left where a file or link goes. */
  private removeInTheWay(where: Where, existing: Stats): void {
    if (existing.isDirectory()) {
      throw new StageError(
        `${this.errors.directive} destination ${where.destinationWritten} is a directory`,
      );
    }
    this.errors.onDestination(where, () => unlinkSync(where.destination));
  }
}

/** Milliseconds → the seconds (with fraction) utimes takes. */
function seconds(milliseconds: number): number {
  return milliseconds / 1000;
}
