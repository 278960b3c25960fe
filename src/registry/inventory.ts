/**
 * The inventory snapshot: pools, hosts, liveness and brick allocations, decoded from one
 * range read of `<prefix>inventory/`. Pure: the snapshot is built from key/values, so the
 * pool view and placement can be tested without a store.
 */
import { RecordError, RecordIdentityError } from '../errors/errors';
import type { KeyValue } from '../keystore/keystore';
import type { KeyLayout } from './keys';
import {
  AliveRecord,
  AllocationRecord,
  HostRecord,
  HostUsageRecord,
  PoolRecord,
  SCHEMA_VERSION,
  type AllocationRecord as Allocation,
  type HostRecord as Host,
  type PoolRecord as Pool,
} from './record-codecs';
import { byName, emptyPoolView, type PoolView } from './pool-view';
import { decodeRecord } from './record-codec';

export interface HostState {
  record: Host;
  /** Create revision of the liveness key, or undefined when the host is not alive. */
  aliveCreateRevision?: number;
  /** Mod revision of the host's usage record, or 0 when it has none (for compare-and-swap). */
  usageModRevision: number;
}

export interface Inventory {
  /** Store revision of the read. */
  revision: number;
  pools: Map<string, Pool>;
  hosts: Map<string, HostState>;
  /** Keyed by `host/device`. */
  allocations: Map<string, Allocation>;
  /**
   * Records that cannot be read, each naming its key. A bad pool record leaves its pool out; a
   * bad host, usage, liveness or allocation record leaves its host out (in `damagedHosts`), so
   * that one bad record never stops allocation on the others.
   */
  damaged: RecordError[];
  damagedHosts: Set<string>;
}

/** Key of the allocations map. */
export function brickId(host: string, device: string): string {
  return `${host}/${device}`;
}

/** Decode an inventory range; a bad record is left out and listed in `damaged`. */
export function buildInventory(keys: KeyLayout, kvs: KeyValue[], revision: number): Inventory {
  const inventory: Inventory = {
    revision,
    pools: new Map(),
    hosts: new Map(),
    allocations: new Map(),
    damaged: [],
    damagedHosts: new Set(),
  };
  const alive = new Map<string, number>();
  const usageRevisions = new Map<string, number>();
  /** Decode one record into the inventory; throws RecordError for a bad one. */
  function decodeInventoryRecord(
    kv: KeyValue,
    parsed: NonNullable<ReturnType<KeyLayout['parseInventoryKey']>>,
  ): void {
    switch (parsed.kind) {
      case 'pool': {
        const pool = decodeRecord(PoolRecord, kv.key, kv.value);
        if (pool.name !== parsed.pool) {
          throw new RecordIdentityError(kv.key, 'name', pool.name);
        }
        inventory.pools.set(pool.name, pool);
        break;
      }
      case 'host': {
        const host = decodeRecord(HostRecord, kv.key, kv.value);
        if (host.name !== parsed.host) throw new RecordIdentityError(kv.key, 'name', host.name);
        inventory.hosts.set(host.name, { record: host, usageModRevision: 0 });
        break;
      }
      case 'usage': {
        const usage = decodeRecord(HostUsageRecord, kv.key, kv.value);
        if (usage.host !== parsed.host) throw new RecordIdentityError(kv.key, 'host', usage.host);
        usageRevisions.set(parsed.host, kv.modRevision);
        break;
      }
      case 'alive':
        decodeRecord(AliveRecord, kv.key, kv.value);
        alive.set(parsed.host, kv.createRevision);
        break;
      case 'allocation':
        inventory.allocations.set(
          brickId(parsed.host, parsed.device),
          decodeRecord(AllocationRecord, kv.key, kv.value),
        );
        break;
    }
  }
  for (const kv of kvs) {
    const parsed = keys.parseInventoryKey(kv.key);
    if (parsed === undefined) continue; // keys of a newer layout: not ours to judge
    try {
      decodeInventoryRecord(kv, parsed);
    } catch (error) {
      if (!(error instanceof RecordError)) throw error;
      inventory.damaged.push(error);
      if (parsed.kind !== 'pool') inventory.damagedHosts.add(parsed.host);
    }
  }
  for (const host of inventory.damagedHosts) inventory.hosts.delete(host);
  for (const [host, createRevision] of alive) {
    const state = inventory.hosts.get(host);
    if (state) state.aliveCreateRevision = createRevision;
  }
  for (const [host, modRevision] of usageRevisions) {
    const state = inventory.hosts.get(host);
    if (state) state.usageModRevision = modRevision;
  }
  return inventory;
}

/**
 * The usage record of a host: its bricks per pool, and how many of them are allocated. The
 * allocated devices are given, so the same function serves the registry (from an inventory
 * read, plus the bricks a transaction is about to take or free) and tests.
 */
export function hostUsage(host: Host, allocatedDevices: ReadonlySet<string>): HostUsageRecord {
  const pools: HostUsageRecord['pools'] = {};
  for (const brick of host.bricks) {
    // Own properties only: a pool may be called "constructor".
    const usage = Object.hasOwn(pools, brick.pool)
      ? pools[brick.pool]!
      : (pools[brick.pool] = { bricks: 0, allocated: 0 });
    usage.bricks += 1;
    if (allocatedDevices.has(brick.device)) usage.allocated += 1;
  }
  return { schemaVersion: SCHEMA_VERSION, host: host.name, enabled: host.enabled, pools };
}

/** The devices of `host` that hold an allocation in the inventory. */
export function allocatedDevices(inventory: Inventory, host: Host): Set<string> {
  return new Set(
    host.bricks
      .filter((brick) => inventory.allocations.has(brickId(host.name, brick.device)))
      .map((brick) => brick.device),
  );
}

/** True if new work may be placed on the host. */
export function isHostUsable(state: HostState): boolean {
  return state.record.enabled && state.aliveCreateRevision !== undefined;
}

/** The pool table, sorted by name. */
export function poolViews(inventory: Inventory): PoolView[] {
  const views = new Map<string, PoolView>();
  for (const pool of inventory.pools.values()) {
    views.set(pool.name, emptyPoolView(pool));
  }
  for (const state of inventory.hosts.values()) {
    const usable = isHostUsable(state);
    for (const brick of state.record.bricks) {
      const view = views.get(brick.pool);
      if (!view) continue; // a brick of an unknown pool is reported by `dacctl hosts`
      view.quantity += 1;
      if (inventory.allocations.has(brickId(state.record.name, brick.device))) view.allocated += 1;
      else if (usable) view.free += 1;
      else view.unavailable += 1;
    }
  }
  return byName(views);
}
