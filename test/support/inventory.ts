/** Inventories for tests of the pure placement and planning code: one pool, hosts as specs. */
import type { Inventory } from '../../src/registry/inventory';
import { brickId } from '../../src/registry/inventory';
import { SCHEMA_VERSION } from '../../src/registry/model';

/** The pool's granularity: every brick is one GiB. */
export const GRAN = 1024n ** 3n;

export interface HostSpec {
  /** Bricks `nvme0n1`, `nvme1n1`, … of the pool `default`. */
  bricks: number;
  /** False: no liveness key (the daemon is down). */
  alive?: boolean;
  enabled?: boolean;
  /** Indexes of the bricks another session holds. */
  allocated?: number[];
  /** The revisions the planner guards; any fixed numbers otherwise. */
  usageModRevision?: number;
  aliveCreateRevision?: number;
}

/** An inventory of the pool `default` and these hosts, read at `revision`. */
export function inventory(hosts: Record<string, HostSpec>, revision = 1): Inventory {
  const inv: Inventory = {
    revision,
    pools: new Map([
      ['default', { schemaVersion: SCHEMA_VERSION, name: 'default', granularityBytes: GRAN }],
    ]),
    hosts: new Map(),
    allocations: new Map(),
    damaged: [],
    damagedHosts: new Set(),
  };
  for (const [name, spec] of Object.entries(hosts)) {
    inv.hosts.set(name, {
      record: {
        schemaVersion: SCHEMA_VERSION,
        name,
        enabled: spec.enabled ?? true,
        bricks: Array.from({ length: spec.bricks }, (_, i) => ({
          device: `nvme${i}n1`,
          capacityBytes: GRAN,
          pool: 'default',
        })),
        updatedAt: 0,
      },
      usageModRevision: spec.usageModRevision ?? 0,
      ...(spec.alive === false ? {} : { aliveCreateRevision: spec.aliveCreateRevision ?? 1 }),
    });
    for (const i of spec.allocated ?? []) {
      inv.allocations.set(brickId(name, `nvme${i}n1`), {
        schemaVersion: SCHEMA_VERSION,
        sessionId: 1,
        token: 'other',
        index: 0,
      });
    }
  }
  return inv;
}
