/**
 * Pools, hosts and their liveness: what dacd registers at start and operators change (drain).
 * A host record and its usage record are always written together, in one compare-and-swap
 * transaction, so that placement, which reads only the usage records, sees every change.
 */
import { isDeepStrictEqual } from 'node:util';
import { ConflictError, NotFoundError, ValidationError } from '../errors/errors';
import type { Compare, Keystore, Lease, LeaseId, Watch } from '../keystore/keystore';
import { formatBytes } from '../units/bytes';
import { claimAlive, watchAliveKey, type AliveHolder, type AliveKeyChange } from './alive-claim';
import { AGAIN, casLoop } from './cas-loop';
import { hostUsage } from './inventory';
import type { KeyLayout } from './keys';
import type { Brick } from './model';
import {
  AliveRecord,
  AllocationRecord,
  HostRecord,
  HostUsageRecord,
  PoolRecord,
  SCHEMA_VERSION,
} from './record-codecs';
import { decodeOrUndefined, decodeRecord, encodeRecord } from './record-codec';
import type { RegistryReader } from './registry-reader';

export interface HostRegistration {
  name: string;
  bricks: Brick[];
  /** Only used when the host is first registered; an operator's drain survives restarts. */
  enabled?: boolean;
}

export class HostRegistry {
  constructor(
    private readonly store: Keystore,
    private readonly keys: KeyLayout,
    private readonly reader: RegistryReader,
    private readonly options: { attempts: number; seconds: () => number },
  ) {}

  /**
   * Create a pool, or check that the existing one has this granularity. Idempotent.
   * Throws ConflictError if the pool exists with another granularity.
   */
  async ensurePool(name: string, granularityBytes: bigint): Promise<PoolRecord> {
    const record: PoolRecord = { schemaVersion: SCHEMA_VERSION, name, granularityBytes };
    const key = this.keys.pool(name);
    const value = encodeRecord(PoolRecord, record);
    const result = await this.store.txn(
      [{ key, target: 'createRevision', op: '==', value: 0 }],
      [{ type: 'put', key, value }],
    );
    if (result.succeeded) return record;
    const existing = await this.reader.getPool(name);
    if (existing.granularityBytes !== granularityBytes) {
      throw new ConflictError(
        `pool "${name}" exists with granularity ${formatBytes(existing.granularityBytes)}, ` +
          `not ${formatBytes(granularityBytes)}`,
      );
    }
    return existing;
  }

  /**
   * Register a host and its bricks. Idempotent: the same registration again changes nothing.
   * Refuses (ConflictError) to remove or re-pool a brick that holds an allocation.
   * Resolves true if the stored record changed.
   */
  async registerHost(registration: HostRegistration): Promise<boolean> {
    const devices = new Set<string>();
    const pools = new Map<string, PoolRecord>();
    for (const brick of registration.bricks) {
      if (devices.has(brick.device)) {
        throw new ValidationError(
          `host ${registration.name}: brick ${brick.device} is listed twice`,
        );
      }
      devices.add(brick.device);
      const pool = pools.get(brick.pool) ?? (await this.reader.getPool(brick.pool));
      pools.set(pool.name, pool);
      if (brick.capacityBytes !== pool.granularityBytes) {
        throw new ValidationError(
          `host ${registration.name}: brick ${brick.device} has ${formatBytes(brick.capacityBytes)}` +
            `, but pool "${pool.name}" bricks must be ${formatBytes(pool.granularityBytes)}`,
        );
      }
    }
    const key = this.keys.host(registration.name);
    const usageKey = this.keys.usage(registration.name);
    const contention = `host ${registration.name}: too many concurrent updates`;
    return casLoop({ attempts: this.options.attempts, contention }, async () => {
      const [kv, usageKv] = await Promise.all([this.store.get(key), this.store.get(usageKey)]);
      // The registering dacd owns both records: one it cannot read is written anew.
      const existing = kv ? decodeOrUndefined(HostRecord, key, kv.value) : undefined;
      const usageReadable =
        usageKv !== undefined &&
        decodeOrUndefined(HostUsageRecord, usageKey, usageKv.value)?.host === registration.name;
      const record: HostRecord = {
        schemaVersion: SCHEMA_VERSION,
        name: registration.name,
        enabled: existing?.enabled ?? registration.enabled ?? true,
        ...(existing?.drainReason !== undefined ? { drainReason: existing.drainReason } : {}),
        bricks: registration.bricks,
        updatedAt: existing?.updatedAt ?? this.options.seconds(),
      };
      const unchanged = existing !== undefined && isDeepStrictEqual(existing, record);
      if (unchanged && usageReadable) return false;
      if (!unchanged) record.updatedAt = this.options.seconds();
      const removed = (existing?.bricks ?? []).filter(
        (old) => !registration.bricks.some((b) => b.device === old.device && b.pool === old.pool),
      );
      // Bricks that hold an allocation are never removed or re-pooled (compared below), so
      // the allocated devices are the same before and after.
      const usage = hostUsage(record, await this.allocatedDevicesOf(registration.name));
      const compares: Compare[] = [
        { key, target: 'modRevision', op: '==', value: kv?.modRevision ?? 0 },
        { key: usageKey, target: 'modRevision', op: '==', value: usageKv?.modRevision ?? 0 },
        ...removed.map((b): Compare => ({
          key: this.keys.allocation(registration.name, b.device),
          target: 'createRevision',
          op: '==',
          value: 0,
        })),
      ];
      const result = await this.store.txn(compares, [
        { type: 'put', key, value: encodeRecord(HostRecord, record) },
        { type: 'put', key: usageKey, value: encodeRecord(HostUsageRecord, usage) },
      ]);
      if (result.succeeded) return true;
      for (const brick of removed) {
        const allocationKey = this.keys.allocation(registration.name, brick.device);
        const allocation = await this.store.get(allocationKey);
        if (allocation) {
          const owner = decodeRecord(AllocationRecord, allocationKey, allocation.value);
          throw new ConflictError(
            `cannot remove brick ${brick.device} from host ${registration.name}: ` +
              `it is allocated to session ${owner.token}`,
          );
        }
      }
      return AGAIN;
    });
  }

