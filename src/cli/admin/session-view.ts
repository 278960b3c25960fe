/**
 * What `dacctl sessions list` and `dacctl sessions show` show of session records: who may see
 * which, the filters, the rows and the details, and their text. Pure (user names are looked up
 * by the caller and passed in), so every rule is tested without etcd.
 */
import type { Phase, PhaseStatus, SessionRecord } from '../../registry/model';
import { formatBytes } from '../../units/bytes';
import { sessionBytes, sessionState } from '../dwstat/status';
import { formatTable, type Column } from '../dwstat/table';
import { pathFileLines } from '../path-file';
import { duration, instant, when } from './time';

export const PHASES: readonly Phase[] = [
  'Setup',
  'DataIn',
  'PreRun',
  'PostRun',
  'DataOut',
  'Teardown',
];

/** How far dacd got with the desired step: `Pending` while it has not reported on it. */
export type SessionStatus = 'Pending' | PhaseStatus;
export const STATUSES: readonly SessionStatus[] = ['Pending', 'InProgress', 'Completed', 'Error'];

/** `--state`: a desired phase, or the status of the desired phase. */
export type StateFilter = { phase: Phase } | { status: SessionStatus };

/** Whether the caller sees every session (root) or only its own. */
export const isRoot = (uid: number): boolean => uid === 0;

/** Whether the caller `uid` may see (and steer) `session`: root, or its owner. */
export function mayView(session: SessionRecord, uid: number): boolean {
  return isRoot(uid) || session.owner.uid === uid;
}

/** The status of the desired phase. */
export function sessionStatus(session: SessionRecord): SessionStatus {
  const observed = session.observed;
  return observed !== null && observed.phase === session.desired ? observed.status : 'Pending';
}

/** Whether `session` passes `--state` (none: every session does). */
export function matchesState(session: SessionRecord, filter: StateFilter | undefined): boolean {
  if (!filter) return true;
  return 'phase' in filter
    ? session.desired === filter.phase
    : sessionStatus(session) === filter.status;
}

export interface Owner {
  uid: number;
  gid: number;
  /** The user name of `uid` in the user database; null when it has none. */
  name: string | null;
}

/** One row of `sessions list`. */
export interface SessionRow {
  token: string;
  id: number;
  kind: SessionRecord['kind'];
  owner: Owner;
  pool: string;
  /** Bytes allocated: bricks × the granularity they were taken at. */
  bytes: bigint;
  bricks: number;
  /** Storage hosts of its bricks, in brick order. */
  hosts: string[];
  /** As dwstat shows it: `DataIn Completed`, `Setup Pending`, `PreRun Error: <message>`. */
  state: string;
  desired: Phase;
  status: SessionStatus;
  /** Epoch seconds. */
  createdAt: number;
}

const hostsOf = (session: SessionRecord) => [...new Set(session.bricks.map((b) => b.host))];

export function ownerOf(session: SessionRecord, names: ReadonlyMap<number, string>): Owner {
  return { ...session.owner, name: names.get(session.owner.uid) ?? null };
}

/** The row of one session; `names` maps owners' uids to user names. */
export function sessionRow(session: SessionRecord, names: ReadonlyMap<number, string>): SessionRow {
  return {
    token: session.token,
    id: session.id,
    kind: session.kind,
    owner: ownerOf(session, names),
    pool: session.pool,
    bytes: sessionBytes(session),
    bricks: session.bricks.length,
    hosts: hostsOf(session),
    state: sessionState(session),
    desired: session.desired,
    status: sessionStatus(session),
    createdAt: session.createdAt,
  };
}

export interface ListFilter {
  /** The caller's uid: anybody but root sees only the sessions it owns. */
  callerUid: number;
  state?: StateFilter;
  /** `--user`, as a uid. */
  uid?: number;
}

