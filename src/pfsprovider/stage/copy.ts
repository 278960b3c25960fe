/**
 * The copy engine. It runs inside the stager child process, already as the job's owner, so the
 * kernel decides what may be read and written; nothing here checks permissions itself.
 *
 * Semantics, like `cp -a`:
 * - `file`: the source (a regular file; a symbolic link given as the source is followed) is
 *   copied to the destination path; when the destination is an existing directory or is
 *   written with a trailing `/`, into it under the source's base name. Missing parent
 *   directories are created with mode 0700.
 * - `directory`: the *contents* of the source directory are copied into the destination
 *   directory (created if missing), recursively: regular files, directories and symbolic
 *   links (copied as links, never followed). Other file types are refused. Modes (& 0o7777) and
 *   access/modification times of files, directories and links are kept (times to about a
 *   microsecond: utimes takes seconds as a double); a directory gets its times after its
 *   contents are written. The destination directory itself gets the source
 *   directory's mode and times too, unless it is a buffer root (the provider manages those) or
 *   an existing directory owned by someone else. Hard links are copied as separate files.
 * - `list`: the source is a list file (see `parseStageList`); an entry whose source is a
 *   directory is copied as `directory`, any other as `file`. Every line is checked before the
 *   first entry is copied.
 *
 * Transfers (and list entries) are copied one after another, in order, so a later one wins
 * where two overlap.
 *
 * Speed: a thread-pool round trip costs more than copying a small file on a local file system,
 * so metadata calls and files below {@link LARGE_FILE_BYTES} use synchronous calls on the main
 * thread, in slices of {@link SLICE_MS} between which the event loop runs (abort, stdin, the
 * large copies). Larger files are copied in the thread pool with `fs.copyFile` (a reflink
 * where possible, else copy_file_range / sendfile), up to `concurrency` at a time, while the
 * walk goes on. Per
 * file: one lstat of the source, the copy, one utimes; the destination is only looked at in
 * directories that existed before this run.
 *
 * Restarting: a destination file that is a regular file with the source's size and
 * modification time (to the millisecond) was completed by an earlier run and is not copied
 * again (its mode is corrected if needed). Anything else in the way of a file (a partial copy,
 * which has a newer modification time, a link, a read-only older version) is removed and the
 * file copied again, so re-running a transfer after a crash gives a byte-identical result.
 *
 * Counts describe the tree, whether a file was copied in this run or found complete: `files`
 * counts regular files and symbolic links (not directories), `bytes` the sizes of the regular
 * files. A copy that fails (the destination full, say) reports its counts once more before it
 * rejects, after the large copies in flight have ended: what the destination then holds, the
 * files and links completed and their bytes, plus the bytes a failed file copy left behind
 * (normally none: copyFile removes its partial destination). An aborted copy does not.
 */
import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  type Dirent,
  type Stats,
} from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { AbortedError, DacError, ProviderError, StageError } from '../../errors/errors';
import type { BufferRoots, ResolvedTransfer, TransferProgress } from '../provider';
import { directiveName, normalisePath, parseStageList, type StageDirection } from './resolve';

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
/** Files from this size on are copied in the thread pool, several at a time. */
export const LARGE_FILE_BYTES = 1024 * 1024;
/** The longest stretch of synchronous work before the event loop gets a turn. */
const SLICE_MS = 20;
const PROGRESS_INTERVAL_MS = 250;
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

