/**
 * Brick placement: which free bricks a new volume gets. Pure and deterministic: the same
 * inventory and seed give the same answer.
 *
 * Policy: only live, enabled hosts; spread the volume over as many hosts as possible
 * (bandwidth) by taking one brick per host in turn. The seed (the session token) rotates the
 * starting host and brick, so that concurrent requests, which all read the same inventory,
 * mostly choose different bricks instead of all racing for the same ones.
 *
 * "As many hosts as possible" is also bounded by what one etcd transaction holds
 * (`session-limits.ts`): one brick per host up to 42 bricks; a larger volume goes to the hosts
 * with the most free bricks, as many of them as its transaction allows.
 *
 * In two steps, so that `setup` need not read every host: `spreadBricks` chooses how many
 * bricks each host gives from the free counts alone (the usage records hold them), and
 * `devicesOn` then picks the devices on those hosts from their host and allocation records.
 */
import { CapacityError, NotFoundError } from '../errors/errors';
import { formatBytes } from '../units/bytes';
import { brickId, type Inventory } from './inventory';
import type { BrickRef } from './model';
import { largestSession, maxSessionHosts } from './session-limits';

/** FNV-1a: a small stable hash, so placement does not depend on the runtime. */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

function rotate<T>(items: T[], by: number): T[] {
  if (items.length === 0) return items;
  const start = by % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

/** What placement needs to know of a host: its free bricks in the pool, and whether it is up. */
export interface HostChoice {
  name: string;
  /** Bricks of the pool that are not allocated. */
  free: number;
  enabled: boolean;
  alive: boolean;
}

/**
 * The hosts of a pool as placement sees them: from a whole inventory (`placementView`), or
 * from the hosts' usage records and liveness keys alone (what `setup` reads).
 */
export interface PlacementView {
  pools: ReadonlyMap<string, { granularityBytes: bigint }>;
  /** Every host known, in any order. */
  hosts: readonly HostChoice[];
  /** Hosts left out for a damaged record (named when capacity is short). */
  damagedHosts: ReadonlySet<string>;
}

/** The free bricks of `pool` on a host of `inventory`, by device name. */
function freeDevices(inventory: Inventory, host: string, pool: string): string[] {
  const state = inventory.hosts.get(host);
  if (!state) return [];
  return state.record.bricks
    .filter((b) => b.pool === pool && !inventory.allocations.has(brickId(host, b.device)))
    .map((b) => b.device)
    .sort();
}

/** The placement view of a whole inventory. */
export function placementView(inventory: Inventory, pool: string): PlacementView {
  return {
    pools: inventory.pools,
    hosts: [...inventory.hosts].map(([name, state]) => ({
      name,
      free: freeDevices(inventory, name, pool).length,
      enabled: state.record.enabled,
      alive: state.aliveCreateRevision !== undefined,
    })),
    damagedHosts: inventory.damagedHosts,
  };
}

/**
 * Choose `count` free bricks of `pool`, primary first.
 * Throws NotFoundError for an unknown pool and CapacityError, with the numbers, when the pool
 * cannot satisfy the request now.
 */
export function chooseBricks(
  inventory: Inventory,
  pool: string,
  count: number,
  seed: string,
): BrickRef[] {
  const hosts = spreadBricks(placementView(inventory, pool), pool, count, seed);
  return devicesOn(inventory, pool, hosts, seed)!;
}

/**
 * The host of each of `count` bricks of `pool`, primary first (a host appears once per brick
 * it gives), chosen from the free counts alone. Throws as `chooseBricks` does.
 */
export function spreadBricks(
  view: PlacementView,
  pool: string,
  count: number,
  seed: string,
): string[] {
  const poolRecord = view.pools.get(pool);
  if (!poolRecord) {
    const known = [...view.pools.keys()].sort().join(', ') || 'none';
    throw new NotFoundError(`pool "${pool}" does not exist (pools: ${known})`);
  }
  if (count === 0) return [];
  const hash = stableHash(seed);
  const candidates = view.hosts
    .filter((host) => host.enabled && host.alive && host.free > 0)
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const available = candidates.reduce((sum, host) => sum + host.free, 0);
  if (available < count) {
    const granularity = poolRecord.granularityBytes;
    throw new CapacityError(
      `pool "${pool}" has ${available} free brick${available === 1 ? '' : 's'} of ` +
        `${formatBytes(granularity)}; this request needs ${count} ` +
        `(${formatBytes(granularity * BigInt(count))})${unusableHosts(view)}`,
    );
  }
  // Round-robin over hosts, starting at a seed-dependent host.
  let queues = rotate(candidates, hash);
  const hostLimit = maxSessionHosts(count);
  // Up to 42 bricks, the first hosts in seed order give one brick each, within the limit.
  if (count > hostLimit && queues.length > hostLimit) {
    // The hosts with the most free bricks (a stable sort: in seed order among equals).
    queues = [...queues].sort((a, b) => b.free - a.free).slice(0, Math.max(0, hostLimit));
    const reachable = queues.reduce((sum, host) => sum + host.free, 0);
    if (reachable < count) {
      const granularity = poolRecord.granularityBytes;
      const largest = largestSession(candidates.map((host) => host.free));
      throw new CapacityError(
        `this request needs ${count} bricks of ${formatBytes(granularity)} ` +
          `(${formatBytes(granularity * BigInt(count))}) in one buffer; with the free bricks of ` +
          `pool "${pool}" now, one buffer can have at most ${largest} ` +
          `(${formatBytes(granularity * BigInt(largest))}): each buffer is one etcd ` +
          `transaction, and the more bricks it has, the fewer hosts it may use`,
      );
    }
  }
  const chosen: string[] = [];
  for (let round = 0; chosen.length < count; round += 1) {
    for (const host of queues) {
      if (round < host.free) chosen.push(host.name);
      if (chosen.length === count) break;
    }
  }
  return chosen;
}

/**
 * The bricks for `hosts` (the host of each brick, as `spreadBricks` gives them): on each host,
 * its free devices of `pool` in `inventory`, from a seed-dependent one on. Undefined when a
 * host has fewer free devices in `inventory` than `hosts` asks of it (the counts that chose
 * it were older than `inventory`).
 */
export function devicesOn(
  inventory: Inventory,
  pool: string,
  hosts: readonly string[],
  seed: string,
): BrickRef[] | undefined {
  const shift = stableHash(seed) >>> 8;
  const free = new Map<string, string[]>();
  const taken = new Map<string, number>();
  const bricks: BrickRef[] = [];
  for (const host of hosts) {
    let devices = free.get(host);
    if (!devices) free.set(host, (devices = rotate(freeDevices(inventory, host, pool), shift)));
    const index = taken.get(host) ?? 0;
    const device = devices[index];
    if (device === undefined) return undefined;
    taken.set(host, index + 1);
    bricks.push({ host, device });
  }
  return bricks;
}

/** How many hosts to name in a message; more are counted. */
const NAMED_HOSTS = 5;

/**
 * Why free bricks of the pool cannot be had now: the hosts that are down (no liveness key),
 * drained, or left out for a damaged record, for a capacity message.
 */
function unusableHosts(view: PlacementView): string {
  const down: string[] = [];
  const drained: string[] = [];
  for (const host of [...view.hosts].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if ((host.enabled && host.alive) || host.free === 0) continue;
    (host.enabled ? down : drained).push(host.name);
  }
  const parts = [
    [down, 'down (no liveness lease)'],
    [drained, 'drained'],
    [[...view.damagedHosts].sort(), 'left out: a record of theirs is damaged'],
  ] as const;
  const said = parts
    .filter(([hosts]) => hosts.length > 0)
    .map(([hosts, why]) => `${why}: ${namedList(hosts)}`);
  return said.length === 0 ? '' : `; hosts ${said.join('; ')}`;
}

function namedList(hosts: readonly string[]): string {
  const named = hosts.slice(0, NAMED_HOSTS).join(', ');
  return hosts.length > NAMED_HOSTS ? `${named} and ${hosts.length - NAMED_HOSTS} more` : named;
}
