/**
 * dwstat's reads: at most one range read of the inventory (pools, nodes) and one of the
 * sessions (sessions, instances), in parallel, and only those the requested tables need.
 * Read-only; no locks, no daemon calls.
 */
import type { CliContext } from '../context';
import type { TableName } from './args';
import type { DwstatStatus } from './render';
import { instanceStatuses, nodeStatuses, poolStatuses, sessionStatuses } from './status';

/**
 * Longest deadline of each etcd request: Slurm kills dwstat after a fixed 2 s that includes Node
 * start-up, so the default 3 s (or a longer DAC_ETCD_TIMEOUT_MS) could never report its error.
 */
export const DWSTAT_ETCD_TIMEOUT_MS = 1200;

/** Read what `tables` need and compute their rows. */
export async function readStatus(
  context: CliContext,
  tables: readonly TableName[],
): Promise<DwstatStatus> {
  const wants = (...names: TableName[]) => names.some((name) => tables.includes(name));
  const status: DwstatStatus = {};
  if (tables.includes('configurations')) status.configurations = [];
  const needInventory = wants('pools', 'nodes');
  const needSessions = wants('sessions', 'instances');
  if (!needInventory && !needSessions) return status;

  const registry = await context.reader({ maxTimeoutMs: DWSTAT_ETCD_TIMEOUT_MS });
  const [inventory, read] = await Promise.all([
    needInventory ? registry.readInventory() : undefined,
    needSessions ? registry.readableSessions() : undefined,
  ]);
  // A record that cannot be read is left out of the tables and named after them.
  const damaged = [...(inventory?.damaged ?? []), ...(read?.damaged ?? [])];
  if (damaged.length > 0) status.damaged = damaged.map((error) => error.message);
  const sessions = read?.sessions;
  if (inventory && tables.includes('pools')) status.pools = poolStatuses(inventory);
  if (inventory && tables.includes('nodes')) status.nodes = nodeStatuses(inventory);
  if (sessions && tables.includes('sessions')) status.sessions = sessionStatuses(sessions);
  if (sessions && tables.includes('instances')) status.instances = instanceStatuses(sessions);
  return status;
}
