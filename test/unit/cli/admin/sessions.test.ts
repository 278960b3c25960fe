/**
 * `dacctl sessions list|show|teardown` through the operators' parser (runAdmin), on a mocked
 * RegistryReader and Registry (ts-mockito) and a fixed user database: the filters, what a user
 * who is not root may see and do, the rendering, and the answers and errors. No etcd.
 */
import { anyString, anything, capture, instance, mock, verify, when } from 'ts-mockito';
import { runAdmin } from '../../../../src/cli/admin/admin';
import { teardownAnswer } from '../../../../src/cli/admin/sessions';
import type { CliContext } from '../../../../src/cli/context';
import type { UserDatabase } from '../../../../src/cli/user-database';
import { NotFoundError, PermissionError, RecordError } from '../../../../src/errors/errors';
import { UsageError } from '../../../../src/errors/exit-codes';
import { createCliLogger } from '../../../../src/logging/cli-logger';
import type { EventRecord, SessionRecord } from '../../../../src/registry/model';
import { Registry } from '../../../../src/registry/registry';
import { RegistryReader } from '../../../../src/registry/registry-reader';
import { sessionRecord } from '../../../support/session-record';

const GiB = 1024n ** 3n;
const ROOT = 0;
const ALICE = 1001;
const BOB = 1002;

const users: UserDatabase = {
  nameOf: (uid) => Promise.resolve({ 0: 'root', 1001: 'alice', 1002: 'bob' }[uid]),
  uidOf: (name) => Promise.resolve({ root: 0, alice: 1001, bob: 1002 }[name]),
};

/** Alice's job 100 staging in; Bob's job 200 failed at PreRun; Alice's persistent buffer. */
const aliceJob = sessionRecord({
  id: 12,
  token: '100',
  owner: { uid: ALICE, gid: 100 },
  createdAt: 1_800_000_000,
  granularityBytes: GiB,
  requestedBytes: 2n * GiB,
  accessMode: 'striped,private',
  bricks: [
    { host: 'dac1', device: 'nvme0' },
    { host: 'dac2', device: 'nvme0' },
    { host: 'dac1', device: 'nvme1' },
  ],
  reconciler: 'dac1',
  persistentAttachments: ['shared'],
  desired: 'DataIn',
  observed: { phase: 'Setup', status: 'Completed', updatedAt: 1_800_000_010 },
  timings: {
    Setup: { startedAt: 1_800_000_000_000, finishedAt: 1_800_000_001_500 },
    DataIn: { startedAt: 1_800_000_002_000 },
  },
  stageIn: [{ source: '/home/alice/in', destination: '$DW_JOB_STRIPED/in', type: 'directory' }],
  transfer: { phase: 'DataIn', bytes: 3n * 1024n ** 2n, files: 4, done: false, updatedAt: 0 },
});
const bobJob = sessionRecord({
  id: 13,
  token: '200',
  owner: { uid: BOB, gid: 200 },
  createdAt: 1_800_000_100,
  granularityBytes: GiB,
  bricks: [{ host: 'dac2', device: 'nvme1' }],
  reconciler: 'dac2',
  desired: 'PreRun',
  observed: {
    phase: 'PreRun',
    status: 'Error',
    message: 'mount failed on /mnt/x',
    updatedAt: 1_800_000_200,
  },
  lastError: { message: 'mount failed on /mnt/x', detail: 'EIO', at: 1_800_000_200 },
});
const alicePersistent = sessionRecord({
  id: 11,
  token: 'shared',
  kind: 'persistent',
  owner: { uid: ALICE, gid: 100 },
  granularityBytes: GiB,
  bricks: [{ host: 'dac2', device: 'nvme2' }],
  reconciler: 'dac2',
  desired: 'Setup',
  observed: { phase: 'Setup', status: 'Completed', updatedAt: 0 },
});
const damaged = new RecordError('/dac/sessions/300', 'owner: must be an object');

