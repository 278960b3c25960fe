/**
 * The summary of a session that Slurm's polled calls report (`show_sessions`,
 * `show_instances`), and the bucket it is stored in: pure and free of zod, so the registry
 * (which writes them) and the CLI (`real_size`, which computes a summary from the full
 * record; `show_*`, which read the buckets) agree.
 */
import type { SessionRecord, SessionSummary } from './model';

/** The fields a summary is made from. */
export type SummarisedSession = Pick<
  SessionRecord,
  'id' | 'token' | 'owner' | 'createdAt' | 'bricks' | 'granularityBytes' | 'computeHosts'
>;

/** The summary of `session`. */
export function summariseSession(session: SummarisedSession): SessionSummary {
  return {
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
export function sameSummary(a: SessionSummary, b: SessionSummary): boolean {
  return (
    a.id === b.id &&
    a.token === b.token &&
    a.uid === b.uid &&
    a.createdAt === b.createdAt &&
    a.bytes === b.bytes &&
    a.nodes === b.nodes
  );
}

/**
 * How many buckets the summaries are spread over. Few enough that etcd answers `show_*` from
 * a few dozen keys, many enough that concurrent setups rarely write the same one (a clash
 * only costs the later one a retry). Part of the layout: changing it moves every summary.
 */
export const SUMMARY_BUCKETS = 64;

/** The name of the bucket that holds the summary of session `token`: `00` to `3f`. */
export function summaryBucketOf(token: string): string {
  // FNV-1a over the UTF-16 code units: stable, and spreads job ids that differ in one digit.
  let hash = 0x811c9dc5;
  for (let i = 0; i < token.length; i += 1) {
    hash ^= token.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return ((hash >>> 0) % SUMMARY_BUCKETS).toString(16).padStart(2, '0');
}

/** Every bucket name, in key order. */
export function summaryBucketNames(): string[] {
  return Array.from({ length: SUMMARY_BUCKETS }, (_, i) => i.toString(16).padStart(2, '0'));
}

/** `summaries` with `summary` in place of the one for its token (or added), sorted by token. */
export function withSummary(
  summaries: readonly SessionSummary[],
  summary: SessionSummary,
): SessionSummary[] {
  return [...withoutSummary(summaries, summary.token), summary].sort(byToken);
}

/** `summaries` without the one for `token`. */
export function withoutSummary(
  summaries: readonly SessionSummary[],
  token: string,
): SessionSummary[] {
  return summaries.filter((summary) => summary.token !== token);
}

/** Order of summaries by token (code units, as etcd orders keys of ASCII tokens). */
export function byToken(a: SessionSummary, b: SessionSummary): number {
  return a.token < b.token ? -1 : a.token > b.token ? 1 : 0;
}
