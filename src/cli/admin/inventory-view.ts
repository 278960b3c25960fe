/**
 * What the operators' commands show of an inventory snapshot: one row per brick with its
 * state, and the sums of those rows by pool and by host. Pure, so every table is tested
 * without etcd; the sums are the same counts Slurm's `pools` reports (registry/inventory.ts).
 */
import { brickId, isHostUsable, type Inventory } from '../../registry/inventory';
import { when } from './time';

/**
 * `allocated`: a session holds it; `wiping`: still allocated, to a session torn down by force,
 * until its host's dacd has wiped it; `free`: placement may take it now; `unavailable`: free,
 * but its host is down or drained.
 */
export type BrickState = 'allocated' | 'wiping' | 'free' | 'unavailable';

export interface BrickRow {
  host: string;
  device: string;
  pool: string;
  capacityBytes: bigint;
  state: BrickState;
  /** The token of the session that holds it, and its place in that session's volume. */
  session?: { token: string; index: number };
  /** For a `wiping` brick: who tore its session down by force, why, and when (epoch seconds). */
  wipe?: { by: string; reason: string; at: number };
}

/** Bricks and bytes of one pool, or of one pool on one host; `wiping` bricks count as allocated. */
export interface Usage {
  bricks: number;
  allocated: number;
  free: number;
  unavailable: number;
  totalBytes: bigint;
  allocatedBytes: bigint;
  freeBytes: bigint;
  unavailableBytes: bigint;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every brick, sorted by host and device. */
export function brickRows(inventory: Inventory): BrickRow[] {
  const rows: BrickRow[] = [];
  for (const state of inventory.hosts.values()) {
    const usable = isHostUsable(state);
    for (const brick of state.record.bricks) {
      const allocation = inventory.allocations.get(brickId(state.record.name, brick.device));
      rows.push({
        host: state.record.name,
        device: brick.device,
        pool: brick.pool,
        capacityBytes: brick.capacityBytes,
        state: allocation
          ? allocation.wipe
            ? 'wiping'
            : 'allocated'
          : usable
            ? 'free'
            : 'unavailable',
        ...(allocation ? { session: { token: allocation.token, index: allocation.index } } : {}),
        ...(allocation?.wipe ? { wipe: { ...allocation.wipe } } : {}),
      });
    }
  }
  return rows.sort((a, b) => byText(a.host, b.host) || byText(a.device, b.device));
}

export function emptyUsage(): Usage {
  return {
    bricks: 0,
    allocated: 0,
    free: 0,
    unavailable: 0,
    totalBytes: 0n,
    allocatedBytes: 0n,
    freeBytes: 0n,
    unavailableBytes: 0n,
  };
}

/** The sums of `rows`, each brick counted at its own capacity. */
export function usageOf(rows: readonly BrickRow[]): Usage {
  const usage = emptyUsage();
  for (const row of rows) {
    usage.bricks += 1;
    usage.totalBytes += row.capacityBytes;
    const state = row.state === 'wiping' ? 'allocated' : row.state;
    usage[state] += 1;
    usage[`${state}Bytes`] += row.capacityBytes;
  }
  return usage;
}

/** Rows grouped by `key`, the groups sorted by it. */
export function groupBy<T>(rows: readonly T[], key: (row: T) => string): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const name = key(row);
    const group = groups.get(name);
    if (group) group.push(row);
    else groups.set(name, [row]);
  }
  return [...groups].sort(([a], [b]) => byText(a, b));
}

/** Human-readable problems of the snapshot, for below a table. */
export function damagedLines(inventory: Inventory): string[] {
  return inventory.damaged.map((error) => `left out: ${error.message}`);
}

/**
 * One line per session torn down by force whose bricks among `rows` await a wipe:
 * `wiping dac1 nvme0, nvme1 (session 4001): torn down by root at 2026-12-07 15:04Z: host dead`.
 */
export function wipeLines(rows: readonly BrickRow[]): string[] {
  const groups = groupBy(
    rows.filter((row) => row.wipe && row.session),
    (row) => `${row.host}\u0000${row.session!.token}`,
  );
  return groups.map(([, group]) => {
    const { host, session, wipe } = group[0]!;
    const devices = group.map((row) => row.device).join(', ');
    return (
      `wiping ${host} ${devices} (session ${session!.token}): torn down by ${wipe!.by} at ` +
      `${when(wipe!.at)}: ${wipe!.reason}`
    );
  });
}
