/**
 * One row of the pool table Slurm sees, shared by the two ways of counting it: from a full
 * inventory read (`inventory.ts`, for the registry) and from the small snapshot Slurm's polls
 * read (`pool-table.ts`). Pure.
 */

/** One pool as Slurm sees it: whole granules. */
export interface PoolView {
  name: string;
  granularityBytes: bigint;
  /** Every brick of the pool on every registered host. */
  quantity: number;
  /** Bricks that are unallocated on live, enabled hosts: what a request can get now. */
  free: number;
  /** Bricks allocated to sessions (free + allocated + unavailable = quantity). */
  allocated: number;
  /** Unallocated bricks on dead or drained hosts. */
  unavailable: number;
}

/** A pool's row before any brick is counted. */
export function emptyPoolView(pool: Pick<PoolView, 'name' | 'granularityBytes'>): PoolView {
  const { name, granularityBytes } = pool;
  return { name, granularityBytes, quantity: 0, free: 0, allocated: 0, unavailable: 0 };
}

/** The rows, sorted by pool name. */
export function byName(views: ReadonlyMap<string, PoolView>): PoolView[] {
  return [...views.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
