/**
 * dwstat's two output forms: human tables (one per requested table, separated by a blank
 * line) and one JSON document for scripts.
 */
import { jsonInteger } from '../datawarp-json';
import { formatBytes } from '../../units/bytes';
import type { TableName } from './args';
import type { InstanceStatus, NodeStatus, PoolStatus, SessionStatus } from './status';
import { formatTable, type Column } from './table';
import type { TransferStatus } from './transfer';

/** The data behind the requested tables; a table that was not asked for is absent. */
export interface DwstatStatus {
  pools?: PoolStatus[];
  sessions?: SessionStatus[];
  instances?: InstanceStatus[];
  /** Always empty: we have no DataWarp configurations. */
  configurations?: never[];
  nodes?: NodeStatus[];
  /** Records that cannot be read (each naming its key), left out of the tables. */
  damaged?: string[];
}

const left = (header: string): Column => ({ header, align: 'left' });
const right = (header: string): Column => ({ header, align: 'right' });

/** Epoch seconds as UTC ISO time without milliseconds: `2023-11-14T22:13:20Z`. */
export function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `pools`: Cray's `pool units quantity free gran`, then the brick counts. */
export function poolsTable(pools: readonly PoolStatus[]): string {
  return formatTable(
    [
      left('pool'),
      left('units'),
      right('quantity'),
      right('free'),
      right('gran'),
      right('bricks'),
      right('free_bricks'),
      right('allocated'),
      right('unavailable'),
    ],
    pools.map((pool) => [
      pool.name,
      'bytes',
      formatBytes(pool.quantityBytes),
      formatBytes(pool.freeBytes),
      formatBytes(pool.granularityBytes),
      String(pool.bricks),
      String(pool.freeBricks),
      String(pool.allocatedBricks),
      String(pool.unavailableBricks),
    ]),
  );
}

/** `sessions`: one row per session, job and persistent. */
export function sessionsTable(sessions: readonly SessionStatus[]): string {
  return formatTable(
    [
      right('sess'),
      left('token'),
      right('owner'),
      left('created'),
      left('state'),
      right('size'),
      right('nodes'),
    ],
    sessions.map((session) => [
      String(session.id),
      session.token,
      String(session.owner),
      isoSeconds(session.createdAt),
      session.state,
      formatBytes(session.bytes),
      String(session.nodes),
    ]),
  );
}

/** `instances`: the storage of each session that has bricks. */
export function instancesTable(instances: readonly InstanceStatus[]): string {
  return formatTable(
    [right('inst'), right('sess'), left('token'), right('bytes'), right('bricks'), left('hosts')],
    instances.map((instance) => [
      String(instance.id),
      String(instance.sessionId),
      instance.token,
      formatBytes(instance.bytes),
      String(instance.bricks.length),
      instance.hosts.join(','),
    ]),
  );
}

/** `configurations`: Cray's header; we have no configurations, so no rows. */
export function configurationsTable(): string {
  return formatTable(
    [
      right('conf'),
      left('state'),
      right('inst'),
      left('type'),
      left('access_type'),
      right('activs'),
    ],
    [],
  );
}

/** `nodes`: one row per storage host. */
export function nodesTable(nodes: readonly NodeStatus[]): string {
  return formatTable(
    [left('host'), left('state'), left('pool'), right('bricks'), right('allocated'), right('free')],
    nodes.map((node) => [
      node.host,
      node.state,
      node.pools.join(',') || '-',
      String(node.bricks),
      formatBytes(node.allocatedBytes),
      formatBytes(node.freeBytes),
    ]),
  );
}

function missing(table: TableName): never {
  throw new RangeError(`dwstat: the ${table} table was not read`);
}

/**
 * The human answer: the requested tables in order, separated by one blank line, and after
 * them a line for each record that was left out.
 */
