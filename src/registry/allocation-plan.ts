/**
 * The allocation planner: pure. From an inventory read and a request, the bricks to take and
 * the compares and writes of the transaction that takes them: every chosen brick's allocation
 * key must be absent and is written; each chosen host's usage record (which every write of its
 * host record rewrites too: a drain, new bricks) and liveness key must be as read, and the
 * usage record is rewritten with the new count.
 */
import type { Compare, TxnOp } from '../keystore/keystore';
import { ceilDiv } from '../units/bytes';
import { allocatedDevices, hostUsage, type Inventory } from './inventory';
import type { KeyLayout } from './keys';
import type { BrickRef } from './model';
import { AllocationRecord, HostUsageRecord, SCHEMA_VERSION } from './record-codecs';
import { chooseBricks } from './placement';
import { encodeRecord } from './record-codec';

export interface AllocationRequest {
  token: string;
  /** The session's id (its allocation records name it). */
  sessionId: number;
  pool: string;
  requestedBytes: bigint;
  /** Which try this is: placement spreads concurrent tries of one token differently. */
  attempt: number;
}

export interface AllocationPlan {
  /** The pool's granularity (1 for an unknown pool, which chooseBricks refuses). */
  granularityBytes: bigint;
  bricks: BrickRef[];
  compares: Compare[];
  ops: TxnOp[];
}

/** The seed of placement for one try of a request. */
export function placementSeed(request: Pick<AllocationRequest, 'token' | 'attempt'>): string {
  return `${request.token}#${request.attempt}`;
}

/** The number of bricks `requestedBytes` takes in a pool of `granularityBytes`. */
export function bricksFor(requestedBytes: bigint, granularityBytes: bigint): number {
  return Number(ceilDiv(requestedBytes, granularityBytes));
}

/**
 * Plan the bricks of `request` on `inventory`; throws what chooseBricks throws. With `bricks`
 * (chosen already, from usage records), the plan takes those: `inventory` then needs to hold
 * only their hosts, with their usage records and liveness keys.
 */
export function planAllocation(
  keys: KeyLayout,
  inventory: Inventory,
  request: AllocationRequest,
  bricks?: readonly BrickRef[],
): AllocationPlan {
  const pool = inventory.pools.get(request.pool);
  const granularityBytes = pool?.granularityBytes ?? 1n;
  bricks ??= chooseBricks(
    inventory,
    request.pool,
    bricksFor(request.requestedBytes, granularityBytes),
    placementSeed(request),
  );
  const compares: Compare[] = [];
  const ops: TxnOp[] = [];
  bricks.forEach((brick, index) => {
    const key = keys.allocation(brick.host, brick.device);
    compares.push({ key, target: 'createRevision', op: '==', value: 0 });
    const allocation: AllocationRecord = {
      schemaVersion: SCHEMA_VERSION,
      sessionId: request.sessionId,
      token: request.token,
      index,
    };
    ops.push({ type: 'put', key, value: encodeRecord(AllocationRecord, allocation) });
  });
  for (const host of new Set(bricks.map((b) => b.host))) {
    const state = inventory.hosts.get(host)!;
    const taken = allocatedDevices(inventory, state.record);
    for (const brick of bricks) if (brick.host === host) taken.add(brick.device);
    ops.push({
      type: 'put',
      key: keys.usage(host),
      value: encodeRecord(HostUsageRecord, hostUsage(state.record, taken)),
    });
    // Every write of the host record (a drain, new bricks) rewrites the usage record in the
    // same transaction, so its revision also guards the host record: one compare per host
    // fewer keeps big sessions within etcd's 128 compares per transaction.
    compares.push(
      { key: keys.usage(host), target: 'modRevision', op: '==', value: state.usageModRevision },
      {
        key: keys.alive(host),
        target: 'createRevision',
        op: '==',
        value: state.aliveCreateRevision ?? 0,
      },
    );
  }
  return { granularityBytes, bricks: [...bricks], compares, ops };
}
