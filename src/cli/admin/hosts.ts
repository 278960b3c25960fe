/**
 * `dacctl hosts ...`: see the storage hosts, drain them for maintenance and bring them back,
 * and remove one that is gone. A drain stops new placements at once; sessions that hold bricks
 * there run on and finish. Who drained a host, when and why is kept on its record.
 */
import { DeadlineError, NotFoundError } from '../../errors/errors';
import { EXIT, UsageError } from '../../errors/exit-codes';

/** The longest drain reason a host record holds. */
const MAX_REASON = 500;
import type { Inventory } from '../../registry/inventory';
import { formatBytes } from '../../units/bytes';
import type { CliContext } from '../context';
import type { CommandResult } from '../run';
import { nodeState } from '../dwstat/status';
import { formatTable, type Column } from '../dwstat/table';
import type { AdminArgs, AdminGroup } from './command';
import { brickTable } from './brick-table';
import { expandHostList } from './hostlist';
import {
  brickRows,
  damagedLines,
  usageOf,
  wipeLines,
  type BrickRow,
  type Usage,
} from './inventory-view';
import { jsonDocument } from './json';
import { operatorName } from './operator';
import { when } from './time';

export interface HostRow extends Usage {
  host: string;
  /** `up`, `down`, `drained: <reason>`, `down, drained: <reason>`. */
  state: string;
  alive: boolean;
  drained: boolean;
  drain?: { reason?: string; by?: string; at?: number };
  pools: string[];
}

