/**
 * `dacctl bricks list [--host H] [--pool P]`: every brick, its state and its session; below the
 * table, who tore down by force the sessions whose bricks await a wipe, when and why.
 */
import { formatBytes } from '../../units/bytes';
import type { CliContext } from '../context';
import { formatTable } from '../dwstat/table';
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
  const table = formatTable(
    [
      { header: 'HOST', align: 'left' },
      { header: 'DEVICE', align: 'left' },
      { header: 'POOL', align: 'left' },
      { header: 'CAPACITY', align: 'right' },
      { header: 'STATE', align: 'left' },
      { header: 'SESSION', align: 'left' },
    ],
    bricks.map((b) => [
      b.host,
      b.device,
      b.pool,
      formatBytes(b.capacityBytes),
      b.state,
      b.session?.token ?? '-',
    ]),
  );
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
