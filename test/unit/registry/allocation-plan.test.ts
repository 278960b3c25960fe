/**
 * The allocation planner is pure: for an inventory and a request it gives the bricks and the
 * compares and writes of the one transaction that takes them.
 */
import { planAllocation } from '../../../src/registry/allocation-plan';
import { KeyLayout } from '../../../src/registry/keys';
import { SCHEMA_VERSION } from '../../../src/registry/model';
import { GRAN, inventory as inventoryOf } from '../../support/inventory';

const keys = new KeyLayout('/t/');

/** Two hosts of two bricks, each usage record and liveness key at its own revision. */
const inventory = () =>
  inventoryOf(
    {
      h1: { bricks: 2, usageModRevision: 11, aliveCreateRevision: 3 },
      h2: { bricks: 2, usageModRevision: 12, aliveCreateRevision: 4 },
    },
    9,
  );

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

  it('takes the bricks it is given, on an inventory of only their hosts', () => {
    // Placement chose h2 from the usage records; the inventory holds h2 alone, one brick taken.
    const partial = inventoryOf(
      { h2: { bricks: 3, allocated: [0], usageModRevision: 21, aliveCreateRevision: 5 } },
      30,
    );
    const bricks = [
      { host: 'h2', device: 'nvme2n1' },
      { host: 'h2', device: 'nvme1n1' },
    ];
    const plan = planAllocation(
      keys,
      partial,
      { token: '43', sessionId: 8, pool: 'default', requestedBytes: 2n * GRAN, attempt: 1 },
      bricks,
    );
    expect(plan.bricks).toEqual(bricks);
    expect(plan.compares).toEqual([
      { key: keys.allocation('h2', 'nvme2n1'), target: 'createRevision', op: '==', value: 0 },
      { key: keys.allocation('h2', 'nvme1n1'), target: 'createRevision', op: '==', value: 0 },
      { key: keys.usage('h2'), target: 'modRevision', op: '==', value: 21 },
      { key: keys.alive('h2'), target: 'createRevision', op: '==', value: 5 },
    ]);
    const usage = plan.ops.find((op) => op.type === 'put' && op.key === keys.usage('h2'));
    expect(usage?.type === 'put' && JSON.parse(usage.value).pools).toEqual({
      default: { bricks: 3, allocated: 3 },
    });
  });
});
