/**
 * Bricks awaiting a wipe: the allocation records a forced teardown (forced-release.ts) left
 * marked. The host's dacd finds them at start (`awaitingWipe`) and as they are marked
 * (`watchWipes`), wipes the bricks through its provider, and then frees them (`finishWipe`):
 * one compare-and-swap transaction that deletes the allocation records and rewrites the host's
 * usage record, as every allocation change does.
 */
import { NotFoundError } from '../errors/errors';
import type { Compare, KeyValue, Keystore, TxnOp, Watch } from '../keystore/keystore';
import { AGAIN, casLoop } from './cas-loop';
import type { HostRegistry } from './host-registry';
import { hostUsage } from './inventory';
import type { KeyLayout } from './keys';
import { AllocationRecord, HostRecord, HostUsageRecord } from './record-codecs';
import { decodeOrUndefined, decodeRecord, encodeRecord } from './record-codec';

/** One brick of a session torn down by force, still to be wiped. */
export interface PendingWipe {
  host: string;
  device: string;
  token: string;
  sessionId: number;
  wipe: NonNullable<AllocationRecord['wipe']>;
}

export class BrickWipes {
  constructor(
    private readonly store: Keystore,
    private readonly keys: KeyLayout,
    private readonly hosts: HostRegistry,
    private readonly options: { attempts: number },
  ) {}

  /** The wipe `kv` (an allocation record of `host`) asks for, if any. */
  private pendingWipe(host: string, kv: Pick<KeyValue, 'key' | 'value'>): PendingWipe | undefined {
    const prefix = this.keys.allocationsOf(host);
    if (!kv.key.startsWith(prefix)) return undefined;
    // A record that cannot be read is reported by the inventory reads (`bricks list`), not here.
    const allocation = decodeOrUndefined(AllocationRecord, kv.key, kv.value);
    if (!allocation?.wipe) return undefined;
    return {
      host,
      device: kv.key.slice(prefix.length),
      token: allocation.token,
      sessionId: allocation.sessionId,
      wipe: allocation.wipe,
    };
  }

  /** The bricks of `host` awaiting a wipe now, and the store revision of that read. */
  async awaitingWipe(host: string): Promise<{ wipes: PendingWipe[]; revision: number }> {
    const { kvs, revision } = await this.store.range(this.keys.allocationsOf(host));
    const wipes = kvs.flatMap((kv) => this.pendingWipe(host, kv) ?? []);
    return { wipes, revision };
  }

  /** Call `onWipe` for every allocation record of `host` marked for a wipe from `fromRevision` on. */
  watchWipes(
    host: string,
    fromRevision: number,
    onWipe: (wipe: PendingWipe) => void,
  ): Promise<Watch> {
    return this.store.watchPrefix(
      this.keys.allocationsOf(host),
      (event) => {
        if (event.type !== 'put') return;
        const wipe = this.pendingWipe(host, event.kv);
        if (wipe) onWipe(wipe);
      },
      { fromRevision },
    );
  }

  /**
   * Free the bricks `devices` of `host` that session `token` left awaiting a wipe, now that
   * they are wiped: their allocation records are deleted and the host's usage record rewritten,
   * in one transaction. A device whose record is gone, or no longer awaits a wipe for `token`,
   * is left alone. Resolves with the devices freed. NotFoundError if the host is not registered.
   */
  async finishWipe(host: string, token: string, devices: readonly string[]): Promise<string[]> {
    const hostKey = this.keys.host(host);
    const usageKey = this.keys.usage(host);
    const contention = `host ${host}: too many concurrent updates`;
    return casLoop({ attempts: this.options.attempts, contention }, async () => {
      const [hostKv, usageKv] = await Promise.all([
        this.store.get(hostKey),
        this.store.get(usageKey),
      ]);
      if (!hostKv) throw new NotFoundError(`host ${host} is not registered`);
      const record = decodeRecord(HostRecord, hostKey, hostKv.value);
      const compares: Compare[] = [
        { key: hostKey, target: 'modRevision', op: '==', value: hostKv.modRevision },
        { key: usageKey, target: 'modRevision', op: '==', value: usageKv?.modRevision ?? 0 },
      ];
      const ops: TxnOp[] = [];
      const freed: string[] = [];
      for (const device of devices) {
        const key = this.keys.allocation(host, device);
        const kv = await this.store.get(key);
        const wipe = kv ? this.pendingWipe(host, kv) : undefined;
        if (!kv || wipe?.token !== token) continue;
        compares.push({ key, target: 'modRevision', op: '==', value: kv.modRevision });
        ops.push({ type: 'delete', key });
        freed.push(device);
      }
      if (freed.length === 0) return [];
      const allocated = await this.hosts.allocatedDevicesOf(host);
      for (const device of freed) allocated.delete(device);
      ops.push({
        type: 'put',
        key: usageKey,
        value: encodeRecord(HostUsageRecord, hostUsage(record, allocated)),
      });
      const result = await this.store.txn(compares, ops);
      return result.succeeded ? freed : AGAIN;
    });
  }
}
