/**
 * `dacctl bricks list [--host H] [--pool P]`: every brick, its state and its session; below the
 * table, who tore down by force the sessions whose bricks await a wipe, when and why.
 */
import type { CliContext } from '../context';
import { brickTable } from './brick-table';
import type { AdminArgs, AdminGroup } from './command';
import { expandHostList } from './hostlist';
import { brickRows, damagedLines, wipeLines } from './inventory-view';
import { jsonDocument } from './json';

async function listBricks(context: CliContext, args: AdminArgs) {
  const inventory = await (await context.reader()).readInventory();
  const hosts = args.host === undefined ? undefined : new Set(expandHostList(String(args.host)));
  const bricks = brickRows(inventory).filter(
    (row) =>
      (hosts === undefined || hosts.has(row.host)) &&
      (args.pool === undefined || row.pool === args.pool),
  );
  if (args.json) {
    return jsonDocument({ bricks, damaged: inventory.damaged.map((error) => error.message) });
  }
  const table = brickTable(bricks, true);
  return [table, ...wipeLines(bricks), ...damagedLines(inventory)].join('\n');
}

export const BRICKS: AdminGroup = {
  name: 'bricks',
  describe: 'bricks (devices on storage hosts)',
  actions: [
    {
      command: 'list',
      describe: 'every brick: host, device, pool, capacity, state and the session holding it',
      options: {
        host: { type: 'string', describe: 'only the bricks of these hosts (a host list)' },
        pool: { type: 'string', describe: 'only the bricks of this pool' },
      },
      run: listBricks,
    },
  ],
};