/** The history: 25 steps of job 100, one of job 200, a drain, one event before 100 existed. */
const step = (token: string, at: number, uid = ALICE): EventRecord => ({
  schemaVersion: 1,
  at,
  kind: 'session-step',
  token,
  uid,
  message: `step at ${at}`,
});
const history: EventRecord[] = [
  step('100', 1_799_000_000_000),
  ...Array.from({ length: 25 }, (_, i) => step('100', 1_800_000_000_000 + i * 1000)),
  step('200', 1_800_000_100_000, BOB),
  { schemaVersion: 1, at: 1_800_000_200_000, kind: 'host-drained', host: 'dac1', message: 'x' },
];
const damagedEvent = new RecordError('/dac/events/2027011508/1', 'kind: must be one of ...');

let reader: RegistryReader;
let registry: Registry;

beforeEach(() => {
  reader = mock(RegistryReader);
  registry = mock(Registry);
  when(reader.readableSessions()).thenResolve({
    sessions: [bobJob, aliceJob, alicePersistent],
    damaged: [damaged],
    revision: 5,
  });
  when(reader.getSession(anyString())).thenResolve(undefined);
  for (const session of [aliceJob, bobJob, alicePersistent]) {
    when(reader.getSession(session.token)).thenResolve({ record: session, modRevision: 3 });
  }
  when(reader.getSession('300')).thenReject(damaged);
  when(registry.hostAlive(anyString())).thenResolve({ alive: true, revision: 9 });
  when(reader.events(anything(), anything())).thenCall((since: number) =>
    Promise.resolve({
      events: history.filter((event) => event.at >= since),
      damaged: [damagedEvent],
      revision: 7,
    }),
  );
});

function contextAs(uid: number, env: NodeJS.ProcessEnv = {}): CliContext {
  const unused = () => Promise.reject(new Error('not used by the sessions commands'));
  return {
    log: createCliLogger('dacctl', { DAC_LOG_FILE: 'none' }),
    env: { DAC_MOUNT_ROOT: '/mnt/dac', ...env },
    successLogLevel: 'info',
    callerUid: uid,
    etcdConfig: unused,
    registry: () => Promise.resolve(instance(registry)),
    reader: () => Promise.resolve(instance(reader)),
    slurmReader: unused,
    users: () => Promise.resolve(users),
    close: () => Promise.resolve(),
  };
}

async function run(uid: number, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const result = await runAdmin(contextAs(uid, env), args);
  if (typeof result !== 'string') throw new Error(`expected an answer, got ${String(result)}`);
  return result;
}

// The documents are checked field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (uid: number, args: string[]): Promise<any> =>
  JSON.parse(await run(uid, [...args, '--json']));

const tokens = async (uid: number, args: string[] = []) =>
  ((await json(uid, ['sessions', 'list', ...args])).sessions as SessionRecord[]).map(
    (s) => s.token,
  );

const cells = (table: string) => table.split('\n').map((line) => line.trim().split(/ {2,}/));

