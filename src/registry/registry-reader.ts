/**
 * The registry's reads: pools, hosts, liveness, allocations and sessions, through any
 * `KeyReader`, every record validated with zod. dwstat uses it on `Http2EtcdKeystore`; `Registry`
 * adds the writes on a full `Keystore`. The calls Slurm polls use the lighter `SlurmReader`.
 */
import type { KeyReader } from '../keystore/keystore';
import { NotFoundError, RecordError } from '../errors/errors';
import { readEvents, type EventRead } from './event-log';
import { buildInventory, poolViews, type Inventory } from './inventory';
import type { KeyLayout } from './keys';
import { PoolRecord, type SessionRecord } from './record-codecs';
import type { PoolView } from './pool-view';
import { decodeRecord } from './record-codec';
import { decodeSession, decodeStoredSession, type StoredSession } from './session-codec';

export type { StoredSession } from './session-codec';

export class RegistryReader {
  constructor(
    private readonly reader: KeyReader,
    readonly keys: KeyLayout,
  ) {}

  /** The history from `sinceMs` to `nowMs` (event-log.ts), oldest first. */
  events(sinceMs: number, nowMs: number): Promise<EventRead> {
    return readEvents(this.reader, this.keys, sinceMs, nowMs);
  }

  /** One range read of pools, hosts, liveness and allocations. */
  async readInventory(): Promise<Inventory> {
    const { kvs, revision } = await this.reader.range(this.keys.inventory());
    return buildInventory(this.keys, kvs, revision);
  }

  /**
   * The pool table (granularity, quantity, free), from one range read. An operator's view:
   * a damaged record fails it, naming the key (allocation leaves that host out instead).
   */
  async pools(): Promise<PoolView[]> {
    const inventory = await this.readInventory();
    if (inventory.damaged[0]) throw inventory.damaged[0];
    return poolViews(inventory);
  }

  /** Read one pool; NotFoundError if it does not exist. */
  async getPool(name: string): Promise<PoolRecord> {
    const key = this.keys.pool(name);
    const kv = await this.reader.get(key);
    if (!kv) throw new NotFoundError(`pool "${name}" does not exist`);
    return decodeRecord(PoolRecord, key, kv.value);
  }

  /** Every session, sorted by token. */
  async sessions(): Promise<SessionRecord[]> {
    const { kvs } = await this.reader.range(this.keys.sessions());
    return kvs.map((kv) => decodeSession(kv));
  }

  /**
   * Every session that can be read, and a RecordError (naming its key) for each that cannot:
   * for views that show the others rather than fail on one bad record. `revision` is the store
   * revision of the read, for a watch that follows on from it (SessionStore.watchSessions).
   */
  async readableSessions(): Promise<{
    sessions: SessionRecord[];
    damaged: RecordError[];
    revision: number;
  }> {
    const { kvs, revision } = await this.reader.range(this.keys.sessions());
    const sessions: SessionRecord[] = [];
    const damaged: RecordError[] = [];
    for (const kv of kvs) {
      try {
        sessions.push(decodeSession(kv));
      } catch (error) {
        if (!(error instanceof RecordError)) throw error;
        damaged.push(error);
      }
    }
    return { sessions, damaged, revision };
  }

  /** One session, or undefined. */
  async getSession(token: string): Promise<StoredSession | undefined> {
    const key = this.keys.session(token);
    const kv = await this.reader.get(key);
    return kv ? decodeStoredSession(kv) : undefined;
  }

  /** Whether a host's liveness key exists now, and the store revision of that read. */
  async hostAlive(host: string): Promise<{ alive: boolean; revision: number }> {
    const { kvs, revision } = await this.reader.range(this.keys.alive(host));
    return { alive: kvs.some((kv) => kv.key === this.keys.alive(host)), revision };
  }
}
