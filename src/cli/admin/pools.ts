/**
 * `dacctl pools list`, `dacctl pools show NAME` and `dacctl df`: what each pool holds, and
 * where its capacity is, from one inventory snapshot (read-only access to etcd suffices).
 */
import { NotFoundError } from '../../errors/errors';
import type { Inventory } from '../../registry/inventory';
import { formatBytes } from '../../units/bytes';
import type { CliContext } from '../context';
import { nodeState } from '../dwstat/status';
import { formatTable, type Column } from '../dwstat/table';
import type { AdminCommand, AdminArgs } from './command';
import {
  brickRows,
  damagedLines,
  groupBy,
  usageOf,
  type BrickRow,
  type Usage,
} from './inventory-view';
import { jsonDocument } from './json';
import { operatorName } from './operator';

export interface PoolRow extends Usage {
  name: string;
  granularityBytes: bigint;
}

/** One row per pool record (a pool without bricks too), sorted by name. */
export function poolRows(inventory: Inventory, rows: readonly BrickRow[]): PoolRow[] {
  const byPool = new Map(groupBy(rows, (row) => row.pool));
  return [...inventory.pools.values()]
    .map((pool) => ({
      name: pool.name,
      granularityBytes: pool.granularityBytes,
      ...usageOf(byPool.get(pool.name) ?? []),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface HostUsageRow extends Usage {
  host: string;
  pool: string;
  state: string;
}

/** One row per host and pool of its bricks, sorted by host, then pool. */
export function hostUsageRows(inventory: Inventory, rows: readonly BrickRow[]): HostUsageRow[] {
  return groupBy(rows, (row) => `${row.host}\u0000${row.pool}`).map(([, group]) => {
    const { host, pool } = group[0]!;
    const state = inventory.hosts.get(host)!;
    return {
      host,
      pool,
      state: nodeState(
        state.aliveCreateRevision !== undefined,
        !state.record.enabled,
        state.record.drainReason,
      ),
      ...usageOf(group),
    };
  });
}

const right = (header: string): Column => ({ header, align: 'right' });
const left = (header: string): Column => ({ header, align: 'left' });

const USAGE_COLUMNS = [
  right('BRICKS'),
  right('ALLOCATED'),
  right('FREE'),
  right('UNAVAILABLE'),
  right('TOTAL'),
  right('FREE BYTES'),
];
const usageCells = (u: Usage) => [
  String(u.bricks),
  String(u.allocated),
  String(u.free),
  String(u.unavailable),
  formatBytes(u.totalBytes),
  formatBytes(u.freeBytes),
];

function withDamage(table: string, inventory: Inventory): string {
  return [table, ...damagedLines(inventory)].join('\n');
}

function poolTable(pools: readonly PoolRow[]): string {
  return formatTable(
    [left('POOL'), right('GRANULARITY'), ...USAGE_COLUMNS],
    pools.map((p) => [p.name, formatBytes(p.granularityBytes), ...usageCells(p)]),
  );
}

function hostTable(hosts: readonly HostUsageRow[]): string {
  return formatTable(
    [left('HOST'), left('POOL'), left('STATE'), ...USAGE_COLUMNS],
    hosts.map((h) => [h.host, h.pool, h.state, ...usageCells(h)]),
  );
}

const damaged = (inventory: Inventory) => inventory.damaged.map((error) => error.message);

async function snapshot(context: CliContext) {
  const inventory = await (await context.reader()).readInventory();
  return { inventory, rows: brickRows(inventory) };
}

async function listPools(context: CliContext, args: AdminArgs) {
  const { inventory, rows } = await snapshot(context);
  const pools = poolRows(inventory, rows);
  if (args.json) return jsonDocument({ pools, damaged: damaged(inventory) });
  return withDamage(poolTable(pools), inventory);
}

async function showPool(context: CliContext, args: AdminArgs) {
  const name = String(args.name);
  const { inventory, rows } = await snapshot(context);
  const pool = poolRows(inventory, rows).find((p) => p.name === name);
  if (!pool) throw new NotFoundError(`pool ${name} does not exist (dacctl pools list shows them)`);
  const hosts = hostUsageRows(
    inventory,
    rows.filter((row) => row.pool === name),
  );
  if (args.json) return jsonDocument({ pool, hosts, damaged: damaged(inventory) });
  return withDamage(`${poolTable([pool])}\n\n${hostTable(hosts)}`, inventory);
}

async function df(context: CliContext, args: AdminArgs) {
  const { inventory, rows } = await snapshot(context);
  const pools = poolRows(inventory, rows);
  const hosts = hostUsageRows(inventory, rows);
  const total = usageOf(rows);
  if (args.json) return jsonDocument({ total, pools, hosts, damaged: damaged(inventory) });
  return withDamage(`${poolTable(pools)}\n\n${hostTable(hosts)}`, inventory);
}

export const POOL_COMMANDS: AdminCommand[] = [
  {
    name: 'pools',
    describe: 'pools of bricks: their size and what is free',
    actions: [
      {
        command: 'list',
        describe: 'every pool: bricks allocated, free and unavailable (on down or drained hosts)',
        run: listPools,
      },
      {
        command: 'show <name>',
        describe: 'one pool, and its bricks on each host',
        positionals: { name: { type: 'string', describe: 'pool name' } },
        run: showPool,
      },
      {
        command: 'remove <name>',
        describe: 'forget a pool (refused while any host has bricks in it)',
        positionals: { name: { type: 'string', describe: 'pool name' } },
        run: async (context, args) => {
          const name = String(args.name);
          await (await context.registry()).removePool(name, operatorName(context.env));
          return `removed pool ${name}`;
        },
      },
    ],
  },
  {
    name: 'df',
    command: 'df',
    describe: 'capacity by pool and by host: total, allocated, free, unavailable',
    run: df,
  },
];
