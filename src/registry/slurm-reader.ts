/**
 * The reads of the Slurm calls that must be fast (`pools`, `show_sessions`, `show_instances`,
 * `real_size`, `paths`, `job_process`): each one etcd request, decoded without zod.
 * `RegistryReader` has the full reads (dwstat, placement); this one loads only what these
 * calls need.
 */
import type { KeyReader } from '../keystore/keystore';
import type { KeyLayout } from './keys';
import { poolTable, poolTableRanges, type PoolTable } from './pool-table';
import { decodeSlurmSession, type SlurmSession } from './slurm-records';

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

  /** Every session, sorted by token, from one range read. */
  async sessions(): Promise<SlurmSession[]> {
    const prefix = this.keys.sessions();
    const { kvs } = await this.reader.range(prefix);
    return kvs.map((kv) => decodeSlurmSession(kv.key, kv.value));
  }

  /** One session, or undefined. */
  async session(token: string): Promise<SlurmSession | undefined> {
    const key = this.keys.session(token);
    const kv = await this.reader.get(key);
    return kv ? decodeSlurmSession(kv.key, kv.value) : undefined;
  }
}
