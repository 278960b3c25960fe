/**
 * The summary of a session that Slurm's polled calls report (`show_sessions`,
 * `show_instances`): pure and free of zod, so the registry (which writes it) and the CLI
 * (`real_size`, which computes it from the full record) agree.
 */
import type { SessionRecord, SessionSummaryRecord } from './model';

/** The fields a summary is made from. */
export type SummarisedSession = Pick<
  SessionRecord,
  'id' | 'token' | 'owner' | 'createdAt' | 'bricks' | 'granularityBytes' | 'computeHosts'
>;

/** The summary of `session`. */
export function summariseSession(session: SummarisedSession): SessionSummaryRecord {
  return {
    schemaVersion: 1,
    id: session.id,
    token: session.token,
    uid: session.owner.uid,
    createdAt: session.createdAt,
    // Whole bricks, each one granule of the pool.
    bytes: BigInt(session.bricks.length) * session.granularityBytes,
    nodes: session.computeHosts.length,
  };
}

/** True if two summaries say the same (the registry rewrites a summary only when it changes). */
export function sameSummary(a: SessionSummaryRecord, b: SessionSummaryRecord): boolean {
  return (
    a.id === b.id &&
    a.token === b.token &&
    a.uid === b.uid &&
    a.createdAt === b.createdAt &&
    a.bytes === b.bytes &&
    a.nodes === b.nodes
  );
}
