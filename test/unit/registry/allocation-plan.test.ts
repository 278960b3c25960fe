/**
 * The allocation planner is pure: for an inventory and a request it gives the bricks and the
 * compares and writes of the one transaction that takes them.
 */
import type { Inventory } from '../../../src/registry/inventory';
import { planAllocation } from '../../../src/registry/allocation-plan';
import { KeyLayout } from '../../../src/registry/keys';
import { SCHEMA_VERSION } from '../../../src/registry/model';

const GRAN = 1024n ** 3n;
const keys = new KeyLayout('/t/');

function inventory(): Inventory {
  const inv: Inventory = {
    revision: 9,
    pools: new Map([
      ['default', { schemaVersion: SCHEMA_VERSION, name: 'default', granularityBytes: GRAN }],
    ]),
    hosts: new Map(),
    allocations: new Map(),
    damaged: [],
    damagedHosts: new Set(),
  };
  for (const [name, usageModRevision, aliveCreateRevision] of [
    ['h1', 11, 3],
    ['h2', 12, 4],
  ] as const) {
    inv.hosts.set(name, {
      record: {
        schemaVersion: SCHEMA_VERSION,
        name,
        enabled: true,
        bricks: [0, 1].map((i) => ({ device: `nvme${i}n1`, capacityBytes: GRAN, pool: 'default' })),
        updatedAt: 0,
      },
      usageModRevision,
      aliveCreateRevision,
    });
  }
  return inv;
}

describe('planAllocation', () => {
  it('takes whole granules and guards every brick, usage record and liveness key', () => {
    const plan = planAllocation(keys, inventory(), {
      token: '42',
      sessionId: 7,
      pool: 'default',
      requestedBytes: 2n * GRAN - 1n,
      attempt: 0,
    });
    expect(plan.granularityBytes).toBe(GRAN);
    expect(plan.bricks).toHaveLength(2);
    const hosts = [...new Set(plan.bricks.map((b) => b.host))];
    expect(plan.compares).toEqual(
      expect.arrayContaining([
        ...plan.bricks.map((b) => ({
          key: keys.allocation(b.host, b.device),
          target: 'createRevision',
          op: '==',
          value: 0,
        })),
        ...hosts.map((h) => ({
          key: keys.usage(h),
          target: 'modRevision',
          op: '==',
          value: h === 'h1' ? 11 : 12,
        })),
        ...hosts.map((h) => ({
          key: keys.alive(h),
          target: 'createRevision',
          op: '==',
          value: h === 'h1' ? 3 : 4,
        })),
      ]),
    );
    expect(plan.compares).toHaveLength(plan.bricks.length + 2 * hosts.length);
    const allocations = plan.ops.filter(
      (op) => op.type === 'put' && op.key.includes('/allocations/'),
    );
    expect(allocations.map((op) => op.type === 'put' && JSON.parse(op.value))).toEqual(
      plan.bricks.map((_, index) => ({
        schemaVersion: SCHEMA_VERSION,
        sessionId: 7,
        token: '42',
        index,
      })),
    );
    const usages = plan.ops.filter((op) => op.type === 'put' && op.key.includes('/usage/'));
    const allocated = usages.map(
      (op) => op.type === 'put' && JSON.parse(op.value).pools.default.allocated,
    );
    expect(allocated.reduce((a: number, b: number) => a + b, 0)).toBe(2);
  });
});
