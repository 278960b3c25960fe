/**
 * Where a wait on a session starts: a step call that has written (or read) the session watches
 * it, and the host that serves it, from the revision after this one, and reads neither again
 * (request-phase.ts). What the registry's writes answer to make that possible.
 */
import type { SessionRecord } from './model';

export interface WaitPoint {
  session: SessionRecord;
  /** The revision at which `session` was read or written: a watch starts at the next. */
  revision: number;
  /**
   * Whether the session's serving host (`session.reconciler`) had its liveness key at
   * `revision`; undefined when that was not read (no serving host, or the caller did not ask).
   */
  hostAlive?: boolean;
}