/** The sessions the caller may see that pass the filters, oldest (lowest id) first. */
export function listedSessions(
  sessions: readonly SessionRecord[],
  filter: ListFilter,
): SessionRecord[] {
  return sessions
    .filter(
      (session) =>
        mayView(session, filter.callerUid) &&
        (filter.uid === undefined || session.owner.uid === filter.uid) &&
        matchesState(session, filter.state),
    )
    .sort((a, b) => a.id - b.id);
}

/**
 * What the caller is told of the session records that cannot be read: root their messages
 * (each names its key); anybody else one line each without the key, since whose they are is
 * not known and a token would tell of another user's session.
 */
export function damagedMessages(messages: readonly string[], callerUid: number): string[] {
  if (isRoot(callerUid)) return [...messages];
  return messages.map(() => 'a session record cannot be read (only root sees which)');
}

export const ownerText = (owner: Owner): string =>
  owner.name === null ? `uid ${owner.uid}` : `${owner.name} (${owner.uid})`;

const left = (header: string): Column => ({ header, align: 'left' });
const right = (header: string): Column => ({ header, align: 'right' });

/** The table of `sessions list`, then a `left out:` line for each damaged record. */
export function sessionTable(rows: readonly SessionRow[], damaged: readonly string[]): string {
  const table = formatTable(
    [
      left('TOKEN'),
      right('ID'),
      left('KIND'),
      left('OWNER'),
      left('POOL'),
      right('SIZE'),
      right('BRICKS'),
      left('HOSTS'),
      left('STATE'),
      left('CREATED'),
    ],
    rows.map((row) => [
      row.token,
      String(row.id),
      row.kind,
      ownerText(row.owner),
      row.pool,
      formatBytes(row.bytes),
      String(row.bricks),
      row.hosts.join(',') || '-',
      row.state,
      when(row.createdAt),
    ]),
  );
  return [table, ...damaged.map((message) => `left out: ${message}`)].join('\n');
}

/** One phase's times, in milliseconds since the epoch (null: not recorded). */
export interface PhaseTiming {
  phase: Phase;
  startedAt: number | null;
  finishedAt: number | null;
  /** finishedAt - startedAt, when both are known. */
  durationMs: number | null;
}

/** A buffer path of the session, by the environment variable a job sees it in. */
export interface BufferPath {
  name: string;
  path: string;
}

/** Everything `sessions show` reports of one session. */
export interface SessionDetails extends SessionRow {
  requestedBytes: bigint;
  granularityBytes: bigint;
  accessMode: SessionRecord['accessMode'];
  type: SessionRecord['type'];
  /** Its bricks, by host in brick order (the primary brick's host first). */
  bricksByHost: { host: string; devices: string[] }[];
  /** The storage host whose dacd carries out its steps; null when none has work. */
  reconciler: string | null;
  computeHosts: string[];
  persistentAttachments: string[];
  paths: BufferPath[];
  observed: SessionRecord['observed'];
  hurry: boolean;
  /** The phases with a recorded time, in the order Slurm drives them. */
  phases: PhaseTiming[];
  transfer: SessionRecord['transfer'] | null;
  lastError: { message: string; at: number } | null;
  stageInLines: number;
  stageOutLines: number;
}

/** Where the buffer appears on compute nodes, as `paths` writes it for a job. */
export function bufferPaths(session: SessionRecord, mountRoot: string): BufferPath[] {
  const lines =
    session.kind === 'persistent'
      ? pathFileLines({ ...session, persistentAttachments: [session.token], bricks: [] }, mountRoot)
      : pathFileLines(session, mountRoot);
  return lines.map((line) => {
    const at = line.indexOf('=');
    return { name: line.slice(0, at), path: line.slice(at + 1) };
  });
}

