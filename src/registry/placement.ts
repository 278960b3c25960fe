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
 */
import { CapacityError, NotFoundError } from '../errors/errors';
import { formatBytes } from '../units/bytes';
import { brickId, isHostUsable, type Inventory } from './inventory';
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
  const poolRecord = inventory.pools.get(pool);
  if (!poolRecord) {
    const known = [...inventory.pools.keys()].sort().join(', ') || 'none';
    throw new NotFoundError(`pool "${pool}" does not exist (pools: ${known})`);
  }
  if (count === 0) return [];
  const hash = stableHash(seed);
  const candidates: BrickRef[][] = [];
  const hostNames = [...inventory.hosts.keys()].sort();
  for (const name of hostNames) {
    const state = inventory.hosts.get(name)!;
    if (!isHostUsable(state)) continue;
    const free = state.record.bricks
      .filter((b) => b.pool === pool && !inventory.allocations.has(brickId(name, b.device)))
      .map((b) => b.device)
      .sort();
    if (free.length > 0) {
      candidates.push(rotate(free, hash >>> 8).map((device) => ({ host: name, device })));
    }
  }
  const available = candidates.reduce((sum, bricks) => sum + bricks.length, 0);
  if (available < count) {
    const granularity = poolRecord.granularityBytes;
    throw new CapacityError(
      `pool "${pool}" has ${available} free brick${available === 1 ? '' : 's'} of ` +
        `${formatBytes(granularity)}; this request needs ${count} ` +
        `(${formatBytes(granularity * BigInt(count))})${unusableHosts(inventory, pool)}`,
    );
  }
  // Round-robin over hosts, starting at a seed-dependent host.
  let queues = rotate(candidates, hash);
  const hostLimit = maxSessionHosts(count);
  // Up to 42 bricks, the first hosts in seed order give one brick each, within the limit.
  if (count > hostLimit && queues.length > hostLimit) {
    // The hosts with the most free bricks (a stable sort: in seed order among equals).
    queues = [...queues].sort((a, b) => b.length - a.length).slice(0, Math.max(0, hostLimit));
    const reachable = queues.reduce((sum, bricks) => sum + bricks.length, 0);
    if (reachable < count) {
      const granularity = poolRecord.granularityBytes;
      const largest = largestSession(candidates.map((bricks) => bricks.length));
      throw new CapacityError(
        `this request needs ${count} bricks of ${formatBytes(granularity)} ` +
          `(${formatBytes(granularity * BigInt(count))}) in one buffer; with the free bricks of ` +
          `pool "${pool}" now, one buffer can have at most ${largest} ` +
          `(${formatBytes(granularity * BigInt(largest))}): each buffer is one etcd ` +
          `transaction, and the more bricks it has, the fewer hosts it may use`,
      );
    }
  }
  const chosen: BrickRef[] = [];
  for (let round = 0; chosen.length < count; round += 1) {
    for (const queue of queues) {
      const brick = queue[round];
      if (brick) chosen.push(brick);
      if (chosen.length === count) break;
    }
  }
  return chosen;
}

/** How many hosts to name in a message; more are counted. */
const NAMED_HOSTS = 5;

/**
 * Why bricks of `pool` that are not allocated cannot be had now: the hosts that are down (no
 * liveness key), drained, or left out for a damaged record, for a capacity message.
 */
function unusableHosts(inventory: Inventory, pool: string): string {
  const down: string[] = [];
  const drained: string[] = [];
  for (const [name, state] of [...inventory.hosts].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (isHostUsable(state)) continue;
    const idle = state.record.bricks.some(
      (b) => b.pool === pool && !inventory.allocations.has(brickId(name, b.device)),
    );
    if (!idle) continue;
    (state.record.enabled ? down : drained).push(name);
  }
  const parts = [
    [down, 'down (no liveness lease)'],
    [drained, 'drained'],
    [[...inventory.damagedHosts].sort(), 'left out: a record of theirs is damaged'],
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
