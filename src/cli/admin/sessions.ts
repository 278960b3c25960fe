/**
 * `dacctl sessions list|show|teardown`: the burst buffers that exist, one in detail, and the
 * forced teardown of one whose host is dead or whose steps hang.
 *
 * A user sees only their own sessions: for anybody but root, `list` leaves out the sessions
 * of other owners, and `show` answers for another user's session exactly as for one that does
 * not exist. Only root tears down by force; the bricks are then kept, marked for the host's
 * dacd to wipe, and freed once it has (registry/forced-release.ts, dacd/brick-wiper.ts).
 */
import { NotFoundError, PermissionError, RecordError } from '../../errors/errors';
import { UsageError } from '../../errors/exit-codes';
import { mountRootFromEnv } from '../../registry/buffer-paths';
import type { ForcedRelease } from '../../registry/registry';
import type { SessionRecord } from '../../registry/model';
import { TOKEN } from '../../registry/record-patterns';
import type { CliContext } from '../context';
import type { AdminArgs, AdminGroup } from './command';
import { eventTable } from './events';
import { jsonDocument } from './json';
import { operatorName } from './operator';
import {
  PHASES,
  STATUSES,
  damagedMessages,
  detailsText,
  isRoot,
  listedSessions,
  mayView,
  sessionDetails,
  sessionRow,
  sessionTable,
  type StateFilter,
} from './session-view';

/** `--state`: a phase or a status, in any letter case. */
export function parseState(text: string): StateFilter {
  const wanted = text.trim().toLowerCase();
  const phase = PHASES.find((p) => p.toLowerCase() === wanted);
  if (phase) return { phase };
  const status = STATUSES.find((s) => s.toLowerCase() === wanted);
  if (status) return { status };
  throw new UsageError(
    `--state "${text}" must be a phase (${PHASES.join(', ')}) ` +
      `or a status (${STATUSES.join(', ')})`,
  );
}

/** `--user`: a uid, or a user name the user database knows. */
async function parseUser(context: CliContext, text: string): Promise<number> {
  if (/^(0|[1-9][0-9]{0,9})$/.test(text) && Number(text) <= 4294967294) return Number(text);
  const uid = await (await context.users()).uidOf(text);
  if (uid === undefined) {
    throw new UsageError(`--user "${text}" is neither a uid nor a user the user database knows`);
  }
  return uid;
}

/** The TOKEN positional, checked before it names a key. */
function tokenOf(args: AdminArgs): string {
  const token = String(args.token ?? '');
  if (!TOKEN.regex.test(token)) {
    throw new UsageError(`session token "${token.slice(0, 80)}" ${TOKEN.message}`);
  }
  return token;
}

/** The user names of the owners of `sessions`, by uid (owners without an entry left out). */
async function ownerNames(
  context: CliContext,
  sessions: readonly SessionRecord[],
): Promise<Map<number, string>> {
  const uids = [...new Set(sessions.map((s) => s.owner.uid))];
  if (uids.length === 0) return new Map();
  const users = await context.users();
  const names = await Promise.all(uids.map((uid) => users.nameOf(uid)));
  return new Map(uids.flatMap((uid, i) => (names[i] === undefined ? [] : [[uid, names[i]]])));
}

const notFound = (token: string) =>
  new NotFoundError(`session ${token} does not exist (dacctl sessions list shows the sessions)`);

async function listSessions(context: CliContext, args: AdminArgs): Promise<string> {
  const state = args.state === undefined ? undefined : parseState(String(args.state));
  const uid = args.user === undefined ? undefined : await parseUser(context, String(args.user));
  const { sessions, damaged } = await (await context.reader()).readableSessions();
  const listed = listedSessions(sessions, {
    callerUid: context.callerUid,
    ...(state ? { state } : {}),
    ...(uid !== undefined ? { uid } : {}),
  });
  const names = await ownerNames(context, listed);
  const rows = listed.map((session) => sessionRow(session, names));
  const left = damagedMessages(
    damaged.map((error) => error.message),
    context.callerUid,
  );
  if (args.json) return jsonDocument({ sessions: rows, damaged: left });
  return sessionTable(rows, left);
}

/**
 * The session `token` if the caller may see it. Anybody but root is answered for another
 * user's session, or one whose record cannot be read, as for a session that does not exist.
 */
async function visibleSession(context: CliContext, token: string): Promise<SessionRecord> {
  const reader = await context.reader();
  let session: SessionRecord | undefined;
  try {
    session = (await reader.getSession(token))?.record;
  } catch (error) {
    if (error instanceof RecordError && !isRoot(context.callerUid)) throw notFound(token);
    throw error;
  }
  if (!session || !mayView(session, context.callerUid)) throw notFound(token);
  return session;
}

/** The most events `sessions show` lists of a session: its last ones. */
export const SHOWN_EVENTS = 20;

/**
 * The history of `session`: its events since it was created (a minute earlier, for clocks that
 * differ; an earlier session of the same token ended before), oldest first, the last
 * SHOWN_EVENTS of them, and how many came before those.
 */
async function sessionHistory(context: CliContext, session: SessionRecord) {
  const now = Date.now();
  const read = await (await context.reader()).events((session.createdAt - 60) * 1000, now);
  const all = read.events.filter((event) => event.token === session.token);
  return {
    events: all.slice(-SHOWN_EVENTS),
    earlier: Math.max(0, all.length - SHOWN_EVENTS),
    damaged: read.damaged.map((error) => error.message),
  };
}

