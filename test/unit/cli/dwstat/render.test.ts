import { InvalidAnswerError } from '../../../../src/cli/datawarp-json';
import {
  configurationsTable,
  instancesTable,
  isoSeconds,
  nodesTable,
  poolsTable,
  renderJson,
  renderTables,
  sessionsTable,
  type DwstatStatus,
} from '../../../../src/cli/dwstat/render';
import type {
  InstanceStatus,
  NodeStatus,
  PoolStatus,
  SessionStatus,
} from '../../../../src/cli/dwstat/status';
import { GiB } from './fixtures';

const GRAN = 1600n * GiB;

const pool: PoolStatus = {
  name: 'default',
  granularityBytes: GRAN,
  bricks: 8,
  freeBricks: 6,
  allocatedBricks: 1,
  unavailableBricks: 1,
  quantityBytes: 8n * GRAN,
  freeBytes: 6n * GRAN,
};

const sessions: SessionStatus[] = [
  {
    id: 12,
    token: '1234',
    kind: 'job',
    owner: 1001,
    createdAt: 1700000000,
    state: 'DataIn InProgress',
    bytes: 2n * GRAN,
    bricks: 2,
    nodes: 0,
  },
  {
    id: 130,
    token: 'scratch1',
    kind: 'persistent',
    owner: 0,
    createdAt: 1700000061,
    state: 'Setup Error: mkfs failed',
    bytes: 0n,
    bricks: 0,
    nodes: 16,
  },
];

const instances: InstanceStatus[] = [
  {
    id: 12,
    sessionId: 12,
    token: '1234',
    bytes: 2n * GRAN,
    bricks: [
      { host: 'storage2', device: 'nvme0n1' },
      { host: 'storage1', device: 'nvme3n1' },
    ],
    hosts: ['storage2', 'storage1'],
  },
];

const nodes: NodeStatus[] = [
  {
    host: 'storage1',
    state: 'up',
    alive: true,
    drained: false,
    pools: ['default'],
    bricks: 4,
    allocatedBricks: 1,
    freeBricks: 3,
    allocatedBytes: GRAN,
    freeBytes: 3n * GRAN,
  },
  {
    host: 'st2',
    state: 'down, drained: new disk',
    alive: false,
    drained: true,
    drainReason: 'new disk',
    pools: [],
    bricks: 0,
    allocatedBricks: 0,
    freeBricks: 0,
    allocatedBytes: 0n,
    freeBytes: 0n,
  },
];

describe('dwstat human tables', () => {
  it('shows pools with Cray columns as sizes, then brick counts', () => {
    expect(poolsTable([pool]).split('\n')).toEqual([
      'pool     units  quantity     free     gran  bricks  free_bricks  allocated  unavailable',
      'default  bytes  12.5 TiB  9.4 TiB  1.6 TiB       8            6          1            1',
    ]);
  });

  it('shows sessions with UTC creation time, state, size and node count', () => {
    expect(sessionsTable(sessions).split('\n')).toEqual([
      'sess  token     owner  created               state                        size  nodes',
      '  12  1234       1001  2023-11-14T22:13:20Z  DataIn InProgress         3.1 TiB      0',
      ' 130  scratch1      0  2023-11-14T22:14:21Z  Setup Error: mkfs failed      0 B     16',
    ]);
  });

  it('shows instances with their size, brick count and hosts', () => {
    expect(instancesTable(instances).split('\n')).toEqual([
      'inst  sess  token    bytes  bricks  hosts',
      '  12    12  1234   3.1 TiB       2  storage2,storage1',
    ]);
  });

  it('shows an empty configurations table with its header', () => {
    expect(configurationsTable()).toBe('conf  state  inst  type  access_type  activs');
  });

  it('shows nodes with state, pools, bricks, allocated and free space', () => {
    expect(nodesTable(nodes).split('\n')).toEqual([
      'host      state                    pool     bricks  allocated     free',
      'storage1  up                       default       4    1.6 TiB  4.7 TiB',
      'st2       down, drained: new disk  -             0        0 B      0 B',
    ]);
  });

  it('separates tables with one blank line and adds nothing else', () => {
    const status: DwstatStatus = { pools: [pool], configurations: [] };
    expect(renderTables(status, ['pools', 'configurations'])).toBe(
      `${poolsTable([pool])}\n\n${configurationsTable()}`,
    );
  });

  it('refuses to render a table that was not read', () => {
    expect(() => renderTables({}, ['sessions'])).toThrow('the sessions table was not read');
  });
});