export function renderTables(status: DwstatStatus, tables: readonly TableName[]): string {
  const damaged = (status.damaged ?? []).map((message) => `left out: ${message}`);
  const text = tables
    .map((table) => {
      switch (table) {
        case 'pools':
          return poolsTable(status.pools ?? missing(table));
        case 'sessions':
          return sessionsTable(status.sessions ?? missing(table));
        case 'instances':
          return instancesTable(status.instances ?? missing(table));
        case 'configurations':
          return configurationsTable();
        case 'nodes':
          return nodesTable(status.nodes ?? missing(table));
      }
    })
    .join('\n\n');
  return damaged.length > 0 ? `${text}\n\n${damaged.join('\n')}` : text;
}

/**
 * A session's transfer counts in the JSON answer: byte counts as JSON integers, times as epoch
 * seconds (like `created`); the totals, percentage, rate and start only when known.
 */
export function transferJson(transfer: TransferStatus, token: string): Record<string, unknown> {
  return {
    phase: transfer.phase,
    done: transfer.done,
    bytes: jsonInteger(transfer.bytes, 'bytes staged of session', token),
    files: transfer.files,
    ...(transfer.totalBytes !== undefined
      ? { totalBytes: jsonInteger(transfer.totalBytes, 'bytes to stage of session', token) }
      : {}),
    ...(transfer.totalFiles !== undefined ? { totalFiles: transfer.totalFiles } : {}),
    ...(transfer.percent !== undefined ? { percent: transfer.percent } : {}),
    ...(transfer.bytesPerSecond !== undefined ? { bytesPerSecond: transfer.bytesPerSecond } : {}),
    ...(transfer.startedAt !== undefined ? { started: transfer.startedAt } : {}),
    updated: transfer.updatedAt,
  };
}

/**
 * The JSON answer: one object with a key per requested table. Counts, ids, uids and epoch
 * seconds are JSON integers. Byte counts of one brick, session or host are JSON integers too
 * (an InvalidAnswerError if one ever exceeds 2^53); pool totals (`quantityBytes`,
 * `freeBytes`) are decimal strings, because thousands of bricks can exceed 2^53 bytes.
 */
export function renderJson(status: DwstatStatus): string {
  const document: Record<string, unknown> = {};
  if (status.pools) {
    document.pools = status.pools.map((pool) => ({
      id: pool.name,
      units: 'bytes',
      granularity: jsonInteger(pool.granularityBytes, 'granularity of pool', pool.name),
      quantityBytes: pool.quantityBytes.toString(),
      freeBytes: pool.freeBytes.toString(),
      bricks: pool.bricks,
      freeBricks: pool.freeBricks,
      allocatedBricks: pool.allocatedBricks,
      unavailableBricks: pool.unavailableBricks,
    }));
  }
  if (status.sessions) {
    document.sessions = status.sessions.map((session) => ({
      id: session.id,
      token: session.token,
      kind: session.kind,
      owner: session.owner,
      created: session.createdAt,
      state: session.state,
      bytes: jsonInteger(session.bytes, 'size of session', session.token),
      bricks: session.bricks,
      nodes: session.nodes,
      ...(session.transfer ? { transfer: transferJson(session.transfer, session.token) } : {}),
    }));
  }
  if (status.instances) {
    document.instances = status.instances.map((instance) => ({
      id: instance.id,
      session: instance.sessionId,
      token: instance.token,
      bytes: jsonInteger(instance.bytes, 'size of instance', instance.id),
      bricks: instance.bricks,
      hosts: instance.hosts,
    }));
  }
  if (status.configurations) document.configurations = status.configurations;
  if (status.damaged) document.damaged = status.damaged;
  if (status.nodes) {
    document.nodes = status.nodes.map((node) => ({
      host: node.host,
      state: node.state,
      alive: node.alive,
      drained: node.drained,
      ...(node.drainReason !== undefined ? { drainReason: node.drainReason } : {}),
      pools: node.pools,
      bricks: node.bricks,
      allocatedBricks: node.allocatedBricks,
      freeBricks: node.freeBricks,
      allocatedBytes: jsonInteger(node.allocatedBytes, 'allocated bytes of host', node.host),
      freeBytes: jsonInteger(node.freeBytes, 'free bytes of host', node.host),
    }));
  }
  return JSON.stringify(document, null, 2);
}