/** Copy `transfers` (as the current user). Resolves with the final counts. */
export async function copyTransfers(
  transfers: readonly ResolvedTransfer[],
  options: CopyOptions,
): Promise<TransferProgress> {
  const copier = new Copier(options);
  const { signal } = options;
  if (signal.aborted) throw copier.aborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(copier.aborted());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    // Reject as soon as the signal fires; large copies in flight finish on their own.
    return await Promise.race([copier.run(transfers), aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/**
 * One copy step's paths: real ones, and as the user wrote them (for messages). The written
 * paths of tree entries are only put together when a message needs them.
 */
class Where {
  private constructor(
    public source: string,
    public destination: string,
    private readonly parent: Where | undefined,
    private readonly name: string,
    private writtenSource: string,
    private writtenDestination: string,
  ) {}

  static of(transfer: ResolvedTransfer): Where {
    const { request } = transfer;
    return new Where(
      transfer.source,
      transfer.destination,
      undefined,
      '',
      request.source,
      request.destination,
    );
  }

  child(name: string): Where {
    return new Where(
      childPath(this.source, name),
      childPath(this.destination, name),
      this,
      name,
      '',
      '',
    );
  }

  get sourceWritten(): string {
    return this.parent ? childPath(this.parent.sourceWritten, this.name) : this.writtenSource;
  }

  set sourceWritten(written: string) {
    this.writtenSource = written;
  }

  get destinationWritten(): string {
    return this.parent
      ? childPath(this.parent.destinationWritten, this.name)
      : this.writtenDestination;
  }

  set destinationWritten(written: string) {
    this.writtenDestination = written;
  }
}

/** A directory of a tree being copied. */
interface DirNode {
  where: Where;
  /** The source directory's stats (mode, times); read when it is listed, except the root's. */
  stats: Stats | undefined;
  /** The destination directory was created by this run: nothing in it needs checking. */
  fresh: boolean;
  /** Set the destination's mode and times from the source when done. */
  applyAttributes: boolean;
  /** Entries not finished yet. */
  pending: number;
  parent: DirNode | undefined;
}

/** Work of a tree copy. */
type Item =
  | { kind: 'list'; node: DirNode }
  | { kind: 'entry'; where: Where; parent: DirNode; stats?: Stats }
  | { kind: 'finish'; node: DirNode };

type Side = 'source' | 'destination';

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

class Copier {
  private bytes = 0;
  private files = 0;
  private lastReport = Number.NEGATIVE_INFINITY;
  private sliceStart = Date.now();
  private readonly uid = process.getuid?.() ?? 0;
  private readonly concurrency: number;
  private readonly bufferRoots: ReadonlySet<string>;

  constructor(private readonly options: CopyOptions) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
    this.bufferRoots = new Set(Object.values(options.roots).map(normalisePath));
  }

  aborted(): AbortedError {
    return new AbortedError(`${directiveName(this.options.direction)} was cancelled`);
  }

  async run(transfers: readonly ResolvedTransfer[]): Promise<TransferProgress> {
    try {
      for (const transfer of transfers) {
        await this.nextStep();
        if (transfer.type === 'list') await this.copyList(transfer);
        else if (transfer.type === 'directory') await this.copyDirectory(transfer);
        else await this.copyFileTransfer(transfer);
      }
    } catch (error) {
      // The last throttled report may be far behind what was written before the failure.
      if (!(error instanceof AbortedError) && !this.options.signal.aborted) this.report();
      throw error;
    }
    return this.report();
  }

  private report(): TransferProgress {
    const total = { bytes: this.bytes, files: this.files };
    this.options.onProgress(total);
    return total;
  }

  /** Between transfers: give the event loop a turn now and then; stop when aborted. */
  private async nextStep(): Promise<void> {
    if (Date.now() - this.sliceStart >= SLICE_MS) {
      await yieldToEventLoop();
      this.sliceStart = Date.now();
    }
    if (this.options.signal.aborted) throw this.aborted();
  }

  private count(bytes: number): void {
    this.files += 1;
    this.bytes += bytes;
    const now = Date.now();
    if (now - this.lastReport >= PROGRESS_INTERVAL_MS) {
      this.lastReport = now;
      this.options.onProgress({ bytes: this.bytes, files: this.files });
    }
  }

  // --- transfers ---------------------------------------------------------------------------

  private async copyList(transfer: ResolvedTransfer): Promise<void> {
    const where = Where.of(transfer);
    // Only a regular file: reading a named pipe would wait for a writer.
    if (!this.onSource(where, () => statSync(transfer.source)).isFile()) {
      throw new StageError(
        `${directiveName(this.options.direction)} list ${where.sourceWritten} is not a regular file`,
      );
    }
    const text = this.onSource(where, () => readFileSync(transfer.source, 'utf8'));
    const entries = parseStageList(
      text,
      transfer.request.source,
      this.options.direction,
      this.options.roots,
    );
    for (const entry of entries) {
      await this.nextStep();
      const source = this.onSource(Where.of(entry), () => statSync(entry.source));
      if (source.isDirectory()) await this.copyDirectory(entry, source);
      else await this.copyFileTransfer(entry, source);
    }
  }

  private async copyFileTransfer(transfer: ResolvedTransfer, known?: Stats): Promise<void> {
    const where = Where.of(transfer);
    const source = known ?? this.onSource(where, () => statSync(where.source));
    const subject = `${directiveName(this.options.direction)} source ${where.sourceWritten}`;
    if (source.isDirectory()) {
      throw new StageError(`${subject} is a directory; use type=directory to copy a directory`);
    }
    if (!source.isFile()) throw new StageError(`${subject} is not a regular file`);

    let inside = transfer.request.destination.endsWith('/');
    if (inside) {
      this.makeParents(`${where.destination}/.`, where);
    } else {
      const existing = this.destinationStat(where, statSync);
      inside = existing?.isDirectory() ?? false;
      if (existing === undefined) this.makeParents(where.destination, where);
    }
    if (inside) {
      const name = basename(where.source);
      where.destination = childPath(where.destination, name);
      where.destinationWritten = childPath(trimSlashes(where.destinationWritten), name);
    }
    if (this.destinationComplete(where, source, true)) return;
    if (source.size >= LARGE_FILE_BYTES) await this.copyLarge(where, source);
    else this.copySmall(where, source);
  }

  private async copyDirectory(transfer: ResolvedTransfer, known?: Stats): Promise<void> {
    const where = Where.of(transfer);
    where.sourceWritten = trimSlashes(where.sourceWritten);
    where.destinationWritten = trimSlashes(where.destinationWritten);
    const source = known ?? this.onSource(where, () => statSync(where.source));
    if (!source.isDirectory()) {
      throw new StageError(
        `${directiveName(this.options.direction)} source ${where.sourceWritten} is not a directory`,
      );
    }
    this.makeParents(where.destination, where);
    const made = this.makeDirectory(where, statSync);
    this.checkNotInside(where);
    await this.copyTree({
      where,
      stats: source,
      fresh: made.fresh,
      applyAttributes: !this.bufferRoots.has(where.destination) && made.owned,
      pending: 0,
      parent: undefined,
    });
  }

  // --- trees -------------------------------------------------------------------------------

  /**
   * Copy the tree under `root` (whose destination directory exists). Items sit on a stack, so
   * the walk goes depth first and the backlog stays small. A directory is finished (mode,
   * times) by an item pushed when its last entry is done. After a failure nothing new starts;
   * the promise settles once the large copies in flight have ended.
   */
  private copyTree(root: DirNode): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stack: Item[] = [{ kind: 'list', node: root }];
      let inFlight = 0;
      let failed = false;
      let failure: unknown;
      let woken = false;

      const fail = (error: unknown): void => {
        if (!failed) {
          failed = true;
          failure = error;
        }
        stack.length = 0;
      };
      const finished = (node: DirNode): void => {
        node.pending -= 1;
        if (node.pending === 0) stack.push({ kind: 'finish', node });
      };
      const wake = (): void => {
        if (woken) return;
        woken = true;
        setImmediate(drive);
      };
      const startLarge = (where: Where, stats: Stats, parent: DirNode): void => {
        inFlight += 1;
        this.copyLarge(where, stats).then(
          () => {
            inFlight -= 1;
            finished(parent);
            wake();
          },
          (error: unknown) => {
            inFlight -= 1;
            fail(error);
            wake();
          },
        );
      };

      /** One item; false when it must wait for a free large-copy slot. */
      const step = (item: Item): boolean => {
        if (item.kind === 'finish') {
          this.finishDirectory(item.node);
          if (item.node.parent) finished(item.node.parent);
          return true;
        }
        if (item.kind === 'list') {
          const entries = this.listDirectory(item.node);
          item.node.pending = entries.length;
          if (entries.length === 0) stack.push({ kind: 'finish', node: item.node });
          // Pushed in reverse so that the stack hands them out in directory order.
          for (let index = entries.length - 1; index >= 0; index -= 1) stack.push(entries[index]!);
          return true;
        }
        const { where, parent } = item;
        let stats = item.stats;
        if (stats === undefined) {
          try {
            stats = lstatSync(where.source);
          } catch (error) {
            throw this.failure(error, where, 'source');
          }
        }
        if (stats.isFile()) {
          if (this.destinationComplete(where, stats, !parent.fresh)) {
            finished(parent);
          } else if (stats.size < LARGE_FILE_BYTES) {
            this.copySmall(where, stats);
            finished(parent);
          } else if (inFlight < this.concurrency) {
            startLarge(where, stats, parent);
          } else {
            item.stats = stats;
            return false;
          }
        } else if (stats.isSymbolicLink()) {
          this.copySymlink(where, stats, !parent.fresh);
          finished(parent);
        } else if (stats.isDirectory()) {
          // Listed as a file but replaced by a directory since: copy it as one.
          stack.push({ kind: 'list', node: subdirectory(where, parent) });
        } else {
          throw this.unsupportedType(where, stats);
        }
        return true;
      };

      const drive = (): void => {
        woken = false;
        const sliceEnd = Date.now() + SLICE_MS;
        let steps = 0;
        try {
          while (!failed && stack.length > 0) {
            // Date.now() is cheap, but not free: look at the clock every few items.
            steps += 1;
            if (steps % 16 === 0 && Date.now() >= sliceEnd) {
              wake();
              return;
            }
            if (this.options.signal.aborted) {
              fail(this.aborted());
              break;
            }
            const item = stack.pop()!;
            if (!step(item)) {
              stack.push(item);
              break; // a large copy ending wakes us
            }
          }
        } catch (error) {
          fail(error);
        }
        if (inFlight === 0 && (failed || stack.length === 0)) {
          if (failed) reject(failure);
          else resolve();
        }
      };
      drive();
    });
  }

  /** Make the destination directory of `node` (unless done) and list its entries. */
  private listDirectory(node: DirNode): Item[] {
    const { where } = node;
    if (node.stats === undefined) {
      node.stats = this.onSource(where, () => lstatSync(where.source));
      node.fresh = this.makeDirectory(where, lstatSync).fresh;
    }
    const entries: Dirent[] = this.onSource(where, () =>
      readdirSync(where.source, { withFileTypes: true }),
    );
    const items: Item[] = [];
    for (const entry of entries) {
      const child = where.child(entry.name);
      if (entry.isDirectory()) {
        items.push({ kind: 'list', node: subdirectory(child, node) });
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        items.push({ kind: 'entry', where: child, parent: node });
      } else {
        throw this.unsupportedType(child, entry);
      }
    }
    return items;
  }

  /** All entries of `node` are done: give its destination the source's mode and times. */
  private finishDirectory(node: DirNode): void {
    const stats = node.stats!;
    if (!node.applyAttributes) return;
    this.onDestination(node.where, () => {
      chmodSync(node.where.destination, stats.mode & MODE_BITS);
      utimesSync(node.where.destination, seconds(stats.atimeMs), seconds(stats.mtimeMs));
    });
  }

  // --- single entries ----------------------------------------------------------------------

  /**
   * Whether the destination file is complete from an earlier run (then it is counted, and its
   * mode corrected if needed). Anything else in its place is removed.
   */
  private destinationComplete(where: Where, source: Stats, mayExist: boolean): boolean {
    if (!mayExist) return false;
    const existing = this.destinationStat(where, lstatSync);
    if (existing === undefined) return false;
    if (
      existing.isFile() &&
      existing.size === source.size &&
      Math.abs(existing.mtimeMs - source.mtimeMs) < 1
    ) {
      if ((existing.mode & MODE_BITS) !== (source.mode & MODE_BITS)) {
        this.onDestination(where, () => chmodSync(where.destination, source.mode & MODE_BITS));
      }
      this.count(source.size);
      return true;
    }
    this.removeInTheWay(where, existing);
    return false;
  }

  /**
   * copyFile keeps the mode bits, shares the data blocks where the file system can (like
   * `cp --reflink=auto`) and else copies in the kernel (copy_file_range / sendfile).
   */
  private copySmall(where: Where, source: Stats): void {
    try {
      copyFileSync(where.source, where.destination, constants.COPYFILE_FICLONE);
    } catch (error) {
      this.countLeftBehind(where);
      throw this.copyFailure(error, where);
    }
    this.setFileTimes(where, source);
  }

  private async copyLarge(where: Where, source: Stats): Promise<void> {
    largeCopies += 1;
    try {
      await copyFile(where.source, where.destination, constants.COPYFILE_FICLONE);
    } catch (error) {
      this.countLeftBehind(where);
      throw this.copyFailure(error, where);
    } finally {
      largeCopies -= 1;
    }
    this.setFileTimes(where, source);
  }

  private setFileTimes(where: Where, source: Stats): void {
    try {
      utimesSync(where.destination, seconds(source.atimeMs), seconds(source.mtimeMs));
    } catch (error) {
      this.countLeftBehind(where);
      throw this.failure(error, where, 'destination');
    }
    this.count(source.size);
  }

  /**
   * A file copy failed: count the bytes it left in the destination (not as a file: it is not
   * complete), so that the counts say what the destination holds. Anything that was in the way
   * was removed before the copy, so what is there now is ours.
   */
  private countLeftBehind(where: Where): void {
    try {
      const left = lstatSync(where.destination);
      if (left.isFile()) this.bytes += left.size;
    } catch {
      // Nothing left (copyFile removes its partial destination), or nothing we can see.
    }
  }

  private copySymlink(where: Where, source: Stats, mayExist: boolean): void {
    const target = this.onSource(where, () => readlinkSync(where.source));
    try {
      symlinkSync(target, where.destination);
    } catch (error) {
      if (!mayExist || (error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw this.failure(error, where, 'destination');
      }
      const existing = this.destinationStat(where, lstatSync);
      let current: string | undefined;
      if (existing?.isSymbolicLink()) {
        current = this.onDestination(where, () => readlinkSync(where.destination));
      }
      if (current !== target) {
        if (existing) this.removeInTheWay(where, existing);
        this.onDestination(where, () => symlinkSync(target, where.destination));
      }
    }
    this.onDestination(where, () =>
      lutimesSync(where.destination, seconds(source.atimeMs), seconds(source.mtimeMs)),
    );
    this.count(0);
  }

  /** Remove what an earlier run (or someone) left where a file or link goes. */
  private removeInTheWay(where: Where, existing: Stats): void {
    if (existing.isDirectory()) {
      throw new StageError(
        `${directiveName(this.options.direction)} destination ${where.destinationWritten} is a directory`,
      );
    }
    this.onDestination(where, () => unlinkSync(where.destination));
  }

  /**
   * Make `where.destination` a directory. `fresh` when this call created it; `owned` when it is
   * the current user's (its mode and times may be set).
   */
  private makeDirectory(
    where: Where,
    statFunction: typeof statSync,
  ): { fresh: boolean; owned: boolean } {
    try {
      mkdirSync(where.destination, { mode: CREATED_DIR_MODE });
      return { fresh: true, owned: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw this.failure(error, where, 'destination');
      }
    }
    const existing = this.destinationStat(where, statFunction);
    if (existing === undefined || !existing.isDirectory()) {
      throw new StageError(
        `${directiveName(this.options.direction)} destination ${where.destinationWritten} exists and is not a directory`,
      );
    }
    const owned = existing.uid === this.uid;
    // A directory finished by an earlier run may have lost its owner's write permission.
    if (owned && (existing.mode & 0o700) !== 0o700) {
      this.onDestination(where, () =>
        chmodSync(where.destination, (existing.mode & MODE_BITS) | 0o700),
      );
    }
    return { fresh: false, owned };
  }

  /** Copying a directory into itself would never end (`cp` refuses it too). */
  private checkNotInside(where: Where): void {
    const source = this.onSource(where, () => realpathSync(where.source));
    const destination = this.onDestination(where, () => realpathSync(where.destination));
    if (destination === source || destination.startsWith(`${source}/`)) {
      throw new StageError(
        `${directiveName(this.options.direction)} destination ${where.destinationWritten} is inside the source ${where.sourceWritten}`,
      );
    }
  }

  private makeParents(path: string, where: Where): void {
    this.onDestination(where, () =>
      mkdirSync(dirname(path), { recursive: true, mode: CREATED_DIR_MODE }),
    );
  }

  // --- errors ------------------------------------------------------------------------------

  /** The destination's stats, or undefined when it does not exist. */
  private destinationStat(where: Where, statFunction: typeof statSync): Stats | undefined {
    try {
      return statFunction(where.destination);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.failure(error, where, 'destination');
    }
  }

  private onSource<T>(where: Where, step: () => T): T {
    try {
      return step();
    } catch (error) {
      throw this.failure(error, where, 'source');
    }
  }

  private onDestination<T>(where: Where, step: () => T): T {
    try {
      return step();
    } catch (error) {
      throw this.failure(error, where, 'destination');
    }
  }

  /** copyFile does not say which side failed: ask the source. */
  private copyFailure(error: unknown, where: Where): Error {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOSPC' && code !== 'EDQUOT' && code !== 'EFBIG') {
      try {
        accessSync(where.source, constants.R_OK);
      } catch (sourceError) {
        return this.failure(sourceError, where, 'source');
      }
    }
    return this.failure(error, where, 'destination');
  }

  private unsupportedType(where: Where, entry: Dirent | Stats): StageError {
    const kind = entry.isFIFO()
      ? 'a named pipe'
      : entry.isSocket()
        ? 'a socket'
        : entry.isBlockDevice() || entry.isCharacterDevice()
          ? 'a device'
          : 'not a regular file';
    return new StageError(
      `${directiveName(this.options.direction)} source ${where.sourceWritten} is ${kind}; only regular files, directories and symbolic links can be staged`,
    );
  }

  /** An OS error as a StageError the job owner can act on, or a ProviderError. */
  private failure(error: unknown, where: Where, side: Side): Error {
    if (error instanceof DacError) return error;
    const code = (error as NodeJS.ErrnoException).code;
    const directive = directiveName(this.options.direction);
    const written = side === 'source' ? where.sourceWritten : where.destinationWritten;
    const subject = `${directive} ${side} ${written}`;
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
          this.options.direction === 'in'
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
        return new ProviderError(`${directive} failed on ${written}: ${code ?? 'unknown error'}`, {
          detail: String(error),
          cause: error,
        });
    }
  }
}

function subdirectory(where: Where, parent: DirNode): DirNode {
  return { where, stats: undefined, fresh: false, applyAttributes: true, pending: 0, parent };
}

function childPath(parent: string, name: string): string {
  return parent.endsWith('/') ? `${parent}${name}` : `${parent}/${name}`;
}

/** `/a/b/` → `/a/b`; `/` stays. */
function trimSlashes(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

/** Milliseconds → the seconds (with fraction) utimes takes. */
function seconds(milliseconds: number): number {
  return milliseconds / 1000;
}
