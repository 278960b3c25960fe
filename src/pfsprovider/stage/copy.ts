/**
 * The copy engine's entry point: `copyTransfers`, and the three kinds of transfer. It runs
 * inside the stager child process, already as the job's owner, so the kernel decides what may
 * be read and written; nothing here checks permissions itself.
 *
 * Semantics, like `cp -a`:
 * - `file`: the source (a regular file; a symbolic link given as the source is followed) is
 *   copied to the destination path; when the destination is an existing directory or is
 *   written with a trailing `/`, into it under the source's base name. Missing parent
 *   directories are created with mode 0700.
 * - `directory`: the *contents* of the source directory are copied into the destination
 *   directory (created if missing), recursively (copy-tree.ts): regular files, directories and
 *   symbolic links (copied as links, never followed). Other file types are refused. Modes
 *   (& 0o7777) and access/modification times of files, directories and links are kept; a
 *   directory gets its times after its contents are written. The destination directory itself
 *   gets the source directory's mode and times too, unless it is a buffer root (the provider
 *   manages those) or an existing directory owned by someone else. Hard links are copied as
 *   separate files.
 * - `list`: the source is a list file (see `parseStageList`); an entry whose source is a
 *   directory is copied as `directory`, any other as `file`. Every line is checked before the
 *   first entry is copied.
 *
 * Transfers (and list entries) are copied one after another, in order, so a later one wins
 * where two overlap.
 *
 * Speed: a thread-pool round trip costs more than copying a small file on a local file system,
 * so metadata calls and files below {@link LARGE_FILE_BYTES} use synchronous calls on the main
 * thread, in slices between which the event loop runs (copy-scheduler.ts). Larger files are
 * copied in the thread pool, up to `concurrency` at a time, while the walk goes on.
 *
 * Restarting: what an earlier run completed is not copied again, anything else in the way is
 * replaced (copy-entry.ts), so re-running a transfer after a crash gives a byte-identical
 * result.
 *
 * Counts (copy-progress.ts) describe the tree, whether a file was copied in this run or found
 * complete. A copy that fails (the destination full, say) reports its counts once more before
 * it rejects, after the large copies in flight have ended: what the destination then holds, the
 * files and links completed and their bytes, plus the bytes a failed file copy left behind
 * (normally none: copyFile removes its partial destination). An aborted copy does not.
 */
import { statSync, type Stats } from 'node:fs';
import { basename } from 'node:path';
import { AbortedError } from '../../errors/errors';
import type { BufferRoots, ResolvedTransfer, TransferProgress } from '../provider';
import { CopyErrors } from './copy-errors';
import { EntryCopier, LARGE_FILE_BYTES } from './copy-entry';
import { CopyProgress } from './copy-progress';
import { StepPacer } from './copy-scheduler';
import {
  directorySource,
  directoryWhere,
  fileSource,
  listEntries,
  listEntrySource,
} from './copy-sources';
import { copyTree } from './copy-tree';
import { childPath, trimSlashes, Where } from './copy-where';
import { normalisePath, type StageDirection } from './resolve';

export { largeCopiesInFlight } from './copy-entry';

export interface CopyOptions {
  signal: AbortSignal;
  /**
   * Cumulative counts, at most about four times a second, and once at the end, also when the
   * copy fails (not when it is aborted).
   */
  onProgress(progress: TransferProgress): void;
  /** The buffer roots, for the lines of list files. */
  roots: BufferRoots;
  direction: StageDirection;
  /** Large-file copies in flight at once; default 8. */
  concurrency?: number;
}

export const DEFAULT_CONCURRENCY = 8;

/** Copy `transfers` (as the current user). Resolves with the final counts. */
export async function copyTransfers(
  transfers: readonly ResolvedTransfer[],
  options: CopyOptions,
): Promise<TransferProgress> {
  const copier = new TransferCopier(options);
  const { signal } = options;
  if (signal.aborted) throw copier.errors.aborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(copier.errors.aborted());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    // Reject as soon as the signal fires; large copies in flight finish on their own.
    return await Promise.race([copier.run(transfers), aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** The transfers of one copyTransfers call, one after another. */
class TransferCopier {
  readonly errors: CopyErrors;
  private readonly progress: CopyProgress;
  private readonly entries: EntryCopier;
  private readonly concurrency: number;
  private readonly bufferRoots: ReadonlySet<string>;
  private readonly pacer: StepPacer;

  constructor(private readonly options: CopyOptions) {
    this.errors = new CopyErrors(options.direction, process.getuid?.() ?? 0);
    this.progress = new CopyProgress(options.onProgress);
    this.entries = new EntryCopier(this.errors, this.progress);
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
    this.bufferRoots = new Set(Object.values(options.roots).map(normalisePath));
    this.pacer = new StepPacer(options.signal, () => this.errors.aborted());
  }

  async run(transfers: readonly ResolvedTransfer[]): Promise<TransferProgress> {
    try {
      for (const transfer of transfers) {
        await this.pacer.next();
        if (transfer.type === 'list') await this.copyList(transfer);
        else if (transfer.type === 'directory') await this.copyDirectory(transfer);
        else await this.copyFileTransfer(transfer);
      }
    } catch (error) {
      // The last throttled report may be far behind what was written before the failure.
      if (!(error instanceof AbortedError) && !this.options.signal.aborted) {
        this.progress.report();
      }
      throw error;
    }
    return this.progress.report();
  }

  private async copyList(transfer: ResolvedTransfer): Promise<void> {
    const { direction, roots } = this.options;
    for (const entry of listEntries(transfer, this.errors, direction, roots)) {
      await this.pacer.next();
      const source = listEntrySource(entry, this.errors);
      if (source.isDirectory()) await this.copyDirectory(entry, source);
      else await this.copyFileTransfer(entry, source);
    }
  }

  private async copyFileTransfer(transfer: ResolvedTransfer, known?: Stats): Promise<void> {
    const where = Where.of(transfer);
    const source = fileSource(where, this.errors, known);

    let inside = transfer.request.destination.endsWith('/');
    if (inside) {
      this.entries.makeParents(`${where.destination}/.`, where);
    } else {
      const existing = this.entries.destinationStat(where, statSync);
      inside = existing?.isDirectory() ?? false;
      if (existing === undefined) this.entries.makeParents(where.destination, where);
    }
    if (inside) {
      const name = basename(where.source);
      where.destination = childPath(where.destination, name);
      where.destinationWritten = childPath(trimSlashes(where.destinationWritten), name);
    }
    if (this.entries.destinationComplete(where, source, true)) return;
    if (source.size >= LARGE_FILE_BYTES) await this.entries.copyLarge(where, source);
    else this.entries.copySmall(where, source);
  }

  private async copyDirectory(transfer: ResolvedTransfer, known?: Stats): Promise<void> {
    const where = directoryWhere(transfer);
    const source = directorySource(where, this.errors, known);
    this.entries.makeParents(where.destination, where);
    const made = this.entries.makeDirectory(where, statSync);
    this.entries.checkNotInside(where);
    await copyTree(
      {
        where,
        stats: source,
        fresh: made.fresh,
        applyAttributes: !this.bufferRoots.has(where.destination) && made.owned,
      },
      this.entries,
      this.errors,
      { signal: this.options.signal, concurrency: this.concurrency },
    );
  }
}