describe('dacctl sessions list', () => {
  it('shows root every session, oldest first, and the records it cannot read', async () => {
    const text = await run(ROOT, ['sessions', 'list']);
    expect(cells(text)).toEqual([
      ['TOKEN', 'ID', 'KIND', 'OWNER', 'POOL', 'SIZE', 'BRICKS', 'HOSTS', 'STATE', 'CREATED'],
      [
        'shared',
        '11',
        'persistent',
        'alice (1001)',
        'default',
        '1 GiB',
        '1',
        'dac2',
        'Setup Completed',
        '1970-01-01 00:00Z',
      ],
      [
        '100',
        '12',
        'job',
        'alice (1001)',
        'default',
        '3 GiB',
        '3',
        'dac1,dac2',
        'DataIn Pending (3 MiB in 4 files so far)',
        '2027-01-15 08:00Z',
      ],
      [
        '200',
        '13',
        'job',
        'bob (1002)',
        'default',
        '1 GiB',
        '1',
        'dac2',
        'PreRun Error: mount failed on <path>',
        '2027-01-15 08:01Z',
      ],
      ['left out: etcd record /dac/sessions/300 is invalid: owner: must be an object'],
    ]);
    const document = await json(ROOT, ['sessions', 'list']);
    expect(document.damaged).toEqual([damaged.message]);
    expect(document.sessions[1]).toEqual({
      token: '100',
      id: 12,
      kind: 'job',
      owner: { uid: ALICE, gid: 100, name: 'alice' },
      pool: 'default',
      bytes: 3 * 1024 ** 3,
      bricks: 3,
      hosts: ['dac1', 'dac2'],
      state: 'DataIn Pending (3 MiB in 4 files so far)',
      desired: 'DataIn',
      status: 'Pending',
      createdAt: 1_800_000_000,
    });
  });

  it('shows anybody else only their own sessions, and no key of a damaged record', async () => {
    expect(await tokens(ALICE)).toEqual(['shared', '100']);
    expect(await tokens(BOB)).toEqual(['200']);
    expect(await tokens(4242)).toEqual([]);
    // --user cannot widen it.
    expect(await tokens(ALICE, ['--user', 'bob'])).toEqual([]);
    const text = await run(BOB, ['sessions', 'list']);
    expect(text).not.toContain('300');
    expect(text).not.toContain('alice');
    expect(text.split('\n').at(-1)).toBe(
      'left out: a session record cannot be read (only root sees which)',
    );
    expect((await json(BOB, ['sessions', 'list'])).damaged).toEqual([
      'a session record cannot be read (only root sees which)',
    ]);
  });

  it.each<[string, string[]]>([
    ['DataIn', ['100']],
    ['datain', ['100']],
    ['Setup', ['shared']],
    ['Teardown', []],
    ['Pending', ['100']],
    ['Completed', ['shared']],
    ['error', ['200']],
    ['InProgress', []],
  ])('--state %s matches the desired phase or its status', async (state, expected) => {
    expect(await tokens(ROOT, ['--state', state])).toEqual(expected);
  });

  it('--user takes a user name or a uid', async () => {
    expect(await tokens(ROOT, ['--user', 'alice'])).toEqual(['shared', '100']);
    expect(await tokens(ROOT, ['--user', '1002'])).toEqual(['200']);
    expect(await tokens(ROOT, ['--user', '7'])).toEqual([]);
    expect(await tokens(ROOT, ['--user', 'alice', '--state', 'Setup'])).toEqual(['shared']);
  });

  it.each<[string[], RegExp]>([
    [['--state', 'Running'], /^--state "Running" must be a phase \(Setup, DataIn, .*Error\)$/],
    [['--user', 'mallory'], /^--user "mallory" is neither a uid nor a user the user database/],
    [['--user', '12345678901'], /^--user "12345678901" is neither a uid/],
  ])('refuses %j in one line', async (args, message) => {
    const attempt = run(ROOT, ['sessions', 'list', ...args]);
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toThrow(message);
    verify(reader.readableSessions()).never();
  });
});

