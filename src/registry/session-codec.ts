/**
 * The one place a stored session record is read and written: every reader of sessions (the
 * registry's reads and watches, the session store's updates, the summary index's rebuild)
 * decodes through here, with the codec generated from model.ts's schema (record-codecs.ts). The
 * Slurm calls read the fields they need with the codec of `SlurmSession`.
 */
import type { KeyValue } from '../keystore/keystore';
import { SessionRecord } from './record-codecs';
import { decodeOrUndefined, decodeRecord, encodeRecord } from './record-codec';

/** A session record with the revision it was read at, for compare-and-swap. */
export interface StoredSession {
  record: SessionRecord;
  modRevision: number;
}

/** The session record stored in `kv`; a RecordError naming the key if it cannot be read. */
export function decodeSession(kv: Pick<KeyValue, 'key' | 'value'>): SessionRecord {
  return decodeRecord(SessionRecord, kv.key, kv.value);
}

/** `decodeSession` with its revision. */
export function decodeStoredSession(kv: KeyValue): StoredSession {
  return { record: decodeSession(kv), modRevision: kv.modRevision };
}

/** The session record in `kv`, or undefined if it cannot be read (for its rebuilders). */
export function readableSession(kv: Pick<KeyValue, 'key' | 'value'>): SessionRecord | undefined {
  return decodeOrUndefined(SessionRecord, kv.key, kv.value);
}

export function encodeSession(session: SessionRecord): string {
  return encodeRecord(SessionRecord, session);
}
