import { KeyLayout } from '../../../../src/registry/keys';
import { buildInventory, type Inventory } from '../../../../src/registry/inventory';
import type { KeyValue } from '../../../../src/keystore/keystore';
import { SCHEMA_VERSION } from '../../../../src/registry/model';
import {
  MAX_MESSAGE_LENGTH,
  instanceStatuses,
  nodeState,
  nodeStatuses,
  poolStatuses,
  publicMessage,
  sessionState,
  sessionStatuses,
} from '../../../../src/cli/dwstat/status';
import { GiB, session } from './fixtures';

/** An inventory decoded from key/values, as Registry.readInventory builds it. */
function inventory(): Inventory {
  const keys = new KeyLayout('/t/');
  const kv = (key: string, value: object, createRevision = 1): KeyValue => ({
    key,
    value: JSON.stringify({ schemaVersion: SCHEMA_VERSION, ...value }),
    createRevision,
    modRevision: createRevision,
    version: 1,
  });
  const host = (name: string, bricks: number, extra: object = {}) =>
    kv(keys.host(name), {
      name,
      enabled: true,
      bricks: Array.from({ length: bricks }, (_, i) => ({
        device: `nvme${i}n1`,
        capacityBytes: String(GiB),
        pool: 'default',
      })),
      updatedAt: 1,
      ...extra,
    });
  const kvs = [
    kv(keys.pool('default'), { name: 'default', granularityBytes: String(GiB) }),
    kv(keys.pool('empty'), { name: 'empty', granularityBytes: String(2n * GiB) }),
    host('s2', 3),
    host('s1', 2),
    host('s3', 2, { enabled: false, drainReason: 'disk /dev/nvme1n1 replaced' }),
    host('s4', 1),
    kv(keys.alive('s1'), { host: 's1', since: 1 }, 7),
    kv(keys.alive('s2'), { host: 's2', since: 1 }, 8),
    kv(keys.alive('s3'), { host: 's3', since: 1 }, 9),
    kv(keys.allocation('s1', 'nvme0n1'), { sessionId: 5, token: '5', index: 0 }),
    kv(keys.allocation('s2', 'nvme2n1'), { sessionId: 5, token: '5', index: 1 }),
    kv(keys.allocation('s4', 'nvme0n1'), { sessionId: 6, token: '6', index: 0 }),
  ];
  return buildInventory(keys, kvs, 42);
}

describe('publicMessage', () => {
  it('masks absolute paths that only the owner may see', () => {
    expect(publicMessage('copy /home/alice/in.dat to /mnt/dac/1/in.dat: permission denied')).toBe(
      'copy <path> to <path>: permission denied',
    );
    expect(publicMessage('failed (source=/lus/x/y, "/tmp/z")')).toBe(
      'failed (source=<path>, "<path>")',
    );
  });

  it('keeps slashes that are not paths', () => {
    expect(publicMessage('3/4 bricks on h1/nvme0n1 failed')).toBe(
      '3/4 bricks on h1/nvme0n1 failed',
    );
  });

  it('makes the message one line and shortens a long one', () => {
    expect(publicMessage('a\nb')).toBe('a b');
    const long = publicMessage('x'.repeat(200));
    expect(long).toHaveLength(MAX_MESSAGE_LENGTH);
    expect(long.endsWith('...')).toBe(true);
  });
});

