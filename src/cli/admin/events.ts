/**
 * `dacctl events [--session T] [--host H] [--since DURATION] [--follow]`: the history of
 * sessions' steps and states, drains and operators' actions (registry/event-log.ts). A user
 * who is not root sees the events of their own sessions and of hosts, not others' sessions.
 */
import { UsageError } from '../../errors/exit-codes';
import type { EventRecord } from '../../registry/model';
import type { CliContext } from '../context';
import { formatTable } from '../dwstat/table';
import type { AdminAction, AdminArgs } from './command';
import { expandHostList } from './hostlist';
import { jsonDocument } from './json';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90s`, `30m`, `2h`, `7d` in milliseconds; a UsageError naming the flag otherwise. */
export function durationMs(text: string): number {
  const match = /^([0-9]{1,6})([smhd])$/.exec(text.trim());
  if (!match) {
    throw new UsageError(`--since "${text}": give a number and a unit, e.g. 90s, 30m, 2h or 7d`);
  }
  return Number(match[1]) * UNITS[match[2]!]! * 1000;
}

/** Epoch ms as UTC to the second: `2026-12-07 15:04:05Z`. */
const time = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;

export interface EventFilter {
  session?: string;
  hosts?: ReadonlySet<string>;
  /** The caller's uid; undefined for root, who sees everything. */
  uid?: number;
}

/** Whether `filter` lets `event` through. */
export function shows(filter: EventFilter, event: EventRecord): boolean {
  if (filter.uid !== undefined && event.token !== undefined && event.uid !== filter.uid) {
    return false;
  }
  if (filter.session !== undefined && event.token !== filter.session) return false;
  if (filter.hosts && (event.host === undefined || !filter.hosts.has(event.host))) return false;
  return true;
}

/** One event as a line of the table (or of --follow). */
export function eventCells(event: EventRecord): string[] {
  return [
    time(event.at),
    event.kind,
    event.token ?? '-',
    event.host ?? '-',
    event.by ?? '-',
    event.message,
  ];
}

const COLUMNS = ['TIME', 'KIND', 'SESSION', 'HOST', 'BY', 'WHAT'].map((header) => ({
  header,
  align: 'left' as const,
}));

/** Events as the table of `events` (and of `sessions show`). */
export function eventTable(events: readonly EventRecord[]): string {
  return formatTable(COLUMNS, events.map(eventCells));
}

function filterOf(context: CliContext, args: AdminArgs): EventFilter {
  const uid = context.callerUid;
  return {
    ...(args.session !== undefined ? { session: String(args.session) } : {}),
    ...(args.host !== undefined ? { hosts: new Set(expandHostList(String(args.host))) } : {}),
    ...(uid !== 0 ? { uid } : {}),
  };
}

async function events(context: CliContext, args: AdminArgs) {
  const since = durationMs(String(args.since));
  const filter = filterOf(context, args);
  const now = Date.now();
  const read = await (await context.reader()).events(now - since, now);
  const shown = read.events.filter((event) => shows(filter, event));
  const damaged = read.damaged.map((error) => error.message);
  if (!args.follow) {
    if (args.json) return jsonDocument({ events: shown, damaged });
    return [eventTable(shown), ...damaged.map((m) => `left out: ${m}`)].join('\n');
  }
  // --follow: what there is, then each new event as it is written, until interrupted.
  const line = (event: EventRecord) =>
    args.json ? JSON.stringify(event) : eventCells(event).join('  ');
  for (const event of shown) process.stdout.write(`${line(event)}\n`);
  for (const message of damaged) process.stdout.write(`left out: ${message}\n`);
  const registry = await context.registry();
  await registry.history.watch(
    read.revision + 1,
    (event) => {
      if (shows(filter, event)) process.stdout.write(`${line(event)}\n`);
    },
    (error) => process.stdout.write(`left out: ${error.message}\n`),
  );
  await new Promise<never>(() => undefined);
  return undefined;
}

export const EVENTS: AdminAction & { name: string } = {
  name: 'events',
  command: 'events',
  describe: 'history: the steps and states of sessions, drains, removals',
  options: {
    session: { type: 'string', describe: 'only the events of this session (token)' },
    host: { type: 'string', describe: 'only the events of these hosts (a host list)' },
    since: { type: 'string', default: '24h', describe: 'how far back: 90s, 30m, 2h, 7d' },
    follow: { type: 'boolean', default: false, describe: 'then print new events as they come' },
  },
  examples: [
    ['$0 events --session 4242 --since 7d', 'what happened to job 4242'],
    ['$0 events --host dac[01-04] --follow', 'watch four hosts'],
  ],
  run: events,
};
