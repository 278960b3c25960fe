/**
 * The summary index: the summaries of all sessions (what `show_sessions` and `show_instances`
 * report), in SUMMARY_BUCKETS bucket records, so that the polled calls read a few dozen keys
 * instead of every session. A session's summary is written in the same transaction as the
 * session (`write` gives the compare and the put); `writeMissing` rebuilds the buckets from the
 * session records (dacd at start, and when `watchUnreadable` reports a bucket that cannot be
 * read).
 */
import type { Compare, KeyValue, Keystore, TxnOp, Watch } from '../keystore/keystore';
import { MAX_TXN_OPS } from '../keystore/txn-limits';
import { AGAIN, casLoop } from './cas-loop';
import type { KeyLayout } from './keys';
import {
  SCHEMA_VERSION,
  SessionRecord,
  SessionSummary,
  SummaryBucketRecord,
} from './record-codecs';
import { decodeOrUndefined, encodeRecord } from './record-codec';
import { readableSession } from './session-codec';
import {
  byToken,
  sameSummary,
  summariseSession,
  summaryBucketNames,
  summaryBucketOf,
  withoutSummary,
  withSummary,
} from './session-summary';

/**
 * The summary of a session whose record cannot be read and whose stored summary is lost too:
 * its token, and its id (the session key was created by the transaction that took the id, so
 * its create revision is the id); owner, size and nodes unknown (0). Slurm then still sees the
 * session, and its teardown frees it. Undefined if the key does not end in a valid token.
 */
function placeholderSummary(token: string, kv: KeyValue): SessionSummary | undefined {
  const summary = SessionSummary.safeParse({
    id: kv.createRevision,
    token,
    uid: 0,
    createdAt: 0,
    bytes: '0',
    nodes: 0,
  });
  return summary.success ? summary.data : undefined;
}

export class SummaryIndex {
  constructor(
    private readonly store: Keystore,
    private readonly keys: KeyLayout,
    private readonly attempts: number,
  ) {}

  /**
   * The write of session `token`'s summary bucket with its summary replaced by `session`'s (or
   * removed, without `session`), and the compare that the bucket is still as read.
   */
  async write(
    token: string,
    session: SessionRecord | undefined,
  ): Promise<{ compare: Compare; op: TxnOp }> {
    return this.writeOn(token, await this.store.get(this.bucketKey(token)), session);
  }

  /** The key of session `token`'s summary bucket. */
  bucketKey(token: string): string {
    return this.keys.summaryBucket(summaryBucketOf(token));
  }

  /**
   * `write` on the bucket as read already (`kv`, undefined if it does not exist), for a caller
   * that read it with other keys in one snapshot.
   */
  async writeOn(
    token: string,
    kv: KeyValue | undefined,
    session: SessionRecord | undefined,
  ): Promise<{ compare: Compare; op: TxnOp }> {
    const key = this.bucketKey(token);
    // A bucket that cannot be read (damaged by hand) is rebuilt from the session records, so
    // that it never blocks a setup or a teardown.
    const stored = kv
      ? (this.readableBucket(kv) ?? (await this.bucketFromSessions(summaryBucketOf(token))))
      : [];
    const summaries = session
      ? withSummary(stored, summariseSession(session))
      : withoutSummary(stored, token);
    return {
      compare: kv
        ? { key, target: 'modRevision', op: '==', value: kv.modRevision }
        : { key, target: 'createRevision', op: '==', value: 0 },
      op: { type: 'put', key, value: this.encodeBucket(summaries) },
    };
  }

  private encodeBucket(summaries: SummaryBucketRecord['summaries']): string {
    return encodeRecord(SummaryBucketRecord, { schemaVersion: SCHEMA_VERSION, summaries });
  }