/** One row per readable host, sorted by name. */
export function hostRows(inventory: Inventory, rows: readonly BrickRow[]): HostRow[] {
  return [...inventory.hosts.values()]
    .map((state) => {
      const host = state.record;
      const alive = state.aliveCreateRevision !== undefined;
      const bricks = rows.filter((row) => row.host === host.name);
      const drain = {
        ...(host.drainReason !== undefined ? { reason: host.drainReason } : {}),
        ...(host.drainedBy !== undefined ? { by: host.drainedBy } : {}),
        ...(host.drainedAt !== undefined ? { at: host.drainedAt } : {}),
      };
      return {
        host: host.name,
        state: nodeState(alive, !host.enabled, host.drainReason),
        alive,
        drained: !host.enabled,
        ...(host.enabled ? {} : { drain }),
        pools: [...new Set(host.bricks.map((brick) => brick.pool))].sort(),
        ...usageOf(bricks),
      };
    })
    .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

const right = (header: string): Column => ({ header, align: 'right' });
const left = (header: string): Column => ({ header, align: 'left' });

function hostTable(hosts: readonly HostRow[]): string {
  return formatTable(
    [
      left('HOST'),
      left('STATE'),
      left('POOLS'),
      right('BRICKS'),
      right('ALLOCATED'),
      right('FREE'),
      right('TOTAL'),
      left('DRAINED BY'),
      left('SINCE'),
    ],
    hosts.map((h) => [
      h.host,
      h.state,
      h.pools.join(',') || '-',
      String(h.bricks),
      String(h.allocated),
      String(h.free),
      formatBytes(h.totalBytes),
      h.drain?.by ?? '-',
      h.drained ? when(h.drain?.at) : '-',
    ]),
  );
}

async function snapshot(context: CliContext) {
  const inventory = await (await context.reader()).readInventory();
  return { inventory, rows: brickRows(inventory) };
}

const damaged = (inventory: Inventory) => inventory.damaged.map((error) => error.message);

async function listHosts(context: CliContext, args: AdminArgs) {
  const { inventory, rows } = await snapshot(context);
  const hosts = hostRows(inventory, rows);
  if (args.json) return jsonDocument({ hosts, damaged: damaged(inventory) });
  return [hostTable(hosts), ...damagedLines(inventory)].join('\n');
}

/** The host named, or a NotFoundError that says whether its records are damaged. */
function findHost(inventory: Inventory, hosts: HostRow[], name: string): HostRow {
  const host = hosts.find((h) => h.host === name);
  if (host) return host;
  if (inventory.damagedHosts.has(name)) {
    const problems = inventory.damaged.filter((e) => e.message.includes(`/${name}`));
    throw new NotFoundError(
      `host ${name} cannot be read: ${problems.map((e) => e.message).join('; ')}`,
    );
  }
  throw new NotFoundError(`host ${name} is not registered (dacctl hosts list shows the hosts)`);
}

async function showHost(context: CliContext, args: AdminArgs) {
  const name = String(args.host);
  const { inventory, rows } = await snapshot(context);
  const host = findHost(inventory, hostRows(inventory, rows), name);
  const bricks = rows.filter((row) => row.host === name);
  const sessions = [
    ...new Set(
      bricks.flatMap((b) => (b.session && b.state === 'allocated' ? [b.session.token] : [])),
    ),
  ];
  const wiping = bricks.filter((b) => b.state === 'wiping');
  if (args.json) return jsonDocument({ host, bricks, sessions });
  const lines = [
    `host:      ${host.host}`,
    `state:     ${host.state}`,
    `dacd:      ${host.alive ? 'alive' : 'not running (no liveness key)'}`,
    ...(host.drained
      ? [
          `drained:   by ${host.drain?.by ?? 'unknown'} at ${when(host.drain?.at)}: ` +
            (host.drain?.reason ?? 'no reason given'),
        ]
      : []),
    `bricks:    ${host.bricks} (${host.allocated} allocated, ${host.free} free, ` +
      `${host.unavailable} unavailable), ${formatBytes(host.totalBytes)}`,
    `sessions:  ${sessions.join(', ') || 'none'}`,
    ...(wiping.length > 0
      ? [
          `wiping:    ${wiping.length} brick${wiping.length === 1 ? '' : 's'} of sessions torn ` +
            `down by force; dacd frees them once wiped${host.alive ? '' : ' (when it starts)'}`,
        ]
      : []),
    '',
    brickTable(bricks, false),
    ...wipeLines(bricks),
  ];
  return lines.join('\n');
}

/** The hosts of a host list that are registered; a name that is not stops the command first. */
async function registeredHosts(context: CliContext, list: string): Promise<string[]> {
  const names = expandHostList(list);
  const { inventory, rows } = await snapshot(context);
  const hosts = hostRows(inventory, rows);
  for (const name of names) findHost(inventory, hosts, name);
  return names;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Wait until no brick of `names` is held, by a session or awaiting a wipe after a forced
 * teardown; the bricks still held when it returns (none, unless the timeout ran out).
 */
async function waitEmpty(
  context: CliContext,
  names: readonly string[],
  timeoutSeconds: number,
): Promise<BrickRow[]> {
  const end = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const { rows } = await snapshot(context);
    const held = rows.filter((row) => names.includes(row.host) && row.session);
    if (held.length === 0 || Date.now() >= end) return held;
    await sleep(1000);
  }
}

/**
 * What holds the bricks `held`, in one line: `sessions still hold bricks on dac1 (session 4001)`
 * and, for those of sessions torn down by force, `not wiped yet: dac1/nvme0n1: wiping (torn
 * down by force: <reason>)`.
 */
export function heldText(held: readonly BrickRow[]): string {
  const sessions = held.flatMap((row) =>
    row.wipe || !row.session ? [] : [`${row.host} (session ${row.session.token})`],
  );
  const wiping = held.flatMap((row) =>
    row.wipe ? [`${row.host}/${row.device}: wiping (torn down by force: ${row.wipe.reason})`] : [],
  );
  return [
    ...(sessions.length > 0
      ? [`sessions still hold bricks on ${[...new Set(sessions)].join(', ')}`]
      : []),
    ...(wiping.length > 0 ? [`not wiped yet: ${wiping.join(', ')}`] : []),
  ].join('; ');
}

async function drain(context: CliContext, args: AdminArgs): Promise<CommandResult> {
  const reason = String(args.reason).trim();
  if (reason === '' || reason.length > MAX_REASON) {
    throw new UsageError(`--reason: give why, in 1 to ${MAX_REASON} characters`);
  }
  const names = await registeredHosts(context, String(args.hosts));
  const by = operatorName(context.env);
  const registry = await context.registry();
  for (const name of names) await registry.setHostEnabled(name, false, reason, by);
  const done = `drained ${names.join(', ')}: ${reason}`;
  if (!args.wait) return args.json ? jsonDocument({ drained: names, reason }) : done;
  const held = await waitEmpty(context, names, Number(args.timeout));
  if (args.json) {
    const answer = jsonDocument({ drained: names, reason, held });
    return held.length === 0 ? answer : { answer, exitCode: EXIT.transient };
  }
  if (held.length === 0) return `${done}\nno session holds a brick there now`;
  throw new DeadlineError(`${done}; after ${String(args.timeout)} s ${heldText(held)}`);
}

async function undrain(context: CliContext, args: AdminArgs) {
  const names = await registeredHosts(context, String(args.hosts));
  const registry = await context.registry();
  const by = operatorName(context.env);
  for (const name of names) await registry.setHostEnabled(name, true, undefined, by);
  return `undrained ${names.join(', ')}`;
}

async function remove(context: CliContext, args: AdminArgs) {
  const name = String(args.host);
  const registry = await context.registry();
  await registry.removeHost(name, operatorName(context.env));
  return `removed host ${name}`;
}

export const HOSTS: AdminGroup = {
  name: 'hosts',
  describe: 'storage hosts: state, drain for maintenance, remove',
  actions: [
    {
      command: 'list',
      describe: 'every storage host: up, down or drained, and its bricks',
      run: listHosts,
    },
    {
      command: 'show <host>',
      describe: 'one host: its state, who drained it, its bricks and the sessions on them',
      positionals: { host: { type: 'string', describe: 'storage host name' } },
      run: showHost,
    },
    {
      command: 'drain <hosts>',
      describe: 'take hosts out of placement; the sessions on them run on',
      positionals: { hosts: { type: 'string', describe: 'host list, e.g. dac[01-04,07]' } },
      options: {
        reason: { alias: 'r', type: 'string', demandOption: true, describe: 'why (shown to all)' },
        wait: {
          type: 'boolean',
          default: false,
          describe: 'return once no brick there is held (by a session, or awaiting a wipe)',
        },
        timeout: { type: 'number', default: 3600, describe: 'seconds --wait waits at most' },
      },
      examples: [
        ['$0 hosts drain dac[01-04] -r "firmware update"', 'drain four hosts'],
        ['$0 hosts drain dac07 -r "replace nvme3" --wait', 'and wait until they are empty'],
      ],
      run: drain,
    },
    {
      command: 'undrain <hosts>',
      describe: 'put drained hosts back into placement',
      positionals: { hosts: { type: 'string', describe: 'host list, e.g. dac[01-04,07]' } },
      run: undrain,
    },
    {
      command: 'remove <host>',
      describe: 'forget a host that is gone (refused while its dacd runs or sessions hold bricks)',
      positionals: { host: { type: 'string', describe: 'storage host name' } },
      run: remove,
    },
  ],
};
