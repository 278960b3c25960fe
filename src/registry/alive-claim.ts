/**
 * One owner per storage host: the liveness key `<prefix>alive/<host>` says which daemon serves
 * the host, and only that daemon writes it. A daemon claims the key in one transaction: when it
 * is absent, when it is on the daemon's own lease already, or when `mayReplace` says its holder
 * is gone (the holder's process no longer runs on this machine). Anything else is refused with
 * the holder's pid, machine and start time, and nothing is written.
 *
 * The key lives on the claimant's lease: a daemon that stops revokes its own lease, which
 * deletes the key only while the key is still on it. A key another daemon took over is on that
 * daemon's lease and stays. `watchAliveKey` tells the holder of every change to its key, with
 * the lease a new value is on, so that it can tell its own claims from anybody else's.
 */
import { ContentionError, HostOwnedError } from '../errors/errors';
import type { Keystore, LeaseId, Watch } from '../keystore/keystore';
import type { KeyLayout } from './keys';
import { AliveRecord, SCHEMA_VERSION } from './record-codecs';
import { decodeRecord, encodeRecord } from './record-codec';

/** Who claims the host, written into the liveness record. */
export interface AliveHolder {
  pid: number;
  /** The machine's host name (`os.hostname()`). */
  machine: string;
}

export interface ClaimAliveOptions {
  host: string;
  lease: LeaseId;
  holder?: AliveHolder;
  /** Seconds since the epoch, written as `since`. */
  nowSeconds: number;
  /**
   * Whether a record on another lease belongs to a holder that is gone, so its key may be
   * taken over without waiting for its lease to expire. Default: never.
   */
  mayReplace?: (current: AliveRecord) => boolean;
}

/** How often a claim is retried when the key changes between its read and its write. */
const MAX_ATTEMPTS = 20;

/** Claim the host's liveness key for `lease`; throws HostOwnedError when another holds it. */
export async function claimAlive(
  store: Keystore,
  keys: KeyLayout,
  options: ClaimAliveOptions,
): Promise<void> {
  const { host, lease, holder } = options;
  const key = keys.alive(host);
  const record: AliveRecord = {
    schemaVersion: SCHEMA_VERSION,
    host,
    since: options.nowSeconds,
    ...(holder ? { pid: holder.pid, machine: holder.machine } : {}),
  };
  const value = encodeRecord(AliveRecord, record);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = await store.get(key);
    if (current && current.lease !== lease) {
      let stored: AliveRecord | undefined;
      try {
        stored = decodeRecord(AliveRecord, current.key, current.value);
      } catch {
        // A damaged record tells no owner; the claimant rewrites it (its lease may be live, so
        // the old one's expiry no longer deletes the key).
      }
      if (stored && !(options.mayReplace?.(stored) ?? false)) {
        throw new HostOwnedError(host, ownedMessage(host, stored));
      }
    }
    const compare = current
      ? { key, target: 'modRevision' as const, op: '==' as const, value: current.modRevision }
      : { key, target: 'createRevision' as const, op: '==' as const, value: 0 };
    const result = await store.txn([compare], [{ type: 'put', key, value, lease }]);
    if (result.succeeded) return;
  }
  throw new ContentionError(`host ${host}: its liveness key kept changing while it was claimed`);
}

/** A change of a host's liveness key: written (on `lease`, if any), or deleted. */
export type AliveKeyChange = { type: 'put'; lease: LeaseId | undefined } | { type: 'delete' };

/** Call `onChange` with every change of the host's liveness key from `fromRevision` on. */
export function watchAliveKey(
  store: Keystore,
  keys: KeyLayout,
  host: string,
  fromRevision: number,
  onChange: (change: AliveKeyChange) => void,
): Promise<Watch> {
  const key = keys.alive(host);
  return store.watchPrefix(
    key,
    (event) => {
      if (event.kv.key !== key) return; // a longer host name sharing the prefix
      onChange(event.type === 'put' ? { type: 'put', lease: event.kv.lease } : { type: 'delete' });
    },
    { fromRevision },
  );
}

function ownedMessage(host: string, holder: AliveRecord): string {
  const who =
    holder.pid === undefined
      ? 'another dacd'
      : `dacd pid ${holder.pid}${holder.machine === undefined ? '' : ` on ${holder.machine}`}`;
  const since = new Date(holder.since * 1000).toISOString().replace('.000Z', 'Z');
  return (
    `host ${host} is already served by ${who} since ${since}: stop that one first, ` +
    `or give this one another DAC_HOST_NAME (if it is gone, its lease runs out within the ` +
    `lease TTL and a new start then succeeds)`
  );
}