export function sessionDetails(
  session: SessionRecord,
  names: ReadonlyMap<number, string>,
  mountRoot: string,
): SessionDetails {
  const bricksByHost = hostsOf(session).map((host) => ({
    host,
    devices: session.bricks.filter((b) => b.host === host).map((b) => b.device),
  }));
  const phases = PHASES.flatMap((phase): PhaseTiming[] => {
    const timing = session.timings[phase];
    if (!timing) return [];
    const startedAt = timing.startedAt ?? null;
    const finishedAt = timing.finishedAt ?? null;
    const durationMs =
      startedAt !== null && finishedAt !== null ? Math.max(0, finishedAt - startedAt) : null;
    return [{ phase, startedAt, finishedAt, durationMs }];
  });
  return {
    ...sessionRow(session, names),
    requestedBytes: session.requestedBytes,
    granularityBytes: session.granularityBytes,
    accessMode: session.accessMode,
    type: session.type,
    bricksByHost,
    reconciler: session.reconciler,
    computeHosts: session.computeHosts,
    persistentAttachments: session.persistentAttachments,
    paths: bufferPaths(session, mountRoot),
    observed: session.observed,
    hurry: session.hurry,
    phases,
    transfer: session.transfer ?? null,
    lastError: session.lastError
      ? { message: session.lastError.message, at: session.lastError.at }
      : null,
    stageInLines: session.stageIn.length,
    stageOutLines: session.stageOut.length,
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The text of `sessions show`. */
export function detailsText(details: SessionDetails): string {
  const observed = details.observed;
  const transfer = details.transfer;
  const lines = [
    `session:   ${details.token} (id ${details.id}, ${details.kind})`,
    `owner:     ${ownerText(details.owner)}, gid ${details.owner.gid}`,
    `created:   ${instant(details.createdAt * 1000)}`,
    `pool:      ${details.pool}: ${formatBytes(details.bytes)} in ${plural(details.bricks, 'brick')} ` +
      `(${formatBytes(details.requestedBytes)} requested), ${details.accessMode}, ${details.type}`,
    `served by: ${details.reconciler ?? 'no dacd (nothing to do on a storage host)'}`,
    `state:     ${details.state}`,
    `desired:   ${details.desired}${details.hurry ? ' (with --hurry)' : ''}`,
    `observed:  ${
      observed
        ? `${observed.phase} ${observed.status} at ${instant(observed.updatedAt * 1000)}` +
          (observed.message ? `: ${observed.message}` : '')
        : 'nothing yet'
    }`,
    `nodes:     ${details.computeHosts.join(', ') || 'none'}`,
    ...(details.persistentAttachments.length > 0
      ? [`attaches:  ${details.persistentAttachments.join(', ')}`]
      : []),
    `staging:   ${plural(details.stageInLines, 'stage_in line')}, ${plural(details.stageOutLines, 'stage_out line')}`,
    `transfer:  ${
      transfer
        ? `${transfer.phase} ${formatBytes(transfer.bytes)} in ${plural(transfer.files, 'file')}` +
          `${transfer.done ? '' : ' so far'} at ${instant(transfer.updatedAt * 1000)}`
        : 'none'
    }`,
    `error:     ${
      details.lastError
        ? `${details.lastError.message} (at ${instant(details.lastError.at * 1000)})`
        : 'none'
    }`,
  ];
  const sections = [lines.join('\n')];
  sections.push(
    formatTable(
      [left('HOST'), left('BRICKS')],
      details.bricksByHost.map((h) => [h.host, h.devices.join(', ')]),
    ),
  );
  sections.push(
    formatTable(
      [left('PATH'), left('ON COMPUTE NODES')],
      details.paths.map((p) => [p.name, p.path]),
    ),
  );
  sections.push(
    formatTable(
      [left('PHASE'), left('STARTED'), left('FINISHED'), right('TOOK')],
      details.phases.map((p) => [
        p.phase,
        instant(p.startedAt ?? undefined),
        instant(p.finishedAt ?? undefined),
        p.durationMs === null ? '-' : duration(p.durationMs),
      ]),
    ),
  );
  return sections.join('\n\n');
}
