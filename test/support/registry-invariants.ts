/**
 * What must hold in etcd at every revision, checked from one read of the whole prefix: used
 * by the chaos run after every kind of crash. Returns the violations (empty when all hold),
 * each naming the key or session, so that a bench script can report them as well as a test.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Keystore } from '../../src/keystore/keystore';
import { hostUsage } from '../../src/registry/inventory';
import type { KeyLayout } from '../../src/registry/keys';
import {
  AllocationRecord,
  HostRecord,
  HostUsageRecord,
  SessionRecord,
  SummaryBucketRecord,
  type SessionSummary,
} from '../../src/registry/record-codecs';
import { decodeRecord } from '../../src/registry/record-codec';
import { summariseSession, summaryBucketOf } from '../../src/registry/session-summary';

/** JSON with bigints as numbers' digits, for messages. */
function show(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function decodeInto<T>(
  schema: Parameters<typeof decodeRecord>[0],
  key: string,
  value: string,
  violations: string[],
): T | undefined {
  try {
    return decodeRecord(schema, key, value) as T;
  } catch (error) {
    violations.push(`${key}: cannot be read (${(error as Error).message})`);
    return undefined;
  }
}

/**
 * - every record can be read;
 * - no brick is in two sessions; every brick a session lists has its allocation key naming
 *   that session, and every allocation key names a session that lists the brick, unless it
 *   awaits a wipe (a forced teardown), when no session lists it;
 * - each host's usage record is what its allocation keys give;
 * - the summary buckets hold exactly one summary per session, equal to the session's, in
 *   its bucket.
 */
export async function registryViolations(store: Keystore, keys: KeyLayout): Promise<string[]> {
  const { kvs } = await store.range(keys.prefix);
  const violations: string[] = [];
  const sessions = new Map<string, SessionRecord>();
  const allocations = new Map<string, { key: string; record: AllocationRecord }>();
  const hosts = new Map<string, HostRecord>();
  const usages = new Map<string, HostUsageRecord>();
  const summaries: { key: string; bucket: string; summary: SessionSummary }[] = [];
  for (const { key, value } of kvs) {
    if (key.startsWith(keys.sessions())) {
      const session = decodeInto<SessionRecord>(SessionRecord, key, value, violations);
      if (session) sessions.set(session.token, session);
    } else if (key.startsWith(keys.summaryBuckets())) {
      const bucket = decodeInto<SummaryBucketRecord>(SummaryBucketRecord, key, value, violations);
      const name = key.slice(keys.summaryBuckets().length);
      for (const summary of bucket?.summaries ?? []) summaries.push({ key, bucket: name, summary });
    } else if (key.startsWith(keys.hosts())) {
      const host = decodeInto<HostRecord>(HostRecord, key, value, violations);
      if (host) hosts.set(host.name, host);
    } else if (key.startsWith(keys.usages())) {
      const usage = decodeInto<HostUsageRecord>(HostUsageRecord, key, value, violations);
      if (usage) usages.set(key.slice(keys.usages().length), usage);
    } else if (key.startsWith(`${keys.inventory()}allocations/`)) {
      const record = decodeInto<AllocationRecord>(AllocationRecord, key, value, violations);
      const brick = key.slice(`${keys.inventory()}allocations/`.length);
      if (record) allocations.set(brick, { key, record });
    }
  }

  const owner = new Map<string, string>();
  for (const session of sessions.values()) {
    session.bricks.forEach((brick, index) => {
      const id = `${brick.host}/${brick.device}`;
      const other = owner.get(id);
      if (other !== undefined) {
        violations.push(`brick ${id} is in sessions ${other} and ${session.token}`);
      }
      owner.set(id, session.token);
      const allocation = allocations.get(id);
      if (!allocation) {
        violations.push(`session ${session.token} lists brick ${id}, which has no allocation key`);
      } else if (
        allocation.record.token !== session.token ||
        allocation.record.sessionId !== session.id ||
        allocation.record.index !== index
      ) {
        violations.push(
          `${allocation.key} names session ${allocation.record.token} (id ` +
            `${allocation.record.sessionId}, index ${allocation.record.index}), but session ` +
            `${session.token} (id ${session.id}) lists it at index ${index}`,
        );
      }
    });
  }
  for (const [id, { key, record }] of allocations) {
    if (record.wipe) {
      // Left by a forced teardown for dacd to wipe: its session is gone, and no session may
      // hold the brick until it is freed.
      if (owner.has(id)) {
        violations.push(`${key} awaits a wipe, but session ${owner.get(id)} lists brick ${id}`);
      }
      continue;
    }
    if (owner.get(id) !== record.token) {
      violations.push(`${key} names session ${record.token}, which does not list brick ${id}`);
    }
  }

  for (const host of hosts.values()) {
    const allocated = new Set(
      host.bricks.filter((b) => allocations.has(`${host.name}/${b.device}`)).map((b) => b.device),
    );
    const expected = hostUsage(host, allocated);
    const stored = usages.get(host.name);
    if (!isDeepStrictEqual(stored, expected)) {
      violations.push(
        `${keys.usage(host.name)} is ${show(stored)}; the allocations give ${show(expected)}`,
      );
    }
  }

  const summarised = new Map<string, SessionSummary>();
  for (const { key, bucket, summary } of summaries) {
    if (summarised.has(summary.token)) {
      violations.push(`session ${summary.token} has two summaries (one in ${key})`);
    }
    summarised.set(summary.token, summary);
    if (summaryBucketOf(summary.token) !== bucket) {
      violations.push(`the summary of session ${summary.token} is in the wrong bucket ${key}`);
    }
    if (!sessions.has(summary.token)) {
      violations.push(`${key} holds a summary of session ${summary.token}, which does not exist`);
    }
  }
  for (const session of sessions.values()) {
    const summary = summarised.get(session.token);
    const expected = summariseSession(session);
    if (!summary) violations.push(`session ${session.token} has no summary`);
    else if (!isDeepStrictEqual(summary, expected)) {
      violations.push(
        `the summary of session ${session.token} is ${show(summary)}; the session gives ` +
          show(expected),
      );
    }
  }
  return violations;
}
