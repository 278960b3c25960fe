/**
 * Tearing a session down by force (`dacctl sessions teardown --force`), for a session whose
 * host is dead or whose steps hang: the session and its summary go, as in a release, but its
 * bricks are not freed. Each of its allocation records stays, marked as awaiting a wipe (who,
 * why, when), so the bricks still count as allocated everywhere until the host's dacd has
 * wiped them (brick-wipes.ts). One compare-and-swap transaction, retried on conflict. A
 * session record that cannot be read (damaged by hand, or by a bug) is torn down the same way,
 * its bricks found by their allocation records, which name its token.
 */
import { RecordError } from '../errors/errors';
import type { Compare, KeyValue, Keystore, TxnOp } from '../keystore/keystore';
import { AGAIN, casLoop } from './cas-loop';
import type { KeyLayout } from './keys';
import { AllocationRecord, type SessionRecord } from './record-codecs';
import { decodeOrUndefined, encodeRecord } from './record-codec';
import type { RegistryReader } from './registry-reader';
import type { SummaryIndex } from './summary-index';

/** Who tears the session down, and why. */
export interface ForcedReleaseRequest {
  by: string;
  reason: string;
}

/** What a forced release did. */
export type ForcedRelease = {
  /** The bricks now awaiting a wipe, by host in the session's brick order. */
  wiping: { host: string; devices: string[] }[];
} & (
  | {
      /** The session record as it was deleted. */
      session: SessionRecord;
    }
  | {
      /**
       * The session record could not be read: its token, and why not. Its bricks were found
       * by the allocation records that name its token.
       */
      session?: undefined;
      token: string;
      damaged: RecordError;
    }
);

/** The wipe marker a forced release writes on each allocation record. */
export type WipeMarker = NonNullable<AllocationRecord['wipe']>;

/** The transaction of a forced release as it is built: its compares and operations. */
class Plan {
  readonly compares: Compare[] = [];
  readonly ops: TxnOp[] = [];
  private readonly wiping = new Map<string, string[]>();

  constructor(private readonly wipe: WipeMarker) {}

  /** Mark the allocation record `allocation` of `host`'s `device` (stored as `kv`) for a wipe. */
  mark(host: string, device: string, kv: KeyValue, allocation: AllocationRecord): void {
    this.compares.push({ key: kv.key, target: 'modRevision', op: '==', value: kv.modRevision });
    this.ops.push({
      type: 'put',
      key: kv.key,
      value: encodeRecord(AllocationRecord, { ...allocation, wipe: allocation.wipe ?? this.wipe }),
    });
    const devices = this.wiping.get(host);
    if (devices) devices.push(device);
    else this.wiping.set(host, [device]);
  }

  hosts(): ForcedRelease['wiping'] {
    return [...this.wiping].map(([host, devices]) => ({ host, devices }));
  }
}

export class ForcedReleaser {
  constructor(
    private readonly store: Keystore,
    private readonly keys: KeyLayout,
    private readonly reader: RegistryReader,
    private readonly summaries: SummaryIndex,
    private readonly options: { attempts: number; seconds: () => number },
  ) {}

  /**
   * Delete session `token` and its summary, and mark each of its allocation records as awaiting
   * a wipe, in one transaction. An allocation record that names another session, or that is
   * missing, is left as it is (it is not this session's to mark). Resolves undefined if there
   * is no such session. A session record that cannot be read goes too: its bricks are then
   * those whose allocation records name its token.
   */
  async releaseByForce(
    token: string,
    request: ForcedReleaseRequest,
  ): Promise<ForcedRelease | undefined> {
    const contention = `session ${token}: too many concurrent updates`;
    return casLoop({ attempts: this.options.attempts, contention }, async () => {
      const plan = new Plan({ by: request.by, reason: request.reason, at: this.options.seconds() });
      let stored: Awaited<ReturnType<RegistryReader['getSession']>>;
      try {
        stored = await this.reader.getSession(token);
      } catch (error) {
        if (!(error instanceof RecordError)) throw error;
        return this.releaseDamaged(token, error, plan);
      }
      if (!stored) return undefined;
      const session = stored.record;
      await this.deleteSession(token, stored.modRevision, plan);
      for (const brick of session.bricks) {
        const key = this.keys.allocation(brick.host, brick.device);
        const kv = await this.store.get(key);
        const allocation = kv ? decodeOrUndefined(AllocationRecord, key, kv.value) : undefined;
        if (kv && allocation?.token === token && allocation.sessionId === session.id) {
          plan.mark(brick.host, brick.device, kv, allocation);
        } else {
          // Compared even when it is not marked: the record must still be as judged here.
          plan.compares.push({ key, target: 'modRevision', op: '==', value: kv?.modRevision ?? 0 });
        }
      }
      const result = await this.store.txn(plan.compares, plan.ops);
      return result.succeeded ? { session, wiping: plan.hosts() } : AGAIN;
    });
  }

  /** Add the deletion of the session key (as of `modRevision`) and of its summary to `plan`. */
  private async deleteSession(token: string, modRevision: number, plan: Plan): Promise<void> {
    const sessionKey = this.keys.session(token);
    const summary = await this.summaries.write(token, undefined);
    plan.compares.push(
      { key: sessionKey, target: 'modRevision', op: '==', value: modRevision },
      summary.compare,
    );
    plan.ops.push({ type: 'delete', key: sessionKey }, summary.op);
  }

  /**
   * The forced release of a session whose record cannot be read (`damaged`): its allocation
   * records are found by the token they name, among every host's.
   */
  private async releaseDamaged(
    token: string,
    damaged: RecordError,
    plan: Plan,
  ): Promise<ForcedRelease | typeof AGAIN> {
    const stored = await this.store.get(this.keys.session(token));
    if (!stored) return AGAIN;
    await this.deleteSession(token, stored.modRevision, plan);
    const prefix = this.keys.allocations();
    const { kvs } = await this.store.range(prefix);
    for (const kv of kvs) {
      const allocation = decodeOrUndefined(AllocationRecord, kv.key, kv.value);
      const [host, ...rest] = kv.key.slice(prefix.length).split('/');
      if (allocation?.token === token && host && rest.length > 0) {
        plan.mark(host, rest.join('/'), kv, allocation);
      }
    }
    const result = await this.store.txn(plan.compares, plan.ops);
    return result.succeeded ? { token, damaged, wiping: plan.hosts() } : AGAIN;
  }
}
