/**
 * The filesystem provider interface: everything a filesystem needs per session. dacd calls it
 * from its reconcile loop and may call any operation again after a crash or restart, so every
 * operation is idempotent: doing it twice leaves the same state as doing it once.
 *
 * Operations get the whole session record (token, kind, owner uid/gid, bricks, access mode,
 * compute hosts, stage requests) and an AbortSignal: dacd aborts an operation when the session
 * is torn down with --hurry or the daemon stops. An aborted operation rejects promptly and leaves
 * nothing that a repeat of the operation (or `delete`) cannot finish or clean up.
 */
import type { Logger } from '../logging/logger';
import type { SessionRecord, StageRequest } from '../registry/model';

export interface OperationContext {
  session: SessionRecord;
  signal: AbortSignal;
  log: Logger;
}

/** Cumulative counts of one stage operation. */
export interface TransferProgress {
  bytes: number;
  files: number;
}

/**
 * What a stage operation will copy in all, measured before it copies: the `files` and `bytes`
 * its counts reach when it completes (unless the sources change meanwhile).
 */
export interface TransferTotals {
  totalBytes: number;
  totalFiles: number;
}

export interface StageContext extends OperationContext {
  /**
   * Called now and then (at most a few times a second) with the counts so far, and the totals
   * when they are known (they may not be: a source that cannot be measured).
   */
  onProgress(progress: TransferProgress, totals?: TransferTotals): void;
}

export interface FilesystemProvider {
  /** `local`, `lustre`, `beegfs`, ... (for logs and messages). */
  readonly name: string;
  /** Make the session's filesystem exist on its bricks, owned by the session's owner. */
  create(context: OperationContext): Promise<void>;
  /** Make the buffer's paths appear on `hosts` (compute node names). */
  mount(context: OperationContext, hosts: string[]): Promise<void>;
  /** Remove the buffer's paths from `hosts`. Unmounting what is not mounted succeeds. */
  unmount(context: OperationContext, hosts: string[]): Promise<void>;
  /** Copy the session's `stageIn` requests into the buffer, as the owner. */
  stageIn(context: StageContext): Promise<TransferProgress>;
  /** Copy the session's `stageOut` requests out of the buffer, as the owner. */
  stageOut(context: StageContext): Promise<TransferProgress>;
  /** Remove the filesystem and everything it left on the bricks. Deleting nothing succeeds. */
  delete(context: OperationContext): Promise<void>;
}

/** One copy, with both sides resolved to real absolute paths. */
export interface ResolvedTransfer {
  /** The request as the user wrote it, for messages. */
  request: StageRequest;
  source: string;
  destination: string;
  type: StageRequest['type'];
}

/**
 * Where the buffer variables a user may write in stage paths point, as real absolute
 * directories on the host doing the copy: `DW_JOB_STRIPED` and `DW_PERSISTENT_STRIPED_<name>`
 * (without the `$`).
 */
export type BufferRoots = Readonly<Record<string, string>>;

/** Copies a session's stage requests (`in`: stageIn, `out`: stageOut) as its owner. */
export type Stager = (
  context: StageContext,
  direction: 'in' | 'out',
  roots: BufferRoots,
) => Promise<TransferProgress>;