async function showSession(context: CliContext, args: AdminArgs): Promise<string> {
  const token = tokenOf(args);
  const mountRoot = mountRootFromEnv(context.env);
  const session = await visibleSession(context, token);
  const details = sessionDetails(session, await ownerNames(context, [session]), mountRoot);
  const { events, earlier, damaged } = await sessionHistory(context, session);
  if (args.json) {
    return jsonDocument({ session: details, events, earlierEvents: earlier, damaged });
  }
  const heading =
    earlier === 0
      ? `events (${events.length}):`
      : `events (the last ${events.length}; ${earlier} earlier: dacctl events --session ${token}):`;
  return [
    detailsText(details),
    '',
    heading,
    eventTable(events),
    ...damaged.map((message) => `left out: ${message}`),
  ].join('\n');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The answer of a forced teardown: what changed, and who frees the bricks. */
export function teardownAnswer(released: ForcedRelease, alive: ReadonlySet<string>): string {
  const { session, wiping } = released;
  const token = session ? session.token : released.token;
  const head = session
    ? `tore down session ${token} by force`
    : `tore down session ${token} by force (its record could not be read; its bricks are those ` +
      'whose allocation records name it)';
  const kept = wiping.reduce((n, host) => n + host.devices.length, 0);
  if (session?.bricks.length === 0) return `${head}: it held no bricks`;
  if (!session && kept === 0) return `${head}: no allocation record names it`;
  const where = wiping.map((h) => `${plural(h.devices.length, 'brick')} on ${h.host}`);
  const waiting =
    wiping.length === 0
      ? ''
      : `${where.join(' and ')} ${kept === 1 ? 'waits' : 'wait'} for ` +
        `${wiping.length === 1 ? 'dacd' : 'their dacd'} to wipe ${kept === 1 ? 'it' : 'them'}`;
  const stopped = wiping.map((h) => h.host).filter((host) => !alive.has(host));
  const later =
    stopped.length === 0
      ? ''
      : ` (dacd on ${stopped.join(', ')} is not running: it wipes when it starts)`;
  const skipped = session ? session.bricks.length - kept : 0;
  const left =
    skipped === 0
      ? ''
      : `${waiting ? '; ' : ''}${plural(skipped, 'brick')} had no allocation record of this ` +
        `session and ${skipped === 1 ? 'was' : 'were'} left as ${skipped === 1 ? 'it was' : 'they were'}`;
  return `${head}: ${waiting}${later}${left}`;
}

async function teardownSession(context: CliContext, args: AdminArgs): Promise<string> {
  if (!isRoot(context.callerUid)) {
    throw new PermissionError(
      'dacctl sessions teardown: only root may tear a session down by force ' +
        '(a job buffer is torn down by Slurm when the job ends)',
    );
  }
  if (!args.force) {
    throw new UsageError(
      'dacctl sessions teardown: --force is required: the session is removed without its ' +
        'dacd, and its bricks stay allocated until dacd has wiped them',
    );
  }
  const token = tokenOf(args);
  const reason = String(args.reason ?? '').trim();
  if (reason === '' || reason.length > 500) {
    throw new UsageError('dacctl sessions teardown: --reason must be 1 to 500 characters');
  }
  const registry = await context.registry();
  const released = await registry.releaseSessionByForce(token, {
    by: operatorName(context.env).slice(0, 200),
    reason,
  });
  if (!released) throw notFound(token);
  const alive = new Set<string>();
  for (const { host } of released.wiping) {
    if ((await registry.hostAlive(host)).alive) alive.add(host);
  }
  return teardownAnswer(released, alive);
}

const TOKEN_POSITIONAL = {
  token: { type: 'string', describe: 'the session token: a job id or a persistent buffer name' },
} as const;

export const SESSIONS: AdminGroup = {
  name: 'sessions',
  describe: 'burst buffers: list, show, tear down by force',
  actions: [
    {
      command: 'list',
      describe: 'every session you may see (root: all; others: their own), with its state',
      options: {
        state: {
          type: 'string',
          describe:
            `a desired phase (${PHASES.join(', ')}) or the status of that phase ` +
            `(${STATUSES.join(', ')})`,
        },
        user: { type: 'string', describe: "only this owner's sessions (a user name or uid)" },
      },
      examples: [
        ['$0 sessions list --state Error', 'sessions whose desired step failed'],
        ['$0 sessions list --state DataIn --user alice', "alice's sessions asked to stage in"],
      ],
      run: listSessions,
    },
    {
      command: 'show <token>',
      describe:
        'one session: owner, bricks, paths, state, each phase, transfers, last error, ' +
        'its last events',
      positionals: TOKEN_POSITIONAL,
      run: showSession,
    },
    {
      command: 'teardown <token>',
      describe:
        'root: remove a session whose host is dead or whose steps hang; its bricks stay ' +
        'allocated until its dacd has wiped them',
      positionals: TOKEN_POSITIONAL,
      options: {
        force: { type: 'boolean', default: false, describe: 'required: yes, by force' },
        reason: { alias: 'r', type: 'string', demandOption: true, describe: 'why (kept)' },
      },
      examples: [['$0 sessions teardown 4001 --force -r "dac1 is dead"', 'tear down job 4001']],
      run: teardownSession,
    },
  ],
};
