import { MAX_TXN_OPS } from '../../../src/keystore/txn-limits';
import {
  MAX_SESSION_BRICKS,
  largestSession,
  maxSessionHosts,
} from '../../../src/registry/session-limits';

/** createSession's compares and operations for a session of `bricks` bricks on `hosts` hosts. */
const compares = (bricks: number, hosts: number): number => 2 + bricks + 2 * hosts;
const operations = (bricks: number, hosts: number): number => 2 + bricks + hosts;

describe('maxSessionHosts', () => {
  it('allows one brick per host up to 42 bricks', () => {
    for (const bricks of [1, 2, 16, 41, 42]) expect(maxSessionHosts(bricks)).toBe(bricks);
  });

  it('allows fewer hosts as a session grows past 42 bricks', () => {
    expect(maxSessionHosts(43)).toBe(41);
    expect(maxSessionHosts(94)).toBe(16);
    expect(maxSessionHosts(112)).toBe(7);
    expect(maxSessionHosts(124)).toBe(1);
    expect(maxSessionHosts(125)).toBeLessThan(1);
    expect(MAX_SESSION_BRICKS).toBe(124);
  });

  it('keeps every allowed session within etcd limits, and the next host would not fit', () => {
    for (let bricks = 1; bricks <= MAX_SESSION_BRICKS; bricks += 1) {
      const hosts = maxSessionHosts(bricks);
      expect(hosts).toBeGreaterThanOrEqual(1);
      expect(compares(bricks, hosts)).toBeLessThanOrEqual(MAX_TXN_OPS);
      expect(operations(bricks, hosts)).toBeLessThanOrEqual(MAX_TXN_OPS);
      if (hosts < bricks) expect(compares(bricks, hosts + 1)).toBeGreaterThan(MAX_TXN_OPS);
    }
    expect(compares(MAX_SESSION_BRICKS + 1, 1)).toBeGreaterThan(MAX_TXN_OPS);
  });
});

describe('largestSession', () => {
  it('is every brick when there are at most 42', () => {
    expect(largestSession([])).toBe(0);
    expect(largestSession([4, 4, 4])).toBe(12);
    expect(largestSession(Array<number>(42).fill(1))).toBe(42);
  });

  it('is bounded by the hosts a large session may use', () => {
    // 1,000 hosts of 16 bricks: 112 bricks on 7 hosts; 113 would need 8, and 8 are not allowed.
    expect(largestSession(Array<number>(1000).fill(16))).toBe(112);
    // One brick per host: never more hosts than maxSessionHosts allows.
    expect(largestSession(Array<number>(200).fill(1))).toBe(42);
    // One big host carries the largest session alone.
    expect(largestSession([200, 1, 1])).toBe(MAX_SESSION_BRICKS);
  });

  it('uses the hosts with the most bricks, in whatever order they come, and skips empty ones', () => {
    const hosts = [2, 0, 30, 2, 30, 2, 30, 2];
    const expected = largestSession([30, 30, 30, 2, 2, 2, 2]);
    expect(largestSession(hosts)).toBe(expected);
    expect(largestSession([...hosts].reverse())).toBe(expected);
    // All 98 bricks: they are on 7 hosts, and a 98-brick session may use 14.
    expect(expected).toBe(98);
  });

  it('agrees with a brute force over many brick counts', () => {
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let round = 0; round < 200; round += 1) {
      const hosts = Array.from({ length: 1 + (next() % 60) }, () => next() % 40);
      const sorted = [...hosts].sort((a, b) => b - a);
      let brute = 0;
      for (let n = 1; n <= MAX_SESSION_BRICKS; n += 1) {
        const reach = sorted.slice(0, Math.max(0, maxSessionHosts(n))).reduce((s, c) => s + c, 0);
        if (reach >= n) brute = n;
      }
      expect(largestSession(hosts)).toBe(brute);
    }
  });
});
