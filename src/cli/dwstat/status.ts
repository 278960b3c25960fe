/**
 * What dwstat shows, computed from one inventory snapshot and one read of the sessions. Pure:
 * no I/O, so every table can be tested without etcd.
 *
 * dwstat has no idea who runs it (Slurm passes no uid), so nothing here may reveal what only a
 * session's owner should see: no stage paths, and paths in dacd's messages are masked.
 */
import { brickId, poolViews, type Inventory } from '../../registry/inventory';
import type { BrickRef, SessionRecord } from '../../registry/model';
import { singleLine } from './table';
import { formatTransfer, transferStatus, type TransferStatus } from './transfer';

/** One pool: Slurm's view (quantity, free) in bytes, and the brick counts behind it. */
export interface PoolStatus {
  name: string;
  granularityBytes: bigint;
  /** Every brick of the pool (free + allocated + unavailable). */
  bricks: number;
  /** Unallocated bricks on live, enabled hosts. */
  freeBricks: number;
  allocatedBricks: number;
  /** Unallocated bricks on dead or drained hosts. */
  unavailableBricks: number;
  quantityBytes: bigint;
  freeBytes: bigint;
}

/** One session (a job buffer or a persistent buffer). */
export interface SessionStatus {
  id: number;
  token: string;
  kind: 'job' | 'persistent';
  /** Owner uid. */
  owner: number;
  /** Epoch seconds. */
  createdAt: number;
  /** Desired step and how far dacd got with it, e.g. `DataIn InProgress`. */
  state: string;
  /** Allocated bytes (bricks × granularity). */
  bytes: bigint;
  bricks: number;
  /** Compute nodes the buffer is mounted on. */
  nodes: number;
  /** The counts of the current or last stage, if it had one. */
  transfer?: TransferStatus;
}

/** The storage of one session with bricks (one instance per session). */
export interface InstanceStatus {
  /** The session's id: each session has at most one instance. */
  id: number;
  sessionId: number;
  token: string;
  bytes: bigint;
  bricks: BrickRef[];
  /** Distinct storage hosts, in brick order. */
  hosts: string[];
}

/** One storage host. */
export interface NodeStatus {
  host: string;
  /** `up`, `down` (no live lease), `drained: <reason>` or `down, drained: <reason>`. */
  state: string;
  alive: boolean;
  drained: boolean;
  drainReason?: string;
  /** Pools of its bricks, sorted. */
  pools: string[];
  bricks: number;
  allocatedBricks: number;
  /** Unallocated bricks, whether or not the host may take new work now (see `state`). */
  freeBricks: number;
  allocatedBytes: bigint;
  freeBytes: bigint;
}

/** Longest message shown in a state; dacd's messages can be long. */
export const MAX_MESSAGE_LENGTH = 80;

/**
 * Mask absolute paths (stage-in sources, mount points) in a message that every user may see,
 * make it one line, and shorten it to MAX_MESSAGE_LENGTH characters.
 */