  /**
   * Enable a host, or drain it (no new allocations) with a reason and who drained it; the
   * time is recorded. Enabling clears all three.
   */
  async setHostEnabled(
    name: string,
    enabled: boolean,
    reason?: string,
    by?: string,
  ): Promise<HostRecord> {
    if ((reason?.length ?? 0) > 500 || (by?.length ?? 0) > 200) {
      throw new ValidationError(
        `host ${name}: a drain reason holds 500 characters, its author 200`,
      );
    }
    const key = this.keys.host(name);
    const usageKey = this.keys.usage(name);
    const contention = `host ${name}: too many concurrent updates`;
    return casLoop({ attempts: this.options.attempts, contention }, async () => {
      const [kv, usageKv] = await Promise.all([this.store.get(key), this.store.get(usageKey)]);
      if (!kv) throw new NotFoundError(`host ${name} does not exist`);
      const {
        drainReason: _reason,
        drainedBy: _by,
        drainedAt: _at,
        ...rest
      } = decodeRecord(HostRecord, key, kv.value);
      const now = this.options.seconds();
      const next: HostRecord = {
        ...rest,
        enabled,
        ...(!enabled && reason ? { drainReason: reason } : {}),
        ...(!enabled && by ? { drainedBy: by } : {}),
        ...(!enabled ? { drainedAt: now } : {}),
        updatedAt: now,
      };
      // Allocations on this host also rewrite its usage record, so comparing that record's
      // revision makes the count read here current at the time of the write.
      const usage = hostUsage(next, await this.allocatedDevicesOf(name));
      const result = await this.store.txn(
        [
          { key, target: 'modRevision', op: '==', value: kv.modRevision },
          { key: usageKey, target: 'modRevision', op: '==', value: usageKv?.modRevision ?? 0 },
        ],
        [
          { type: 'put', key, value: encodeRecord(HostRecord, next) },
          { type: 'put', key: usageKey, value: encodeRecord(HostUsageRecord, usage) },
        ],
      );
      return result.succeeded ? next : AGAIN;
    });
  }

  /** The devices of a host that hold an allocation now (one range read). */
  async allocatedDevicesOf(host: string): Promise<Set<string>> {
    const prefix = this.keys.allocationsOf(host);
    const { kvs } = await this.store.range(prefix);
    return new Set(kvs.map((kv) => kv.key.slice(prefix.length)));
  }

  /** A lease for a host's liveness key: the key vanishes when the lease expires or is revoked. */
  grantLease(ttlSeconds: number): Promise<Lease> {
    return this.store.grantLease(ttlSeconds);
  }

  /**
   * Claim the host's liveness key for `lease` (see alive-claim.ts): the host is live while the
   * lease is. Throws HostOwnedError when another daemon holds it.
   */
  async markAlive(
    host: string,
    lease: LeaseId,
    holder?: AliveHolder,
    mayReplace?: (current: AliveRecord) => boolean,
  ): Promise<void> {
    await claimAlive(this.store, this.keys, {
      host,
      lease,
      nowSeconds: this.options.seconds(),
      ...(holder ? { holder } : {}),
      ...(mayReplace ? { mayReplace } : {}),
    });
  }

  /** Every change of the host's liveness key, with the lease it is on (see alive-claim.ts). */
  watchAliveKey(
    host: string,
    fromRevision: number,
    onChange: (change: AliveKeyChange) => void,
  ): Promise<Watch> {
    return watchAliveKey(this.store, this.keys, host, fromRevision, onChange);
  }

  /** Call `onChange(alive)` whenever the host's liveness key appears or disappears. */
  async watchHostLiveness(
    host: string,
    fromRevision: number,
    onChange: (alive: boolean) => void,
  ): Promise<Watch> {
    const key = this.keys.alive(host);
    return this.store.watchPrefix(
      key,
      (event) => {
        if (event.kv.key === key) onChange(event.type === 'put');
      },
      { fromRevision },
    );
  }
}
