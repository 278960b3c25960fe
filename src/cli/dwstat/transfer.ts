/**
 * How far a stage has come, for people and for scripts: the counts of a session's `transfer`
 * record, with the totals, the percentage and the average rate where they can be said. Pure.
 * Counts and sizes only: nothing here names a path.
 */
import { formatBytes } from '../../units/bytes';
import type { SessionRecord } from '../../registry/model';

type TransferRecord = NonNullable<SessionRecord['transfer']>;

/**
 * The shortest time over which a rate is given: `updatedAt` is in whole seconds, so a rate over
 * a second or two could be off by half.
 */
export const MIN_RATE_ELAPSED_MS = 2000;

/** A stage's counts as dwstat reports them. */
export interface TransferStatus {
  phase: TransferRecord['phase'];
  /** No more counts come: the stage finished, or failed with these. */
  done: boolean;
  bytes: bigint;
  files: number;
  /** What the stage copies in all, when it was measured. */
  totalBytes?: bigint;
  totalFiles?: number;
  /** How much of the totals is copied, 0 to 100 (whole, rounded down). */
  percent?: number;
  /** The average rate from the stage's start to its last count, in bytes per second. */
  bytesPerSecond?: number;
  /** When the stage started, epoch seconds. */
  startedAt?: number;
  /** When the counts were written, epoch seconds. */
  updatedAt: number;
}

/**
 * How much of the totals is copied, in whole percent (rounded down, at most 100): by bytes, or
 * by files when there are no bytes to copy; undefined without totals.
 */
export function transferPercent(
  bytes: bigint,
  files: number,
  totalBytes: bigint | undefined,
  totalFiles: number | undefined,
): number | undefined {
  let percent: number;
  if (totalBytes !== undefined && totalBytes > 0n) {
    percent = Number((bytes * 100n) / totalBytes);
  } else if (totalFiles !== undefined && totalFiles > 0) {
    percent = Math.floor((files * 100) / totalFiles);
  } else if (totalBytes !== undefined || totalFiles !== undefined) {
    percent = 100; // nothing to copy: all of it is copied
  } else {
    return undefined;
  }
  return Math.min(100, Math.max(0, percent));
}

/**
 * The average rate in bytes per second (rounded down) from `startedAtMs` to `updatedAtSeconds`,
 * taken as the middle of its second; undefined without a start, or over less than
 * {@link MIN_RATE_ELAPSED_MS}.
 */
export function transferRate(
  bytes: bigint,
  startedAtMs: number | undefined,
  updatedAtSeconds: number,
): number | undefined {
  if (startedAtMs === undefined) return undefined;
  const elapsedMs = updatedAtSeconds * 1000 + 500 - startedAtMs;
  if (elapsedMs < MIN_RATE_ELAPSED_MS) return undefined;
  return Number((bytes * 1000n) / BigInt(Math.round(elapsedMs)));
}

/** A session's `transfer` record as dwstat reports it. */
export function transferStatus(transfer: TransferRecord): TransferStatus {
  const { totalBytes, totalFiles, startedAt } = transfer;
  const percent = transferPercent(transfer.bytes, transfer.files, totalBytes, totalFiles);
  const bytesPerSecond = transferRate(transfer.bytes, startedAt, transfer.updatedAt);
  return {
    phase: transfer.phase,
    done: transfer.done,
    bytes: transfer.bytes,
    files: transfer.files,
    ...(totalBytes !== undefined ? { totalBytes } : {}),
    ...(totalFiles !== undefined ? { totalFiles } : {}),
    ...(percent !== undefined ? { percent } : {}),
    ...(bytesPerSecond !== undefined ? { bytesPerSecond } : {}),
    ...(startedAt !== undefined ? { startedAt: Math.floor(startedAt / 1000) } : {}),
    updatedAt: transfer.updatedAt,
  };
}

/**
 * The counts of a running stage in words: `1.2 GiB of 4 GiB, 30%, 120 files of 400,
 * 85 MiB/s`, or without totals `3 GiB in 120 files so far` (and the rate, when known).
 */
export function formatTransfer(status: TransferStatus): string {
  const rate =
    status.bytesPerSecond !== undefined ? [`${formatBytes(status.bytesPerSecond)}/s`] : [];
  const bytes = formatBytes(status.bytes);
  if (status.totalBytes === undefined && status.totalFiles === undefined) {
    return [`${bytes} in ${status.files} files so far`, ...rate].join(', ');
  }
  return [
    status.totalBytes !== undefined ? `${bytes} of ${formatBytes(status.totalBytes)}` : bytes,
    ...(status.percent !== undefined ? [`${status.percent}%`] : []),
    status.totalFiles !== undefined
      ? `${files(status.files)} of ${status.totalFiles}`
      : files(status.files),
    ...rate,
  ].join(', ');
}

/** `1 file`, `120 files`. */
function files(count: number): string {
  return count === 1 ? '1 file' : `${count} files`;
}