export function publicMessage(message: string): string {
  const masked = singleLine(message.replace(/(^|[\s(=:'"[,])\/[^\s'")\],:;]*/g, '$1<path>'));
  return masked.length > MAX_MESSAGE_LENGTH
    ? `${masked.slice(0, MAX_MESSAGE_LENGTH - 3).trimEnd()}...`
    : masked;
}

/**
 * A session's state: the step the CLI asked for and dacd's report on it (`PreRun Completed`,
 * `Setup Error: <message>`), or `<step> Pending` while dacd has not reported on that step yet,
 * with how far a running stage has come (`DataIn Pending (1.2 GiB of 4 GiB, 30%, 120 files of
 * 400, 85 MiB/s)`).
 */
export function sessionState(session: SessionRecord): string {
  const observed = session.observed;
  if (observed === null || observed.phase !== session.desired) {
    const transfer = session.transfer;
    const copying = transfer && transfer.phase === session.desired && !transfer.done;
    return copying
      ? `${session.desired} Pending (${formatTransfer(transferStatus(transfer))})`
      : `${session.desired} Pending`;
  }
  const state = `${observed.phase} ${observed.status}`;
  if (observed.status !== 'Error') return state;
  return `${state}: ${publicMessage(observed.message ?? 'no reason given')}`;
}

/** Bytes a session holds: its bricks times the granularity they were taken at. */
export function sessionBytes(session: SessionRecord): bigint {
  return BigInt(session.bricks.length) * session.granularityBytes;
}

const byId = (a: SessionRecord, b: SessionRecord) => a.id - b.id;
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The pool table, sorted by pool name. */
export function poolStatuses(inventory: Inventory): PoolStatus[] {
  return poolViews(inventory).map((view) => ({
    name: view.name,
    granularityBytes: view.granularityBytes,
    bricks: view.quantity,
    freeBricks: view.free,
    allocatedBricks: view.allocated,
    unavailableBricks: view.unavailable,
    quantityBytes: BigInt(view.quantity) * view.granularityBytes,
    freeBytes: BigInt(view.free) * view.granularityBytes,
  }));
}

/** The session table, sorted by session id (the order they were created in). */
export function sessionStatuses(sessions: readonly SessionRecord[]): SessionStatus[] {
  return [...sessions].sort(byId).map((session) => ({
    id: session.id,
    token: session.token,
    kind: session.kind,
    owner: session.owner.uid,
    createdAt: session.createdAt,
    state: sessionState(session),
    bytes: sessionBytes(session),
    bricks: session.bricks.length,
    nodes: session.computeHosts.length,
    ...(session.transfer ? { transfer: transferStatus(session.transfer) } : {}),
  }));
}

/** One instance per session that holds bricks, sorted by id. */
export function instanceStatuses(sessions: readonly SessionRecord[]): InstanceStatus[] {
  return [...sessions]
    .filter((session) => session.bricks.length > 0)
    .sort(byId)
    .map((session) => ({
      id: session.id,
      sessionId: session.id,
      token: session.token,
      bytes: sessionBytes(session),
      bricks: session.bricks.map(({ host, device }) => ({ host, device })),
      hosts: [...new Set(session.bricks.map((brick) => brick.host))],
    }));
}

/** A host's state as operators say it; `up` exactly when placement may use the host. */
export function nodeState(alive: boolean, drained: boolean, drainReason?: string): string {
  const drain = drainReason ? `drained: ${publicMessage(drainReason)}` : 'drained';
  if (!drained) return alive ? 'up' : 'down';
  return alive ? drain : `down, ${drain}`;
}

/** One row per storage host, sorted by host name. */
export function nodeStatuses(inventory: Inventory): NodeStatus[] {
  return [...inventory.hosts.values()]
    .sort((a, b) => byName(a.record.name, b.record.name))
    .map((state) => {
      const host = state.record;
      const alive = state.aliveCreateRevision !== undefined;
      const drained = !host.enabled;
      let allocatedBricks = 0;
      let allocatedBytes = 0n;
      let freeBytes = 0n;
      for (const brick of host.bricks) {
        if (inventory.allocations.has(brickId(host.name, brick.device))) {
          allocatedBricks += 1;
          allocatedBytes += brick.capacityBytes;
        } else freeBytes += brick.capacityBytes;
      }
      return {
        host: host.name,
        state: nodeState(alive, drained, host.drainReason),
        alive,
        drained,
        ...(host.drainReason !== undefined ? { drainReason: publicMessage(host.drainReason) } : {}),
        pools: [...new Set(host.bricks.map((brick) => brick.pool))].sort(byName),
        bricks: host.bricks.length,
        allocatedBricks,
        freeBricks: host.bricks.length - allocatedBricks,
        allocatedBytes,
        freeBytes,
      };
    });
}