describe('sessionState', () => {
  it('shows the desired step and its observed status', () => {
    expect(
      sessionState(
        session({
          desired: 'DataIn',
          observed: { phase: 'DataIn', status: 'InProgress', updatedAt: 1 },
        }),
      ),
    ).toBe('DataIn InProgress');
  });

  it('adds the public part of the message to an error', () => {
    expect(
      sessionState(
        session({
          observed: {
            phase: 'Setup',
            status: 'Error',
            message: 'mkfs failed on /dev/nvme0n1',
            updatedAt: 1,
          },
        }),
      ),
    ).toBe('Setup Error: mkfs failed on <path>');
    expect(
      sessionState(session({ observed: { phase: 'Setup', status: 'Error', updatedAt: 1 } })),
    ).toBe('Setup Error: no reason given');
  });

  it('shows how far a running stage has come', () => {
    const transfer = {
      phase: 'DataIn' as const,
      bytes: 3n * 1024n ** 3n,
      files: 120,
      updatedAt: 1,
    };
    const copying = session({
      desired: 'DataIn',
      observed: { phase: 'Setup', status: 'Completed', updatedAt: 1 },
      transfer: { ...transfer, done: false },
    });
    expect(sessionState(copying)).toBe('DataIn Pending (3 GiB in 120 files so far)');
    expect(sessionState({ ...copying, transfer: { ...transfer, done: true } })).toBe(
      'DataIn Pending',
    );
  });

  it('shows a running stage against its totals, with the percentage and the rate', () => {
    const updatedAt = 1_700_000_100;
    const copying = session({
      desired: 'DataIn',
      observed: { phase: 'Setup', status: 'Completed', updatedAt: 1 },
      transfer: {
        phase: 'DataIn',
        bytes: (12n * GiB) / 10n + 1n,
        files: 120,
        totalBytes: 4n * GiB,
        totalFiles: 400,
        // 14.5 s before the middle of the second of the last count.
        startedAt: updatedAt * 1000 - 14_000,
        done: false,
        updatedAt,
      },
    });
    expect(sessionState(copying)).toBe(
      'DataIn Pending (1.2 GiB of 4 GiB, 30%, 120 files of 400, 84.7 MiB/s)',
    );
    // The totals of a stage-out; without a start (an older dacd wrote it) there is no rate.
    const out = session({
      desired: 'DataOut',
      observed: { phase: 'PostRun', status: 'Completed', updatedAt: 1 },
      transfer: {
        phase: 'DataOut',
        bytes: 0n,
        files: 0,
        totalBytes: 10n * GiB,
        totalFiles: 3,
        done: false,
        updatedAt,
      },
    });
    expect(sessionState(out)).toBe('DataOut Pending (0 B of 10 GiB, 0%, 0 files of 3)');
    // Once the step is reported, the state is the report; the counts stay in the JSON.
    expect(
      sessionState({
        ...copying,
        observed: { phase: 'DataIn', status: 'Completed', updatedAt },
        transfer: { ...copying.transfer!, done: true },
      }),
    ).toBe('DataIn Completed');
  });

  it('shows Pending until dacd reports on the desired step', () => {
    expect(sessionState(session({ desired: 'Setup', observed: null }))).toBe('Setup Pending');
    expect(
      sessionState(
        session({
          desired: 'PreRun',
          observed: { phase: 'DataIn', status: 'Completed', updatedAt: 1 },
        }),
      ),
    ).toBe('PreRun Pending');
  });
});

