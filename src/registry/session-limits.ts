/**
 * How big one session can be. A new session is one etcd transaction (registry.ts,
 * `createSession`), and etcd takes at most 128 compares and 128 operations in it
 * (`MAX_TXN_OPS`):
 *
 * - compares: the session key (absent), each brick's allocation key (absent), each host's usage
 *   record and liveness key (unchanged), and the summary bucket: `2 + bricks + 2 × hosts`;
 * - operations: the session record, the summary bucket, each brick's allocation record and
 *   each host's usage record: `2 + bricks + hosts`.
 *
 * So the more bricks a session has, the fewer hosts it may spread over: one brick per host up
 * to 42 bricks, then fewer hosts with more bricks each, and no session of more than 124 bricks.
 * Pure and free of zod: `job_process` checks requests with it (`pool-table.ts`).
 */
import { MAX_TXN_OPS } from '../keystore/txn-limits';

/** The session key and the summary bucket: in every new session's transaction. */
const FIXED_ENTRIES = 2;

/**
 * The most hosts a new session of `bricks` bricks may be spread over; below 1 when no session
 * can have that many bricks.
 */
export function maxSessionHosts(bricks: number): number {
  return Math.min(bricks, Math.floor((MAX_TXN_OPS - FIXED_ENTRIES - bricks) / 2));
}

/** The most bricks any one session can have, however many bricks each host has. */
export const MAX_SESSION_BRICKS = MAX_TXN_OPS - FIXED_ENTRIES - 2;

/**
 * The most bricks one session can take from hosts holding these numbers of bricks (a brick
 * count by host, in any order): the largest `n` whose `maxSessionHosts(n)` hosts with the most
 * bricks hold `n` between them. 0 without bricks.
 */
export function largestSession(bricksByHost: readonly number[]): number {
  // Hosts by their number of bricks, largest first, without sorting a thousand hosts.
  const hostsWith = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < bricksByHost.length; i += 1) {
    const count = bricksByHost[i]!;
    if (count <= 0) continue;
    hostsWith.set(count, (hostsWith.get(count) ?? 0) + 1);
    total += count;
  }
  const counts = [...hostsWith.keys()].sort((a, b) => b - a);
  for (let n = Math.min(total, MAX_SESSION_BRICKS); n > 0; n -= 1) {
    if (bricksOfLargestHosts(counts, hostsWith, maxSessionHosts(n)) >= n) return n;
  }
  return 0;
}

/** The bricks of the `hosts` hosts with the most bricks. */
function bricksOfLargestHosts(
  counts: readonly number[],
  hostsWith: ReadonlyMap<number, number>,
  hosts: number,
): number {
  let bricks = 0;
  let left = hosts;
  for (let i = 0; i < counts.length && left > 0; i += 1) {
    const taken = Math.min(left, hostsWith.get(counts[i]!)!);
    bricks += taken * counts[i]!;
    left -= taken;
  }
  return bricks;
}