  /**
   * Rewrite every summary bucket that does not match the sessions (sessions recorded by a
   * version without buckets, or a bucket damaged by hand), delete keys under the buckets'
   * prefix that are no bucket, and delete the per-session summaries of the previous layout.
   * dacd calls it at start. Each bucket is written guarded by its revision in the snapshot it
   * was computed from: a session written meanwhile rewrote its bucket, so that write fails and
   * the repair looks again. Resolves with the tokens whose summary was added, changed or
   * removed, sorted.
   */
  async writeMissing(): Promise<string[]> {
    const repaired = new Set<string>();
    const names = summaryBucketNames();
    const contention = 'session summaries: too many concurrent updates; restart dacd';
    return casLoop({ attempts: this.attempts, contention }, async () => {
      const snapshot = await this.store.snapshot([
        { prefix: this.keys.sessions() },
        { prefix: this.keys.summaryBuckets() },
        { prefix: this.keys.legacySessionSummaries(), keysOnly: true },
      ]);
      const [sessionKvs = [], bucketKvs = []] = snapshot.ranges;
      const stored = new Map(bucketKvs.map((kv) => [kv.key, kv]));
      const expected = new Map(names.map((name) => [name, [] as SessionSummary[]]));
      const sessionsPrefix = this.keys.sessions();
      for (const kv of sessionKvs) {
        const session = readableSession(kv);
        // A session record that cannot be read keeps the summary it had (or, with its bucket
        // damaged too, gets a placeholder), so that Slurm still sees the session (and tears it
        // down); it never stops a dacd from starting.
        const token = kv.key.slice(sessionsPrefix.length);
        const summary = session
          ? summariseSession(session)
          : (this.storedSummary(stored, token) ?? placeholderSummary(token, kv));
        if (summary) expected.get(summaryBucketOf(summary.token))!.push(summary);
      }
      let settled = true;
      for (const [name, summaries] of expected) {
        summaries.sort(byToken);
        const key = this.keys.summaryBucket(name);
        const kv = stored.get(key);
        stored.delete(key);
        const current = kv ? this.readableBucket(kv) : [];
        if (current && sameSummaries(current, summaries) && (kv || summaries.length === 0)) {
          continue;
        }
        const result = await this.store.txn(
          [
            kv
              ? { key, target: 'modRevision', op: '==', value: kv.modRevision }
              : { key, target: 'createRevision', op: '==', value: 0 },
          ],
          [{ type: 'put', key, value: this.encodeBucket(summaries) }],
        );
        if (!result.succeeded) {
          settled = false;
          continue;
        }
        for (const token of changedTokens(current ?? [], summaries)) repaired.add(token);
      }
      // What is left under the prefix is no bucket (written by hand): the reader would fail on it.
      await this.deleteKeys([...stored.keys(), ...(snapshot.keys[2] ?? [])]);
      return settled ? [...repaired].sort() : AGAIN;
    });
  }

  /**
   * Call `onUnreadable` with the key of every bucket written from now on that cannot be read:
   * one bad bucket makes `show_sessions` fail for every session, so dacd rebuilds them at once.
   */
  watchUnreadable(onUnreadable: (key: string) => void): Promise<Watch> {
    return this.store.watchPrefix(this.keys.summaryBuckets(), (event) => {
      if (event.type !== 'put') return;
      if (!decodeOrUndefined(SummaryBucketRecord, event.kv.key, event.kv.value)) {
        onUnreadable(event.kv.key);
      }
    });
  }

  /** The summary of `token` in its stored bucket, if the bucket can be read and lists it. */
  private storedSummary(
    buckets: ReadonlyMap<string, KeyValue>,
    token: string,
  ): SessionSummary | undefined {
    const kv = buckets.get(this.keys.summaryBucket(summaryBucketOf(token)));
    return (kv && this.readableBucket(kv))?.find((summary) => summary.token === token);
  }

  /**
   * The summaries of the sessions recorded now whose tokens fall in `bucket`, by token. A
   * session record that cannot be read gets a placeholder (its bucket could not be read
   * either), so that the bucket still lists every session.
   */
  private async bucketFromSessions(bucket: string): Promise<SessionSummary[]> {
    const prefix = this.keys.sessions();
    const { kvs } = await this.store.range(prefix);
    return kvs
      .filter((kv) => summaryBucketOf(kv.key.slice(prefix.length)) === bucket)
      .flatMap((kv) => {
        const session = readableSession(kv);
        const summary = session
          ? summariseSession(session)
          : placeholderSummary(kv.key.slice(prefix.length), kv);
        return summary ? [summary] : [];
      })
      .sort(byToken);
  }

  /** The summaries of a stored bucket, or undefined if it cannot be read (it is rewritten). */
  private readableBucket(kv: KeyValue): SessionSummary[] | undefined {
    return decodeOrUndefined(SummaryBucketRecord, kv.key, kv.value)?.summaries;
  }

  /** Delete `keys`, in transactions etcd accepts (at most 128 operations each). */
  private async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += MAX_TXN_OPS) {
      const ops = keys
        .slice(start, start + MAX_TXN_OPS)
        .map((key): TxnOp => ({ type: 'delete', key }));
      await this.store.txn([], ops);
    }
  }
}

/** True if two lists of summaries say the same, in the same order. */
function sameSummaries(a: readonly SessionSummary[], b: readonly SessionSummary[]): boolean {
  return a.length === b.length && a.every((summary, i) => sameSummary(summary, b[i]!));
}

/**
 * The tokens whose summary is in one list and not the other, differs between them, or is
 * listed more than once before.
 */
function changedTokens(before: readonly SessionSummary[], after: readonly SessionSummary[]) {
  const old = new Map<string, SessionSummary>();
  const changed = new Set<string>();
  for (const summary of before) {
    if (old.has(summary.token)) changed.add(summary.token);
    old.set(summary.token, summary);
  }
  for (const summary of after) {
    const previous = old.get(summary.token);
    if (!previous || !sameSummary(previous, summary)) changed.add(summary.token);
    old.delete(summary.token);
  }
  for (const token of old.keys()) changed.add(token);
  return changed;
}
