/**
 * Tearing a session down by force (`dacctl sessions teardown --force`), for a session whose
 * host is dead or whose steps hang: the session and its summary go, as in a release, but its
 * bricks are not freed. Each of its allocation records stays, marked as awaiting a wipe (who,
 * why, when), so the bricks still count as allocated everywhere until the host's dacd has
 * wiped them (brick-wipes.ts). One compare-and-swap transaction, retried on conflict.
 */
import type { Compare, Keystore, TxnOp } from '../keystore/keystore';
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
export interface ForcedRelease {
  /** The session record as it was deleted. */
  session: SessionRecord;
  /** The bricks now awaiting a wipe, by host in the session's brick order. */
  wiping: { host: string; devices: string[] }[];
}

/** The wipe marker a forced release writes on each allocation record. */
export type WipeMarker = NonNullable<AllocationRecord['wipe']>;

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
   * is no such session; a session record that cannot be read fails with its RecordError.
   */
  async releaseByForce(
    token: string,
    request: ForcedReleaseRequest,
  ): Promise<ForcedRelease | undefined> {
    const contention = `session ${token}: too many concurrent updates`;
    return casLoop({ attempts: this.options.attempts, contention }, async () => {
      const stored = await this.reader.getSession(token);
      if (!stored) return undefined;
      const session = stored.record;
      const sessionKey = this.keys.session(token);
      const summary = await this.summaries.write(token, undefined);
      const compares: Compare[] = [
        { key: sessionKey, target: 'modRevision', op: '==', value: stored.modRevision },
        summary.compare,
      ];
      const ops: TxnOp[] = [{ type: 'delete', key: sessionKey }, summary.op];
      const wipe: WipeMarker = {
        by: request.by,
        reason: request.reason,
        at: this.options.seconds(),
      };
      const wiping = new Map<string, string[]>();
      for (const brick of session.bricks) {
        const key = this.keys.allocation(brick.host, brick.device);
        const kv = await this.store.get(key);
        const allocation = kv ? decodeOrUndefined(AllocationRecord, key, kv.value) : undefined;
        // Compared even when it is not marked: the record must still be as judged here.
        compares.push({ key, target: 'modRevision', op: '==', value: kv?.modRevision ?? 0 });
        if (allocation?.token !== token || allocation.sessionId !== session.id) continue;
        ops.push({
          type: 'put',
          key,
          value: encodeRecord(AllocationRecord, { ...allocation, wipe: allocation.wipe ?? wipe }),
        });
        const devices = wiping.get(brick.host);
        if (devices) devices.push(brick.device);
        else wiping.set(brick.host, [brick.device]);
      }
      const result = await this.store.txn(compares, ops);
      if (!result.succeeded) return AGAIN;
      return {
        session,
        wiping: [...wiping].map(([host, devices]) => ({ host, devices })),
      };
    });
  }
}
