/**
 * What a directory copy copies, for the walk of copy-scheduler.ts: regular files, directories
 * and symbolic links (copied as links, never followed); any other file type is refused, naming
 * it. Each directory gets its source's mode and times after its contents are written. Per file:
 * one lstat of the source, the copy, one utimes; the destination is only looked at in
 * directories that existed before this run.
 *
 * `measureTree` walks a source tree the same way, through the same choices (`listChildren`,
 * `entryKind`), and only counts: what a copy of it reports when it completes.
 */
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import type { TransferProgress } from '../provider';
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

/**
 * The measuring of the tree under `root` (a directory): the counts a copy of it reports when it
 * completes, its regular files and links as `files` and the files' sizes as `bytes`. Reads
 * the source only, as the copy reads it; fails where the copy would fail on the source.
 */
export async function measureTree(
  root: Where,
  errors: CopyErrors,
  signal: AbortSignal,
): Promise<TransferProgress> {
  const steps = new TreeMeasureSteps(errors);
  await walkTree(root, steps, { signal, concurrency: 1, aborted: () => errors.aborted() });
  return { bytes: steps.bytes, files: steps.files };
}

/** A subdirectory: made and looked at when it is listed. */
function subdirectory(where: Where): CopyDir {
  return { where, stats: undefined, fresh: false, applyAttributes: true };
}

/**
 * The children of the source directory at `where`, as a directory copy takes them: a
 * directory is walked, a regular file or a link is an entry, any other type is refused.
 */
function listChildren<Dir>(
  where: Where,
  errors: CopyErrors,
  directory: (child: Where) => Dir,
): TreeChild<Dir, Where>[] {
  const listing = errors.onSource(where, () => readdirSync(where.source, { withFileTypes: true }));
  return listing.map((entry): TreeChild<Dir, Where> => {
    const child = where.child(entry.name);
    if (entry.isDirectory()) return { kind: 'directory', dir: directory(child) };
    if (entry.isFile() || entry.isSymbolicLink()) return { kind: 'entry', entry: child };
    throw errors.unsupportedType(child, entry);
  });
}

/**
 * What an entry (listed as a file or link) is by its lstat: a regular file, a link (copied as
 * a link), or a directory that replaced it since it was listed (walked as one); any other type
 * is refused.
 */
function entryKind(where: Where, stats: Stats, errors: CopyErrors): 'file' | 'link' | 'directory' {
  if (stats.isFile()) return 'file';
  if (stats.isSymbolicLink()) return 'link';
  if (stats.isDirectory()) return 'directory';
  throw errors.unsupportedType(where, stats);
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
    return listChildren(where, this.errors, subdirectory);
  }

  entry(where: Where, parent: CopyDir): EntryStep<CopyDir> {
    const stats = this.errors.onSource(where, () => lstatSync(where.source));
    const mayExist = !parent.fresh;
    switch (entryKind(where, stats, this.errors)) {
      case 'file':
        if (this.entries.destinationComplete(where, stats, mayExist)) return { kind: 'done' };
        if (stats.size >= LARGE_FILE_BYTES) {
          return { kind: 'large', start: () => this.entries.copyLarge(where, stats) };
        }
        this.entries.copySmall(where, stats);
        return { kind: 'done' };
      case 'link':
        this.entries.copySymlink(where, stats, mayExist);
        return { kind: 'done' };
      case 'directory':
        // Listed as a file but replaced by a directory since: copy it as one.
        return { kind: 'directory', dir: subdirectory(where) };
    }
  }

  finish(dir: CopyDir): void {
    if (dir.applyAttributes) this.entries.applyDirectoryAttributes(dir.where, dir.stats!);
  }
}

/** The counting of {@link measureTree}: a directory is its source's `Where`. */
class TreeMeasureSteps implements TreeSteps<Where, Where> {
  bytes = 0;
  files = 0;

  constructor(private readonly errors: CopyErrors) {}

  list(dir: Where): TreeChild<Where, Where>[] {
    return listChildren(dir, this.errors, (child) => child);
  }

  entry(where: Where): EntryStep<Where> {
    const stats = this.errors.onSource(where, () => lstatSync(where.source));
    switch (entryKind(where, stats, this.errors)) {
      case 'file':
        this.files += 1;
        this.bytes += stats.size;
        return { kind: 'done' };
      case 'link':
        // Counted as a file of no bytes, as the copy counts it.
        this.files += 1;
        return { kind: 'done' };
      case 'directory':
        return { kind: 'directory', dir: where };
    }
  }

  finish(): void {
    // Nothing to do: the measuring writes nothing.
  }
}
