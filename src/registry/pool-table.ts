/**
 * The pool table Slurm polls (`pools`) and `job_process` checks against, from one snapshot of
 * the small parts of the inventory: pool records, host usage records, the keys of the liveness
 * records and the number of host records.
 * Pure, and free of zod (see `record-codecs.ts`).
 */
import { RecordError, RecordIdentityError } from '../errors/errors';
import type { RangeSpec, SnapshotResult } from '../keystore/keystore';
import type { KeyLayout } from './keys';
import { byName, emptyPoolView, type PoolView } from './pool-view';
import { largestSession } from './session-limits';
import { HostUsageRecord, SlurmPool } from './record-codecs';

/** The pool table, and the hosts left out of it. */
export interface PoolTable {
  /** Sorted by pool name. */
  views: PoolView[];
  /**
   * How many registered hosts have no usage record (registered by an older version, until
   * their dacd restarts): their bricks are not counted, so the table never offers capacity it
   * cannot vouch for.
   */
  hostsWithoutUsage: number;
  /**
   * Pool and usage records that cannot be read, each naming its key. One bad record costs only
   * its pool or host, whose bricks are left out: Slurm keeps getting the rest.
   */
  damaged: RecordError[];
}

/** The ranges of the snapshot `poolTable` reads, in the order it expects them. */
export function poolTableRanges(keys: KeyLayout): RangeSpec[] {
  return [
    { prefix: keys.pools() },
    { prefix: keys.usages() },
    { prefix: keys.alives(), keysOnly: true },
    { prefix: keys.hosts(), countOnly: true },
  ];
}

/**
 * What `job_process` checks a request against: a pool's name, granularity and size, and the
 * most bricks one buffer can have in it (`session-limits.ts`), all counted with every brick,
 * allocated or not, of every host, up or not: what the pool could ever give one buffer.
 */
export type PoolCapacity = Pick<PoolView, 'name' | 'granularityBytes' | 'quantity'> & {
  largestSessionBricks: number;
};

/**
 * The ranges of the snapshot `poolCapacities` reads: the pool and usage records alone, since
 * a pool's size does not depend on which hosts are alive.
 */
export function poolCapacityRanges(keys: KeyLayout): RangeSpec[] {
  return poolTableRanges(keys).slice(0, 2);
}

/** Each pool's name, granularity and size, from the snapshot of `poolCapacityRanges`. */
export function poolCapacities(
  keys: KeyLayout,
  snapshot: Omit<SnapshotResult, 'revision'>,
): PoolCapacity[] {
  // The same decoding and checks as the full table, with no host counted as alive.
  const [poolKvs = [], usageKvs = []] = snapshot.ranges;
  const bricksByHost = new Map<string, number[]>();
  const { views } = poolTable(
    keys,
    { ranges: [poolKvs, usageKvs], keys: [], counts: [] },
    bricksByHost,
  );
  return views.map(({ name, granularityBytes, quantity }) => ({
    name,
    granularityBytes,
    quantity,
    largestSessionBricks: largestSession(bricksByHost.get(name) ?? []),
  }));
}

/** The name of a key directly under `prefix`, or undefined for a deeper key (not ours). */
export function childName(key: string, prefix: string): string | undefined {
  const name = key.slice(prefix.length);
  return name === '' || name.includes('/') ? undefined : name;
}

/**
 * Build the table from the snapshot of `poolTableRanges`. A bad record is left out and listed
 * in `damaged`.
 * With `bricksByHost`, also lists there each counted host's number of bricks, by pool.
 */
export function poolTable(
  keys: KeyLayout,
  snapshot: Omit<SnapshotResult, 'revision'>,
  bricksByHost?: Map<string, number[]>,
): PoolTable {
  const [poolKvs = [], usageKvs = []] = snapshot.ranges;
  const aliveKeys = snapshot.keys[2] ?? [];
  const hostCount = snapshot.counts[3] ?? 0;
  const views = new Map<string, PoolView>();
  const damaged: RecordError[] = [];
  for (const kv of poolKvs) {
    const name = childName(kv.key, keys.pools());
    if (name === undefined) continue;
    try {
      const pool = SlurmPool.decode(kv.key, kv.value);
      if (pool.name !== name) throw new RecordIdentityError(kv.key, 'name', pool.name);
      views.set(pool.name, emptyPoolView(pool));
    } catch (error) {
      if (!(error instanceof RecordError)) throw error;
      damaged.push(error);
    }
  }
  // Indexed loops and prefixes built once: these loops run over every host on every call, in
  // code that is always cold (V8's interpreter runs for-of and Object.entries slowly).
  const alivePrefix = keys.alives();
  const alive = new Set<string | undefined>();
  for (let i = 0; i < aliveKeys.length; i += 1) alive.add(childName(aliveKeys[i]!, alivePrefix));
  const usagePrefix = keys.usages();
  let counted = 0;
  for (let i = 0; i < usageKvs.length; i += 1) {
    const kv = usageKvs[i]!;
    const host = childName(kv.key, usagePrefix);
    if (host === undefined) continue;
    // Keys are unique, and each names its host: no host is counted twice. A host whose usage
    // record cannot be read has one all the same.
    counted += 1;
    let usage: HostUsageRecord;
    try {
      usage = HostUsageRecord.decode(kv.key, kv.value);
      if (usage.host !== host) throw new RecordIdentityError(kv.key, 'host', usage.host);
    } catch (error) {
      if (!(error instanceof RecordError)) throw error;
      damaged.push(error);
      continue;
    }
    const usable = usage.enabled && alive.has(host);
    const names = Object.keys(usage.pools);
    for (let p = 0; p < names.length; p += 1) {
      const view = views.get(names[p]!);
      if (!view) continue; // a brick of an unknown pool is reported by dwstat nodes
      const { bricks, allocated } = usage.pools[names[p]!]!;
      const taken = Math.min(allocated, bricks);
      view.quantity += bricks;
      view.allocated += taken;
      if (bricksByHost) {
        const list = bricksByHost.get(view.name);
        if (list) list.push(bricks);
        else bricksByHost.set(view.name, [bricks]);
      }
      if (usable) view.free += bricks - taken;
      else view.unavailable += bricks - taken;
    }
  }
  return {
    views: byName(views),
    hostsWithoutUsage: Math.max(0, hostCount - counted),
    damaged,
  };
}
