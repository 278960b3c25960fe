/**
 * What a directory copy copies, for the walk of copy-scheduler.ts: regular files, directories
 * and symbolic links (copied as links, never followed); any other file type is refused, naming
 * it. Each directory gets its source's mode and times after its contents are written. Per file:
 * one lstat of the source, the copy, one utimes; the destination is only looked at in
 * directories that existed before this run.
 */
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import type { CopyErrors } from './copy-errors';
import { LARGE_FILE_BYTES, type EntryCopier } from './copy-entry';
import { walkTree, type EntryStep, type TreeChild, type TreeSteps } from './copy-scheduler';
import type { Where } from './copy-where';

/** A directory of a tree being copied. */
export interface CopyDir {
  where: Where;
  /** The source directory's stats (mode, times); read when it is listed, except the root's. */
  stats: Stats | undefined;
  /** The destination directory was created by this run: nothing in it needs checking. */
  fresh: boolean;
  /** Set the destination's mode and times from the source when done. */
  applyAttributes: boolean;
}

export interface CopyTreeOptions {
  signal: AbortSignal;
  /** Large-file copies in flight at once. */
  concurrency: number;
}

/** Copy the tree under `root`, whose destination directory exists. */
export function copyTree(
  root: CopyDir,
  entries: EntryCopier,
  errors: CopyErrors,
  options: CopyTreeOptions,
): Promise<void> {
  return walkTree(root, new TreeCopySteps(entries, errors), {
    signal: options.signal,
    concurrency: options.concurrency,
    aborted: () => errors.aborted(),
  });
}

/** A subdirectory: made and looked at when it is listed. */
function subdirectory(where: Where): CopyDir {
  return { where, stats: undefined, fresh: false, applyAttributes: true };
}

class TreeCopySteps implements TreeSteps<CopyDir, Where> {
  constructor(
    private readonly entries: EntryCopier,
    private readonly errors: CopyErrors,
  ) {}

  list(dir: CopyDir): TreeChild<CopyDir, Where>[] {
    const { where } = dir;
    if (dir.stats === undefined) {
      dir.stats = this.errors.onSource(where, () => lstatSync(where.source));
      dir.fresh = this.entries.makeDirectory(where, lstatSync).fresh;
    }
    const listing = this.errors.onSource(where, () =>
      readdirSync(where.source, { withFileTypes: true }),
    );
    return listing.map((entry): TreeChild<CopyDir, Where> => {
      const child = where.child(entry.name);
      if (entry.isDirectory()) return { kind: 'directory', dir: subdirectory(child) };
      if (entry.isFile() || entry.isSymbolicLink()) return { kind: 'entry', entry: child };
      throw this.errors.unsupportedType(child, entry);
    });
  }

  entry(where: Where, parent: CopyDir): EntryStep<CopyDir> {
    const stats = this.errors.onSource(where, () => lstatSync(where.source));
    const mayExist = !parent.fresh;
    if (stats.isFile()) {
      if (this.entries.destinationComplete(where, stats, mayExist)) return { kind: 'done' };
      if (stats.size >= LARGE_FILE_BYTES) {
        return { kind: 'large', start: () => this.entries.copyLarge(where, stats) };
      }
      this.entries.copySmall(where, stats);
      return { kind: 'done' };
    }
    if (stats.isSymbolicLink()) {
      this.entries.copySymlink(where, stats, mayExist);
      return { kind: 'done' };
    }
    // Listed as a file but replaced by a directory since: copy it as one.
    if (stats.isDirectory()) return { kind: 'directory', dir: subdirectory(where) };
    throw this.errors.unsupportedType(where, stats);
  }

  finish(dir: CopyDir): void {
    if (dir.applyAttributes) this.entries.applyDirectoryAttributes(dir.where, dir.stats!);
  }
}
