import { CapacityError, NotFoundError } from '../../../src/errors/errors';
import { brickId, poolViews } from '../../../src/registry/inventory';
import {
  chooseBricks,
  devicesOn,
  placementView,
  spreadBricks,
  stableHash,
  type HostChoice,
} from '../../../src/registry/placement';
import { maxSessionHosts } from '../../../src/registry/session-limits';
import { GRAN, inventory } from '../../support/inventory';

describe('chooseBricks', () => {
  it('is deterministic for the same inventory and seed', () => {
    const inv = inventory({ a: { bricks: 4 }, b: { bricks: 4 }, c: { bricks: 4 } });
    expect(chooseBricks(inv, 'default', 5, '42')).toEqual(chooseBricks(inv, 'default', 5, '42'));
  });

  it('spreads a volume over as many hosts as possible', () => {
    const inv = inventory({
      a: { bricks: 4 },
      b: { bricks: 4 },
      c: { bricks: 4 },
      d: { bricks: 4 },
    });
    for (const seed of ['1', '2', '3', 'p1', 'xyz']) {
      const bricks = chooseBricks(inv, 'default', 3, seed);
      expect(new Set(bricks.map((b) => b.host)).size).toBe(3);
      const all = chooseBricks(inv, 'default', 8, seed);
      const perHost = new Map<string, number>();
      for (const b of all) perHost.set(b.host, (perHost.get(b.host) ?? 0) + 1);
      expect([...perHost.values()]).toEqual([2, 2, 2, 2]);
    }
  });

  it('uses the remaining host when the others are full', () => {
    const inv = inventory({
      a: { bricks: 2, allocated: [0, 1] },
      b: { bricks: 3, allocated: [1] },
    });
    expect(chooseBricks(inv, 'default', 2, 's')).toEqual(
      expect.arrayContaining([
        { host: 'b', device: 'nvme0n1' },
        { host: 'b', device: 'nvme2n1' },
      ]),
    );
  });

  it('skips dead and drained hosts', () => {
    const inv = inventory({
      dead: { bricks: 4, alive: false },
      drained: { bricks: 4, enabled: false },
      ok: { bricks: 2 },
    });
    for (const seed of ['1', '2', '3', '4']) {
      expect(chooseBricks(inv, 'default', 2, seed).map((b) => b.host)).toEqual(['ok', 'ok']);
    }
    expect(() => chooseBricks(inv, 'default', 3, '1')).toThrow(
      new CapacityError(
        'pool "default" has 2 free bricks of 1 GiB; this request needs 3 (3 GiB); ' +
          'hosts down (no liveness lease): dead; drained: drained',
      ),
    );
  });

  it('leaves out a host with a damaged record and names it when capacity is short', () => {
    const inv = inventory({ ok: { bricks: 2 } });
    inv.damagedHosts.add('broken');
    expect(chooseBricks(inv, 'default', 2, '1').map((b) => b.host)).toEqual(['ok', 'ok']);
    expect(() => chooseBricks(inv, 'default', 3, '1')).toThrow(
      new CapacityError(
        'pool "default" has 2 free bricks of 1 GiB; this request needs 3 (3 GiB); ' +
          'hosts left out: a record of theirs is damaged: broken',
      ),
    );
  });

  it('never returns an allocated brick or the same brick twice', () => {
    const inv = inventory({
      a: { bricks: 5, allocated: [0, 2] },
      b: { bricks: 5, allocated: [4] },
    });
    const bricks = chooseBricks(inv, 'default', 7, 'seed');
    const ids = bricks.map((b) => brickId(b.host, b.device));
    expect(new Set(ids).size).toBe(7);
    for (const id of ids) expect(inv.allocations.has(id)).toBe(false);
  });

  it('different seeds start on different hosts', () => {
    const inv = inventory({
      a: { bricks: 4 },
      b: { bricks: 4 },
      c: { bricks: 4 },
      d: { bricks: 4 },
    });
    const starts = new Set(
      Array.from({ length: 20 }, (_, i) => chooseBricks(inv, 'default', 1, String(i))[0]!.host),
    );
    expect(starts.size).toBeGreaterThan(1);
  });

  it('returns no bricks for a zero request, even when the pool is full', () => {
    const inv = inventory({ a: { bricks: 1, allocated: [0] } });
    expect(chooseBricks(inv, 'default', 0, 'x')).toEqual([]);
  });

  it('names the known pools when asked for an unknown one', () => {
    expect(() => chooseBricks(inventory({}), 'fast', 1, 'x')).toThrow(
      new NotFoundError('pool "fast" does not exist (pools: default)'),
    );
  });

  it('says "1 free brick" in the singular', () => {
    const inv = inventory({ a: { bricks: 1 } });
    expect(() => chooseBricks(inv, 'default', 2, 'x')).toThrow(
      'pool "default" has 1 free brick of 1 GiB; this request needs 2 (2 GiB)',
    );
  });

  describe('within one etcd transaction', () => {
    const hosts = (count: number, bricks: number, allocated: number[] = []) =>
      Object.fromEntries(
        Array.from({ length: count }, (_, i) => [
          `h${String(i).padStart(4, '0')}`,
          { bricks, allocated },
        ]),
      );
    const hostsOf = (bricks: { host: string }[]): Set<string> => new Set(bricks.map((b) => b.host));
    const distinct = (bricks: { host: string; device: string }[]): number =>
      new Set(bricks.map((b) => brickId(b.host, b.device))).size;

    it('still takes one brick per host up to 42 bricks', () => {
      const chosen = chooseBricks(inventory(hosts(100, 16)), 'default', 42, 'job');
      expect(hostsOf(chosen).size).toBe(42);
    });

    it('spreads a larger volume over as many hosts as its transaction allows', () => {
      const inv = inventory(hosts(1000, 16));
      for (const count of [43, 60, 94, 100, 112]) {
        const chosen = chooseBricks(inv, 'default', count, `job${count}`);
        expect(chosen).toHaveLength(count);
        expect(distinct(chosen)).toBe(count);
        expect(hostsOf(chosen).size).toBe(Math.min(maxSessionHosts(count), count));
      }
    });

    it('takes a large volume from the hosts with the most free bricks', () => {
      // 100 hosts with 2 free bricks, 10 with 12: 100 bricks may use 13 hosts.
      const inv = inventory({
        ...hosts(100, 16, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]),
        ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`big${i}`, { bricks: 12 }])),
      });
      const chosen = chooseBricks(inv, 'default', 100, 'job');
      expect(distinct(chosen)).toBe(100);
      const used = hostsOf(chosen);
      expect(used.size).toBe(13);
      for (let i = 0; i < 10; i += 1) expect(used.has(`big${i}`)).toBe(true);
    });

    it('refuses a volume no transaction can hold, naming the largest that fits now', () => {
      const inv = inventory(hosts(1000, 16));
      expect(() => chooseBricks(inv, 'default', 113, 'job')).toThrow(CapacityError);
      expect(() => chooseBricks(inv, 'default', 113, 'job')).toThrow(
        'this request needs 113 bricks of 1 GiB (113 GiB) in one buffer; with the free bricks ' +
          'of pool "default" now, one buffer can have at most 112 (112 GiB)',
      );
      expect(() => chooseBricks(inv, 'default', 125, 'job')).toThrow(CapacityError);
      // One brick per host: 43 bricks would need 43 hosts, and 41 are allowed.
      expect(() => chooseBricks(inventory(hosts(200, 1)), 'default', 43, 'job')).toThrow(
        'one buffer can have at most 42 (42 GiB)',
      );
    });
  });
});