describe('dacctl sessions show', () => {
  it('shows owner, bricks by host, paths, state, phases, transfer and error', async () => {
    const { session } = await json(ROOT, ['sessions', 'show', '100']);
    expect(session).toMatchObject({
      token: '100',
      owner: { uid: ALICE, gid: 100, name: 'alice' },
      bricksByHost: [
        { host: 'dac1', devices: ['nvme0', 'nvme1'] },
        { host: 'dac2', devices: ['nvme0'] },
      ],
      reconciler: 'dac1',
      paths: [
        { name: 'DW_JOB_STRIPED', path: '/mnt/dac/job/100/striped/' },
        { name: 'DW_JOB_PRIVATE', path: '/mnt/dac/job/100/private/' },
        { name: 'DW_PERSISTENT_STRIPED_shared', path: '/mnt/dac/persistent/shared/striped/' },
      ],
      desired: 'DataIn',
      status: 'Pending',
      observed: { phase: 'Setup', status: 'Completed', updatedAt: 1_800_000_010 },
      phases: [
        {
          phase: 'Setup',
          startedAt: 1_800_000_000_000,
          finishedAt: 1_800_000_001_500,
          durationMs: 1500,
        },
        { phase: 'DataIn', startedAt: 1_800_000_002_000, finishedAt: null, durationMs: null },
      ],
      transfer: { phase: 'DataIn', bytes: 3 * 1024 ** 2, files: 4, done: false },
      lastError: null,
      stageInLines: 1,
      stageOutLines: 0,
    });
    const text = await run(ALICE, ['sessions', 'show', '100']);
    expect(text).toContain('owner:     alice (1001), gid 100');
    expect(text).toContain('transfer:  DataIn 3 MiB in 4 files so far');
    expect(cells(text.split('\n\n')[1]!)).toEqual([
      ['HOST', 'BRICKS'],
      ['dac1', 'nvme0, nvme1'],
      ['dac2', 'nvme0'],
    ]);
    expect(cells(text.split('\n\n')[3]!)).toEqual([
      ['PHASE', 'STARTED', 'FINISHED', 'TOOK'],
      ['Setup', '2027-01-15 08:00:00Z', '2027-01-15 08:00:01Z', '1.5 s'],
      ['DataIn', '2027-01-15 08:00:02Z', '-', '-'],
    ]);
  });

  it("lists the session's last 20 events since it was created, and how many came before", async () => {
    const document = await json(ALICE, ['sessions', 'show', '100']);
    expect(document.events).toEqual(history.slice(6, 26));
    expect(document.earlierEvents).toBe(5);
    expect(document.damaged).toEqual([damagedEvent.message]);
    const [since] = capture(reader.events).last();
    expect(since).toBe((1_800_000_000 - 60) * 1000);
    const text = await run(ALICE, ['sessions', 'show', '100']);
    const section = text.split('\n\n')[4]!.split('\n');
    expect(section[0]).toBe('events (the last 20; 5 earlier: dacctl events --session 100):');
    expect(cells(section[1]!)[0]).toEqual(['TIME', 'KIND', 'SESSION', 'HOST', 'BY', 'WHAT']);
    expect(cells(section[2]!)[0]).toEqual([
      '2027-01-15 08:00:05Z',
      'session-step',
      '100',
      '-',
      '-',
      'step at 1800000005000',
    ]);
    expect(section).toHaveLength(23);
    expect(section[22]).toBe(`left out: ${damagedEvent.message}`);
    const bob = await json(BOB, ['sessions', 'show', '200']);
    expect(bob.events).toEqual([history[26]]);
    expect(bob.earlierEvents).toBe(0);
    expect((await run(BOB, ['sessions', 'show', '200'])).split('\n\n')[4]).toMatch(
      /^events \(1\):\n/,
    );
  });

  it('gives the last error with its message, unmasked, to the owner', async () => {
    const { session } = await json(BOB, ['sessions', 'show', '200']);
    expect(session.lastError).toEqual({ message: 'mount failed on /mnt/x', at: 1_800_000_200 });
    const text = await run(BOB, ['sessions', 'show', '200']);
    expect(text).toContain('error:     mount failed on /mnt/x (at 2027-01-15 08:03:20Z)');
    expect(text).not.toContain('EIO');
  });

  it("a persistent buffer's path is its own striped namespace", async () => {
    const { session } = await json(ALICE, ['sessions', 'show', 'shared']);
    expect(session.paths).toEqual([
      { name: 'DW_PERSISTENT_STRIPED_shared', path: '/mnt/dac/persistent/shared/striped/' },
    ]);
  });

  it("answers anybody but root for another user's session as for one that does not exist", async () => {
    const missing = run(ALICE, ['sessions', 'show', '999']);
    await expect(missing).rejects.toBeInstanceOf(NotFoundError);
    const message = 'session 999 does not exist (dacctl sessions list shows the sessions)';
    await expect(missing).rejects.toThrow(message);
    const other = run(ALICE, ['sessions', 'show', '200']);
    await expect(other).rejects.toBeInstanceOf(NotFoundError);
    await expect(other).rejects.toThrow(message.replace('999', '200'));
    // A record nobody can read: its problem for root, nothing for anybody else.
    await expect(run(ROOT, ['sessions', 'show', '300'])).rejects.toBe(damaged);
    await expect(run(ALICE, ['sessions', 'show', '300'])).rejects.toThrow(
      message.replace('999', '300'),
    );
    expect((await json(ROOT, ['sessions', 'show', '200'])).session.token).toBe('200');
  });

  it('refuses a token that is not one, before reading', async () => {
    const attempt = run(ROOT, ['sessions', 'show', '../hosts/dac1']);
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toThrow(
      'session token "../hosts/dac1" must be a job id or a buffer name',
    );
    verify(reader.getSession(anything())).never();
  });
});