describe('isoSeconds', () => {
  it('prints epoch seconds as UTC without milliseconds', () => {
    expect(isoSeconds(0)).toBe('1970-01-01T00:00:00Z');
    expect(isoSeconds(1700000061)).toBe('2023-11-14T22:14:21Z');
  });
});

describe('renderJson', () => {
  it('gives integers as numbers and pool totals as decimal strings', () => {
    const huge: PoolStatus = {
      ...pool,
      bricks: 8192,
      quantityBytes: 8192n * GRAN,
      freeBytes: 0n,
    };
    const document = JSON.parse(
      renderJson({ pools: [huge], sessions, instances, configurations: [], nodes }),
    );
    expect(document.pools).toEqual([
      {
        id: 'default',
        units: 'bytes',
        granularity: 1717986918400,
        quantityBytes: '14073748835532800',
        freeBytes: '0',
        bricks: 8192,
        freeBricks: 6,
        allocatedBricks: 1,
        unavailableBricks: 1,
      },
    ]);
    expect(document.sessions[0]).toEqual({
      id: 12,
      token: '1234',
      kind: 'job',
      owner: 1001,
      created: 1700000000,
      state: 'DataIn InProgress',
      bytes: 3435973836800,
      bricks: 2,
      nodes: 0,
    });
    expect(document.instances).toEqual([
      {
        id: 12,
        session: 12,
        token: '1234',
        bytes: 3435973836800,
        bricks: [
          { host: 'storage2', device: 'nvme0n1' },
          { host: 'storage1', device: 'nvme3n1' },
        ],
        hosts: ['storage2', 'storage1'],
      },
    ]);
    expect(document.configurations).toEqual([]);
    expect(document.nodes[1]).toEqual({
      host: 'st2',
      state: 'down, drained: new disk',
      alive: false,
      drained: true,
      drainReason: 'new disk',
      pools: [],
      bricks: 0,
      allocatedBricks: 0,
      freeBricks: 0,
      allocatedBytes: 0,
      freeBytes: 0,
    });
  });

  it('gives the transfer counts and totals as integers, times in epoch seconds', () => {
    const staged: SessionStatus = {
      ...sessions[0]!,
      transfer: {
        phase: 'DataIn',
        done: true,
        bytes: 5n * GiB,
        files: 400,
        totalBytes: 5n * GiB,
        totalFiles: 400,
        percent: 100,
        bytesPerSecond: 89128960,
        startedAt: 1700000100,
        updatedAt: 1700000160,
      },
    };
    const document = JSON.parse(renderJson({ sessions: [staged, sessions[1]!] }));
    expect(document.sessions[0].transfer).toEqual({
      phase: 'DataIn',
      done: true,
      bytes: 5368709120,
      files: 400,
      totalBytes: 5368709120,
      totalFiles: 400,
      percent: 100,
      bytesPerSecond: 89128960,
      started: 1700000100,
      updated: 1700000160,
    });
    // A session without counts has no transfer key; a record of an older version only counts.
    expect(Object.keys(document.sessions[1])).not.toContain('transfer');
    const older: SessionStatus = {
      ...sessions[0]!,
      transfer: { phase: 'DataOut', done: false, bytes: 7n, files: 1, updatedAt: 1700000000 },
    };
    expect(JSON.parse(renderJson({ sessions: [older] })).sessions[0].transfer).toEqual({
      phase: 'DataOut',
      done: false,
      bytes: 7,
      files: 1,
      updated: 1700000000,
    });
  });

  it('refuses transfer byte counts a JSON number cannot hold exactly', () => {
    const huge: SessionStatus = {
      ...sessions[0]!,
      transfer: {
        phase: 'DataIn',
        done: false,
        bytes: 0n,
        files: 0,
        totalBytes: 2n ** 53n + 1n,
        updatedAt: 1,
      },
    };
    expect(() => renderJson({ sessions: [huge] })).toThrow(InvalidAnswerError);
  });

  it('has a key only for the tables that were asked for', () => {
    expect(Object.keys(JSON.parse(renderJson({ configurations: [] })))).toEqual(['configurations']);
  });

  it('refuses a session size a JSON number cannot hold exactly', () => {
    const big = { ...sessions[0]!, bytes: 2n ** 53n + 1n };
    expect(() => renderJson({ sessions: [big] })).toThrow(InvalidAnswerError);
  });
});
