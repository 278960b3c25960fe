/**
 * Seeds an etcd prefix with a production-sized registry through the Registry API: one pool,
 * many hosts with their bricks (all alive on one lease), and many sessions of mixed sizes.
 */
import { EtcdKeystore } from '../src/keystore/etcd-keystore';
import { KeyLayout } from '../src/registry/keys';
import type { Brick } from '../src/registry/model';
import { Registry, type NewSession } from '../src/registry/registry';
import { seededRandom } from '../test/support/seeded-random';

/** What to create. */
export interface SeedPlan {
  endpoint: string;
  prefix: string;
  pool: string;
  hosts: number;
  bricksPerHost: number;
  brickBytes: bigint;
  sessions: number;
  /** Requests in flight at once. */
  concurrency: number;
}

/**
 * Production size ("L" in #17): 1 pool, 1,000 hosts × 16 bricks of 1 TiB, 2,000 sessions,
 * seeded 32 requests at a time. `endpoint` is set once etcd runs.
 */
export const PRODUCTION_PLAN: SeedPlan = {
  endpoint: '',
  prefix: '/bench/',
  pool: 'default',
  hosts: 1000,
  bricksPerHost: 16,
  brickBytes: 1024n ** 4n,
  sessions: 2000,
  concurrency: 32,
};

/** What was created, for checking the CLI's answers. */
export interface SeedResult {
  sessions: number;
  zeroSizeSessions: number;
  allocatedBricks: number;
  /** Keys and value bytes of the range `pools` reads (`<prefix>inventory/`). */
  inventory: RangeSize;
  /** Keys and value bytes of the range `show_sessions` reads (`<prefix>sessions/`). */
  sessionRecords: RangeSize;
  /** What `pools` reads with values: pool and usage records (plus the liveness keys). */
  usageRecords: RangeSize;
  /** What `show_sessions` and `show_instances` read: the session summary buckets. */
  sessionSummaries: RangeSize;
  seconds: number;
}

/** The size of one range read. */
export interface RangeSize {
  keys: number;
  bytes: number;
}

/** Longer than the whole benchmark: nothing renews the liveness lease. */
const LEASE_TTL_SECONDS = 3600;

/** Run `work` on every item, at most `limit` at a time. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The session requests: every 10th has no buffer of its own, every 25th is a persistent
 * buffer, the rest are job buffers of 1–16 bricks, small ones more likely (mean ≈ 5 bricks).
 */
export function sessionRequests(plan: SeedPlan): NewSession[] {
  const next = seededRandom(42);
  return Array.from({ length: plan.sessions }, (_, i): NewSession => {
    const bricks = i % 10 === 0 ? 0 : 1 + Math.floor(16 * next() ** 3);
    const persistent = i % 25 === 1;
    return {
      token: persistent ? `pbuf${i}` : String(1_000_000 + i),
      kind: persistent ? 'persistent' : 'job',
      owner: { uid: 1000 + (i % 50), gid: 1000 },
      pool: plan.pool,
      requestedBytes: BigInt(bricks) * plan.brickBytes,
    };
  });
}

const hostName = (i: number): string => `storage${String(i + 1).padStart(4, '0')}`;

/**
 * Create the pool, the hosts (alive on one lease), then the sessions. Each new session decodes
 * the whole inventory, so at 1,000 hosts this takes minutes of CPU.
 */
export async function seed(plan: SeedPlan, progress: (line: string) => void): Promise<SeedResult> {
  const started = Date.now();
  // Inventory reads grow with every session; seeding is not what we time.
  const store = new EtcdKeystore({
    endpoints: [plan.endpoint],
    prefix: plan.prefix,
    timeoutMs: 60_000,
  });
  try {
    const registry = new Registry(store, new KeyLayout(plan.prefix));
    await registry.ensurePool(plan.pool, plan.brickBytes);
    const lease = await store.grantLease(LEASE_TTL_SECONDS);
    const hosts = Array.from({ length: plan.hosts }, (_, i) => hostName(i));
    await forEachLimit(hosts, plan.concurrency, async (name) => {
      const bricks = Array.from({ length: plan.bricksPerHost }, (_, d): Brick => ({
        device: `nvme${d}n1`,
        capacityBytes: plan.brickBytes,
        pool: plan.pool,
      }));
      await registry.registerHost({ name, bricks });
      await registry.markAlive(name, lease.id);
    });
    progress(`${plan.hosts} hosts registered and alive (${secondsSince(started)} s)`);

    const totals = { sessions: 0, zeroSizeSessions: 0, allocatedBricks: 0 };
    await forEachLimit(sessionRequests(plan), plan.concurrency, async (request) => {
      const { session, created } = await registry.createSession(request);
      if (!created) throw new Error(`session ${request.token} already existed`);
      totals.sessions += 1;
      totals.allocatedBricks += session.bricks.length;
      if (session.bricks.length === 0) totals.zeroSizeSessions += 1;
      if (totals.sessions % 250 === 0) {
        progress(`${totals.sessions}/${plan.sessions} sessions (${secondsSince(started)} s)`);
      }
    });
    return {
      ...totals,
      inventory: await rangeSize(store, registry.keys.inventory()),
      sessionRecords: await rangeSize(store, registry.keys.sessions()),
      usageRecords: await rangeSize(store, registry.keys.usages()),
      sessionSummaries: await rangeSize(store, registry.keys.summaryBuckets()),
      seconds: Number(secondsSince(started)),
    };
  } finally {
    await store.close();
  }
}

async function rangeSize(store: EtcdKeystore, prefix: string): Promise<RangeSize> {
  const { kvs } = await store.range(prefix);
  return {
    keys: kvs.length,
    bytes: kvs.reduce(
      (sum, kv) => sum + Buffer.byteLength(kv.key) + Buffer.byteLength(kv.value),
      0,
    ),
  };
}

function secondsSince(started: number): string {
  return ((Date.now() - started) / 1000).toFixed(1);
}
