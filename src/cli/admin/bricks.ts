/**
 * `dacctl bricks list [--host H] [--pool P]`: every brick, its state and its session; below the
 * table, who tore down by force the sessions whose bricks await a wipe, when and why.
 * `dacctl bricks release HOST/DEVICE... --wiped -r REASON` (root): free bricks awaiting a wipe
 * that an operator wiped by hand, for hosts whose provider cannot wipe (lustre, beegfs) or
 * whose dacd will not come back.
 */
import { ConflictError, PermissionError } from '../../errors/errors';
import { UsageError } from '../../errors/exit-codes';
import { DEVICE_NAME, HOST_NAME } from '../../registry/record-patterns';
import type { CliContext } from '../context';
import { brickTable } from './brick-table';
import type { AdminArgs, AdminGroup } from './command';
import { expandHostList } from './hostlist';
import { brickRows, damagedLines, wipeLines } from './inventory-view';
import { jsonDocument } from './json';
import { operatorName } from './operator';
import { isRoot } from './session-view';

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

/** `HOST/DEVICE` as given, checked as names. */
function parseBrick(text: string): { host: string; device: string } {
  const [host = '', device = '', ...rest] = text.split('/');
  if (rest.length > 0 || !HOST_NAME.regex.test(host) || !DEVICE_NAME.regex.test(device)) {
    throw new UsageError(`dacctl bricks release: "${text}" is not HOST/DEVICE (e.g. dac1/nvme0n1)`);
  }
  return { host, device };
}

async function releaseBricks(context: CliContext, args: AdminArgs): Promise<string> {
  if (!isRoot(context.callerUid)) {
    throw new PermissionError('dacctl bricks release: only root may release bricks');
  }
  if (!args.wiped) {
    throw new UsageError(
      'dacctl bricks release: --wiped is required: say that the bricks have been wiped by hand ' +
        '(they may hold the data of the session that was torn down by force)',
    );
  }
  const reason = String(args.reason ?? '').trim();
  if (reason === '' || reason.length > 500) {
    throw new UsageError('dacctl bricks release: --reason must be 1 to 500 characters');
  }
  const byHost = new Map<string, string[]>();
  for (const text of args.bricks as string[]) {
    const { host, device } = parseBrick(text);
    byHost.set(host, [...(byHost.get(host) ?? []), device]);
  }
  const registry = await context.registry();
  const by = operatorName(context.env).slice(0, 200);
  const lines: string[] = [];
  const notWiping: string[] = [];
  for (const [host, devices] of byHost) {
    const freed = new Set(await registry.releaseWipedBricks(host, devices, { by, reason }));
    for (const device of devices) {
      if (freed.has(device)) lines.push(`released ${host}/${device}: it is free`);
      else notWiping.push(`${host}/${device}`);
    }
  }
  if (notWiping.length > 0) {
    // Nothing about these was changed; the others (if any) were released.
    const done = lines.length > 0 ? `${lines.join('; ')}; ` : '';
    throw new ConflictError(
      `dacctl bricks release: ${done}not awaiting a wipe, left as they are: ${notWiping.join(', ')} ` +
        '(see dacctl bricks list)',
    );
  }
  return lines.join('\n');
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
    {
      command: 'release <bricks..>',
      describe:
        'root: free bricks awaiting a wipe (wiping) once they have been wiped by hand, for a ' +
        'provider that cannot wipe (lustre, beegfs) or a dacd that will not come back',
      positionals: {
        bricks: { type: 'string', array: true, describe: 'HOST/DEVICE, e.g. dac1/nvme0n1' },
      },
      options: {
        wiped: { type: 'boolean', default: false, describe: 'required: they have been wiped' },
        reason: { alias: 'r', type: 'string', demandOption: true, describe: 'why (kept)' },
      },
      examples: [
        ['$0 bricks release dac1/nvme0n1 --wiped -r "wiped with blkdiscard"', 'free one brick'],
      ],
      run: releaseBricks,
    },
  ],
};