describe('dacctl sessions teardown', () => {
  const wiping = { session: bobJob, wiping: [{ host: 'dac2', devices: ['nvme1'] }] };

  it('tears down by force for root, saying which bricks wait for which dacd', async () => {
    when(registry.releaseSessionByForce('200', anything())).thenResolve(wiping);
    const answer = await run(
      ROOT,
      ['sessions', 'teardown', '200', '--force', '-r', '  dac2 is dead '],
      { SUDO_USER: 'alice' },
    );
    expect(answer).toBe(
      'tore down session 200 by force: 1 brick on dac2 waits for dacd to wipe it',
    );
    const [token, request] = capture(registry.releaseSessionByForce).last();
    expect(token).toBe('200');
    expect(request).toEqual({
      by: expect.stringMatching(/^alice \(as .+\)$/),
      reason: 'dac2 is dead',
    });
  });

  it('says when a host whose bricks wait is down', async () => {
    when(registry.hostAlive('dac2')).thenResolve({ alive: false, revision: 9 });
    when(registry.releaseSessionByForce('100', anything())).thenResolve({
      session: aliceJob,
      wiping: [
        { host: 'dac1', devices: ['nvme0', 'nvme1'] },
        { host: 'dac2', devices: ['nvme0'] },
      ],
    });
    expect(await run(ROOT, ['sessions', 'teardown', '100', '--force', '-r', 'hangs'])).toBe(
      'tore down session 100 by force: 2 bricks on dac1 and 1 brick on dac2 wait for their ' +
        'dacd to wipe them (dacd on dac2 is not running: it wipes when it starts)',
    );
  });

  it('names what it did in every case', () => {
    expect(
      teardownAnswer(
        { session: bobJob, wiping: [{ host: 'dac2', devices: ['nvme1'] }] },
        new Set(['dac2']),
      ),
    ).toBe('tore down session 200 by force: 1 brick on dac2 waits for dacd to wipe it');
    expect(teardownAnswer({ session: { ...bobJob, bricks: [] }, wiping: [] }, new Set())).toBe(
      'tore down session 200 by force: it held no bricks',
    );
    expect(teardownAnswer({ session: bobJob, wiping: [] }, new Set())).toBe(
      'tore down session 200 by force: 1 brick had no allocation record of this session and ' +
        'was left as it was',
    );
    // A record that could not be read: its bricks are those found by their allocation records.
    const unread = { token: '300', damaged };
    expect(
      teardownAnswer({ ...unread, wiping: [{ host: 'dac1', devices: ['nvme3'] }] }, new Set()),
    ).toBe(
      'tore down session 300 by force (its record could not be read; its bricks are those ' +
        'whose allocation records name it): 1 brick on dac1 waits for dacd to wipe it ' +
        '(dacd on dac1 is not running: it wipes when it starts)',
    );
    expect(teardownAnswer({ ...unread, wiping: [] }, new Set())).toBe(
      'tore down session 300 by force (its record could not be read; its bricks are those ' +
        'whose allocation records name it): no allocation record names it',
    );
  });

  it.each<[string, number, string[], new (...args: never[]) => Error, RegExp]>([
    [
      'anybody but root, even the owner',
      ALICE,
      ['100', '--force', '-r', 'x'],
      PermissionError,
      /^dacctl sessions teardown: only root may tear a session down by force/,
    ],
    [
      'without --force',
      ROOT,
      ['100', '-r', 'x'],
      UsageError,
      /^dacctl sessions teardown: --force is required/,
    ],
    [
      'an empty reason',
      ROOT,
      ['100', '--force', '-r', ' '],
      UsageError,
      /^dacctl sessions teardown: --reason must be 1 to 500 characters$/,
    ],
    [
      'no reason',
      ROOT,
      ['100', '--force'],
      UsageError,
      /^dacctl sessions teardown: Missing required argument: reason/,
    ],
    [
      'an unknown session',
      ROOT,
      ['999', '--force', '-r', 'x'],
      NotFoundError,
      /^session 999 does not exist \(dacctl sessions list shows the sessions\)$/,
    ],
  ])('refuses %s', async (_case, uid, args, type, message) => {
    when(registry.releaseSessionByForce('999', anything())).thenResolve(undefined);
    const attempt = run(uid, ['sessions', 'teardown', ...args]);
    await expect(attempt).rejects.toBeInstanceOf(type);
    await expect(attempt).rejects.toThrow(message);
    if (!(type === NotFoundError))
      verify(registry.releaseSessionByForce(anything(), anything())).never();
  });
});
