/**
 * What a copy will copy, measured before it starts: the `files` and `bytes` its counts reach
 * when it completes (copy-progress.ts), for the progress that people read (`1.2 GiB of 4 GiB`).
 *
 * It takes the copy engine's own choices (copy-sources.ts for the transfers' sources,
 * copy-tree.ts for what a directory copy includes), and reads the sources only: the regular
 * files and links (counted as files of no bytes) of each transfer, in the order the copy takes
 * them; a file copied by two transfers is counted twice, as the copy counts it. Files a
 * previous run completed count too, as in the copy's counts. Like the copy, it runs as the
 * job's owner, so the kernel decides what it may see.
 *
 * Measuring never fails a stage: when a source cannot be measured (missing, unreadable, of a
 * type the copy refuses, a bad list line), there are no totals, and the copy that follows
 * decides what that source means, as it always did. Only an abort stops it with an error.
 */
import type { Stats } from 'node:fs';
import { AbortedError } from '../../errors/errors';
import type { BufferRoots, ResolvedTransfer, TransferProgress, TransferTotals } from '../provider';
import { CopyErrors } from './copy-errors';
import { StepPacer } from './copy-scheduler';
import {
  directorySource,
  directoryWhere,
  fileSource,
  listEntries,
  listEntrySource,
} from './copy-sources';
import { measureTree } from './copy-tree';
import { Where } from './copy-where';
import type { StageDirection } from './resolve';

export interface MeasureOptions {
  signal: AbortSignal;
  /** The buffer roots, for the lines of list files. */
  roots: BufferRoots;
  direction: StageDirection;
  /** Why there are no totals (for the log); the measuring itself does not fail. */
  onUnmeasured?(error: unknown): void;
}

/**
 * The totals of `transfers` (as the current user), or undefined when a source cannot be
 * measured. Rejects with an AbortedError when `signal` is aborted.
 */
export async function measureTransfers(
  transfers: readonly ResolvedTransfer[],
  options: MeasureOptions,
): Promise<TransferTotals | undefined> {
  const measurer = new TransferMeasurer(options);
  try {
    const counts = await measurer.run(transfers);
    return { totalBytes: counts.bytes, totalFiles: counts.files };
  } catch (error) {
    if (error instanceof AbortedError || options.signal.aborted) throw measurer.errors.aborted();
    options.onUnmeasured?.(error);
    return undefined;
  }
}

/** The transfers of one measureTransfers call, one after another. */
class TransferMeasurer {
  readonly errors: CopyErrors;
  private readonly pacer: StepPacer;
  private bytes = 0;
  private files = 0;

  constructor(private readonly options: MeasureOptions) {
    this.errors = new CopyErrors(options.direction, process.getuid?.() ?? 0);
    this.pacer = new StepPacer(options.signal, () => this.errors.aborted());
  }

  async run(transfers: readonly ResolvedTransfer[]): Promise<TransferProgress> {
    for (const transfer of transfers) {
      await this.pacer.next();
      if (transfer.type === 'list') await this.measureList(transfer);
      else if (transfer.type === 'directory') await this.measureDirectory(transfer);
      else this.measureFile(transfer);
    }
    return { bytes: this.bytes, files: this.files };
  }

  private async measureList(transfer: ResolvedTransfer): Promise<void> {
    const { direction, roots } = this.options;
    for (const entry of listEntries(transfer, this.errors, direction, roots)) {
      await this.pacer.next();
      const source = listEntrySource(entry, this.errors);
      if (source.isDirectory()) await this.measureDirectory(entry, source);
      else this.measureFile(entry, source);
    }
  }

  private measureFile(transfer: ResolvedTransfer, known?: Stats): void {
    const source = fileSource(Where.of(transfer), this.errors, known);
    this.files += 1;
    this.bytes += source.size;
  }

  private async measureDirectory(transfer: ResolvedTransfer, known?: Stats): Promise<void> {
    const where = directoryWhere(transfer);
    directorySource(where, this.errors, known);
    const counts = await measureTree(where, this.errors, this.options.signal);
    this.files += counts.files;
    this.bytes += counts.bytes;
  }
}
