/**
 * The counts of a copy and their reports. `files` counts regular files and symbolic links,
 * `bytes` the sizes of the regular files, whether copied in this run or found complete. Reports
 * are throttled: a tree of small files completes thousands a second, and each report becomes
 * a line on the stager's stdout and, in dacd, a write to etcd.
 */
import type { TransferProgress } from '../provider';

/** At most about four reports a second. */
export const PROGRESS_INTERVAL_MS = 250;

export class CopyProgress {
  private bytes = 0;
  private files = 0;
  private lastReport = Number.NEGATIVE_INFINITY;

  constructor(private readonly onProgress: (progress: TransferProgress) => void) {}

  /** A file or link is complete; reported if the last report is old enough. */
  count(bytes: number): void {
    this.files += 1;
    this.bytes += bytes;
    const now = Date.now();
    if (now - this.lastReport >= PROGRESS_INTERVAL_MS) {
      this.lastReport = now;
      this.onProgress({ bytes: this.bytes, files: this.files });
    }
  }

  /**
   * Bytes a failed file copy left in the destination: counted so that the counts say what the
   * destination holds, but not as a file, since it is not complete.
   */
  countLeftBehind(bytes: number): void {
    this.bytes += bytes;
  }

  /** Report the counts now, whenever the last report was; returns them. */
  report(): TransferProgress {
    const total = { bytes: this.bytes, files: this.files };
    this.onProgress(total);
    return total;
  }
}
