/**
 * The reads of the Slurm calls that must be fast (`pools`, `show_sessions`, `show_instances`,
 * `real_size`, `paths`, `job_process`): each one etcd request, decoded without zod.
 * `RegistryReader` has the full reads (dwstat, placement); this one loads only what these
 * calls need.
 */
import { DacError, RecordError } from '../errors/errors';
import type { KeyReader, RangeSpec } from '../keystore/keystore';
import type { KeyLayout } from './keys';
import {
  poolCapacities,
  poolCapacityRanges,
  poolTable,
  poolTableRanges,
  type PoolCapacity,
  type PoolTable,
} from './pool-table';
import { summaryBucketOf } from './session-summary';
import { SlurmSession, SummaryBucketRecord, type SessionSummary } from './record-codecs';

/** The ranges of the snapshot `sessionSummaries` reads: the buckets, and the sessions' count. */
export function sessionSummaryRanges(keys: KeyLayout): RangeSpec[] {
  return [{ prefix: keys.summaryBuckets() }, { prefix: keys.sessions(), countOnly: true }];
}

export class SlurmReader {
  constructor(
    private readonly reader: KeyReader,
    readonly keys: KeyLayout,
  ) {}

  /** Pools with their quantity and free bricks, from one snapshot read. */
  async poolTable(): Promise<PoolTable> {
    return poolTable(this.keys, await this.reader.snapshot(poolTableRanges(this.keys)));
  }

  /** Each pool's name, granularity and size (for `job_process`), from one smaller read. */
  async poolCapacities(): Promise<PoolCapacity[]> {
    return poolCapacities(this.keys, await this.reader.snapshot(poolCapacityRanges(this.keys)));
  }

  /**
   * The summary of every session, sorted by token, from one snapshot of the summary buckets
   * and the number of sessions. If the two disagree (sessions recorded by a version without
   * buckets) the read fails rather than leave a session out: Slurm purges buffers it does not
   * see. A summary in the wrong bucket, or listed twice, is a RecordError naming the bucket.
   */
  async sessionSummaries(): Promise<SessionSummary[]> {
    const prefix = this.keys.summaryBuckets();
    const {
      ranges: [kvs = []],
      counts: [, sessions = 0],
    } = await this.reader.snapshot(sessionSummaryRanges(this.keys));
    const byToken = new Map<string, SessionSummary>();
    for (const kv of kvs) {
      const bucket = kv.key.slice(prefix.length);
      const { summaries } = SummaryBucketRecord.decode(kv.key, kv.value);
      for (let i = 0; i < summaries.length; i += 1) {
        const summary = summaries[i]!;
        const { token } = summary;
        const problem =
          summaryBucketOf(token) !== bucket
            ? `session ${token} belongs in bucket ${summaryBucketOf(token)}`
            : byToken.has(token)
              ? `session ${token} is listed twice`
              : undefined;
        if (problem !== undefined) {
          throw new RecordError(
            kv.key,
            `summaries: ${problem}; restart dacd on any storage host to rewrite the buckets`,
          );
        }
        byToken.set(token, summary);
      }
    }
    if (byToken.size !== sessions) throw new SummaryMismatchError(sessions, byToken.size);
    // Sorted by the built-in comparison of strings (the order of `<`, and of etcd's keys for
    // these ASCII tokens), which calls no JavaScript per comparison: in a cold process a
    // comparator function costs over a millisecond for 2,000 sessions.
    return [...byToken.keys()].sort().map((token) => byToken.get(token)!);
  }

  /** One session, or undefined. */
  async session(token: string): Promise<SlurmSession | undefined> {
    const key = this.keys.session(token);
    const kv = await this.reader.get(key);
    return kv ? SlurmSession.decode(kv.key, kv.value) : undefined;
  }
}

/** The session summaries do not match the sessions; an operator must restart a dacd. */
export class SummaryMismatchError extends DacError {
  readonly code = 'E_SUMMARY_MISMATCH';
  readonly kind = 'fatal';
  constructor(sessions: number, summaries: number) {
    super(
      `etcd holds ${sessions} sessions but ${summaries} session summaries (records of an ` +
        'older version?); restart dacd on any storage host to rewrite the summaries',
    );
  }
}