describe('spreadBricks and devicesOn (placement from usage counts)', () => {
  const pools = inventory({}).pools;
  const view = (hosts: HostChoice[], damaged: string[] = []) => ({
    pools,
    hosts,
    damagedHosts: new Set(damaged),
  });
  const up = (name: string, free: number): HostChoice => ({
    name,
    free,
    enabled: true,
    alive: true,
  });

  it('chooses the hosts chooseBricks chooses, from the free counts alone', () => {
    const inv = inventory({
      a: { bricks: 4, allocated: [1] },
      b: { bricks: 2 },
      c: { bricks: 3, allocated: [0, 1, 2] },
      dead: { bricks: 4, alive: false },
    });
    const counts = view([up('a', 3), up('b', 2), up('c', 0), { ...up('dead', 4), alive: false }]);
    for (const seed of ['1', 'x', 'job#3']) {
      for (const count of [1, 3, 5]) {
        const hosts = spreadBricks(counts, 'default', count, seed);
        expect(hosts).toEqual(chooseBricks(inv, 'default', count, seed).map((b) => b.host));
        expect(devicesOn(inv, 'default', hosts, seed)).toEqual(
          chooseBricks(inv, 'default', count, seed),
        );
      }
    }
    expect(spreadBricks(placementView(inv, 'default'), 'default', 5, 'x')).toEqual(
      spreadBricks(counts, 'default', 5, 'x'),
    );
  });

  it('says why the counts fall short, with the same words as chooseBricks', () => {
    const counts = view(
      [up('ok', 1), { ...up('down', 2), alive: false }, { ...up('off', 2), enabled: false }],
      ['bad'],
    );
    expect(() => spreadBricks(counts, 'default', 2, 's')).toThrow(
      new CapacityError(
        'pool "default" has 1 free brick of 1 GiB; this request needs 2 (2 GiB); hosts down ' +
          '(no liveness lease): down; drained: off; left out: a record of theirs is damaged: bad',
      ),
    );
    expect(() => spreadBricks(counts, 'fast', 1, 's')).toThrow(
      new NotFoundError('pool "fast" does not exist (pools: default)'),
    );
  });

  it('finds no devices on a host whose records hold fewer free bricks than its count said', () => {
    const inv = inventory({ a: { bricks: 2, allocated: [0] }, b: { bricks: 1 } });
    expect(devicesOn(inv, 'default', ['a', 'b'], 's')).toEqual([
      { host: 'a', device: 'nvme1n1' },
      { host: 'b', device: 'nvme0n1' },
    ]);
    expect(devicesOn(inv, 'default', ['a', 'a'], 's')).toBeUndefined();
    expect(devicesOn(inv, 'default', ['gone'], 's')).toBeUndefined();
  });
});

describe('poolViews', () => {
  it('counts allocated, free and unavailable bricks', () => {
    const inv = inventory({
      a: { bricks: 4, allocated: [0] },
      dead: { bricks: 2, alive: false, allocated: [1] },
      drained: { bricks: 3, enabled: false },
    });
    expect(poolViews(inv)).toEqual([
      {
        name: 'default',
        granularityBytes: GRAN,
        quantity: 9,
        free: 3,
        allocated: 2,
        unavailable: 4,
      },
    ]);
  });

  it('lists an empty pool with zero quantity', () => {
    expect(poolViews(inventory({}))).toEqual([
      {
        name: 'default',
        granularityBytes: GRAN,
        quantity: 0,
        free: 0,
        allocated: 0,
        unavailable: 0,
      },
    ]);
  });
});

describe('stableHash', () => {
  it('is FNV-1a', () => {
    expect(stableHash('')).toBe(0x811c9dc5);
    expect(stableHash('a')).toBe(0xe40c292c);
  });
});