describe('sessionStatuses and instanceStatuses', () => {
  const sessions = [
    session({
      id: 9,
      token: 'p1',
      kind: 'persistent',
      owner: { uid: 7, gid: 8 },
      bricks: [
        { host: 'h2', device: 'a' },
        { host: 'h1', device: 'b' },
        { host: 'h2', device: 'c' },
      ],
      computeHosts: ['n1', 'n2'],
    }),
    session({ id: 3, token: '77' }),
  ];

  it('lists sessions by id with owner, size and node count', () => {
    expect(sessionStatuses(sessions)).toEqual([
      {
        id: 3,
        token: '77',
        kind: 'job',
        owner: 1001,
        createdAt: 1700000000,
        state: 'Setup Pending',
        bytes: 0n,
        bricks: 0,
        nodes: 0,
      },
      {
        id: 9,
        token: 'p1',
        kind: 'persistent',
        owner: 7,
        createdAt: 1700000000,
        state: 'Setup Pending',
        bytes: 3n * GiB,
        bricks: 3,
        nodes: 2,
      },
    ]);
  });

  it('gives the counts of the current or last stage with a session that has them', () => {
    const transfer = {
      phase: 'DataIn' as const,
      bytes: 9n,
      files: 2,
      totalBytes: 9n,
      totalFiles: 2,
      startedAt: 1_700_000_010_500 - 3000,
      done: true,
      updatedAt: 1_700_000_010,
    };
    const [status] = sessionStatuses([
      session({
        desired: 'DataIn',
        observed: { phase: 'DataIn', status: 'Completed', updatedAt: 1 },
        transfer,
      }),
    ]);
    expect(status).toMatchObject({ state: 'DataIn Completed' });
    expect(status!.transfer).toEqual({
      phase: 'DataIn',
      done: true,
      bytes: 9n,
      files: 2,
      totalBytes: 9n,
      totalFiles: 2,
      percent: 100,
      bytesPerSecond: 3,
      startedAt: 1_700_000_007,
      updatedAt: 1_700_000_010,
    });
  });

  it('gives one instance per session with bricks, hosts once each in brick order', () => {
    expect(instanceStatuses(sessions)).toEqual([
      {
        id: 9,
        sessionId: 9,
        token: 'p1',
        bytes: 3n * GiB,
        bricks: [
          { host: 'h2', device: 'a' },
          { host: 'h1', device: 'b' },
          { host: 'h2', device: 'c' },
        ],
        hosts: ['h2', 'h1'],
      },
    ]);
  });
});

describe('nodeState', () => {
  it.each([
    [true, false, undefined, 'up'],
    [false, false, undefined, 'down'],
    [true, true, 'bad disk', 'drained: bad disk'],
    [true, true, undefined, 'drained'],
    [false, true, 'bad disk', 'down, drained: bad disk'],
  ])('alive=%s drained=%s reason=%s is %s', (alive, drained, reason, text) => {
    expect(nodeState(alive, drained, reason)).toBe(text);
  });
});

describe('poolStatuses and nodeStatuses', () => {
  it('gives pool totals in bytes and the brick counts behind them', () => {
    expect(poolStatuses(inventory())).toEqual([
      {
        name: 'default',
        granularityBytes: GiB,
        bricks: 8,
        freeBricks: 3,
        allocatedBricks: 3,
        unavailableBricks: 2,
        quantityBytes: 8n * GiB,
        freeBytes: 3n * GiB,
      },
      {
        name: 'empty',
        granularityBytes: 2n * GiB,
        bricks: 0,
        freeBricks: 0,
        allocatedBricks: 0,
        unavailableBricks: 0,
        quantityBytes: 0n,
        freeBytes: 0n,
      },
    ]);
  });

  it('lists hosts by name with state, allocated and unallocated bricks', () => {
    expect(nodeStatuses(inventory())).toEqual([
      {
        host: 's1',
        state: 'up',
        alive: true,
        drained: false,
        pools: ['default'],
        bricks: 2,
        allocatedBricks: 1,
        freeBricks: 1,
        allocatedBytes: GiB,
        freeBytes: GiB,
      },
      {
        host: 's2',
        state: 'up',
        alive: true,
        drained: false,
        pools: ['default'],
        bricks: 3,
        allocatedBricks: 1,
        freeBricks: 2,
        allocatedBytes: GiB,
        freeBytes: 2n * GiB,
      },
      {
        host: 's3',
        state: 'drained: disk <path> replaced',
        alive: true,
        drained: true,
        drainReason: 'disk <path> replaced',
        pools: ['default'],
        bricks: 2,
        allocatedBricks: 0,
        freeBricks: 2,
        allocatedBytes: 0n,
        freeBytes: 2n * GiB,
      },
      {
        host: 's4',
        state: 'down',
        alive: false,
        drained: false,
        pools: ['default'],
        bricks: 1,
        allocatedBricks: 1,
        freeBricks: 0,
        allocatedBytes: GiB,
        freeBytes: 0n,
      },
    ]);
  });
});
