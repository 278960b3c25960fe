/**
 * The reads of the Slurm calls that must be fast (`pools`, `show_sessions`, `show_instances`,
 * `real_size`, `paths`, `job_process`): each one etcd request, decoded without zod.
 * `RegistryReader` has the full reads (dwstat, placement); this one loads only what these
 * calls need.
 */
import { RecordError } from '../errors/errors';
import type { KeyReader } from '../keystore/keystore';
import type { SessionSummaryRecord } from './model';
import type { KeyLayout } from './keys';
import { poolTable, poolTableRanges, type PoolTable } from './pool-table';
import { decodeSessionSummary, decodeSlurmSession, type SlurmSession } from './slurm-records';

export class SlurmReader {
  constructor(
    private readonly reader: KeyReader,
    readonly keys: KeyLayout,
  ) {}

  /** Pools with their quantity and free bricks, from one snapshot read. */
  async poolTable(): Promise<PoolTable> {
    const { ranges } = await this.reader.snapshot(poolTableRanges(this.keys));
    return poolTable(this.keys, ranges);
  }

  /**
   * The summary of every session, sorted by token, from one snapshot of the summaries and the
   * session keys. A session without a summary (recorded by a version without them) fails the
   * read rather than going missing from the list: Slurm purges buffers it does not see.
   */
  async sessionSummaries(): Promise<SessionSummaryRecord[]> {
    const summariesPrefix = this.keys.sessionSummaries();
    const sessionsPrefix = this.keys.sessions();
    const {
      ranges: [summaryKvs = [], sessionKvs = []],
    } = await this.reader.snapshot([
      { prefix: summariesPrefix },
      { prefix: sessionsPrefix, keysOnly: true },
    ]);
    const summaries = new Map(
      summaryKvs.map((kv) => [kv.key.slice(summariesPrefix.length), kv] as const),
    );
    return sessionKvs.map((sessionKv) => {
      const token = sessionKv.key.slice(sessionsPrefix.length);
      const kv = summaries.get(token);
      if (!kv) {
        throw new RecordError(
          sessionKv.key,
          'the session has no summary (recorded by an older version); restart dacd on any ' +
            'storage host to write the missing summaries',
        );
      }
      return decodeSessionSummary(kv.key, kv.value);
    });
  }

  /** One session, or undefined. */
  async session(token: string): Promise<SlurmSession | undefined> {
    const key = this.keys.session(token);
    const kv = await this.reader.get(key);
    return kv ? decodeSlurmSession(kv.key, kv.value) : undefined;
  }
}
