/**
 * The registry: pools, hosts, bricks and sessions on top of a Keystore. It reads through
 * RegistryReader and writes through three parts, each its own file:
 *
 * - host-registry.ts: pools, host registration, drain, liveness (its lease, claim and watch);
 * - session-store.ts: sessions and their bricks (allocation planned by allocation-plan.ts),
 *   and the watches that follow them;
 * - summary-index.ts: the session summaries the polled Slurm calls read, and their repair;
 * - forced-release.ts and brick-wipes.ts: a session torn down by force, and the wipe of the
 *   bricks it leaves, which its hosts' dacd carry out.
 *
 * Every state change is one compare-and-swap transaction; there is no global lock. On
 * conflict a write re-reads and tries again (cas-loop.ts).
 */
import type { Keystore, Lease, LeaseId, Watch } from '../keystore/keystore';
import { BrickWipes, type PendingWipe } from './brick-wipes';
import { ForcedReleaser, type ForcedRelease, type ForcedReleaseRequest } from './forced-release';
import { InventoryRemoval } from './inventory-removal';
import { HostRegistry, type HostRegistration } from './host-registry';
import type { KeyLayout } from './keys';
import { EventLog } from './event-log';
import {
  SCHEMA_VERSION,
  type AliveRecord,
  type EventRecord,
  type HostRecord,
  type PoolRecord,
  type SessionRecord,
} from './record-codecs';
import { sessionEvents } from './session-events';
import type { AliveHolder, AliveKeyChange } from './alive-claim';
import { RegistryReader, type StoredSession } from './registry-reader';
import {
  SessionStore,
  type CreatedSession,
  type NewSession,
  type SessionsListener,
} from './session-store';
import type { WaitPoint } from './wait-point';
import { SummaryIndex } from './summary-index';

export type { StoredSession } from './registry-reader';
export type { HostRegistration } from './host-registry';
export type { CreatedSession, NewSession, SessionsListener } from './session-store';
export type { WaitPoint } from './wait-point';
export type { AliveHolder, AliveKeyChange } from './alive-claim';
export type { ForcedRelease, ForcedReleaseRequest } from './forced-release';
export type { PendingWipe } from './brick-wipes';
// The keystore's handles, for the registry's users (dacd), which reach the store only through it.
export type { Lease, LeaseId, Watch } from '../keystore/keystore';

export interface RegistryOptions {
  /** Milliseconds since the epoch; injectable for tests. Default `Date.now`. */
  now?: () => number;
  /** Attempts of a compare-and-swap loop before giving up with ContentionError. Default 200. */
  maxAttempts?: number;
  /** Told of history entries that could not be written (event-log.ts); the change stands. */
  onEventLost?: (error: unknown, events: readonly EventRecord[]) => void;
}

export class Registry extends RegistryReader {
  private readonly hosts: HostRegistry;
  private readonly summaries: SummaryIndex;
  private readonly sessionStore: SessionStore;
  private readonly removal: InventoryRemoval;
  private readonly eventLog: EventLog;
  private readonly now: () => number;
  private readonly forced: ForcedReleaser;
  private readonly wipes: BrickWipes;

  constructor(store: Keystore, keys: KeyLayout, options: RegistryOptions = {}) {
    super(store, keys);
    const now = options.now ?? Date.now;
    this.now = now;
    const loop = {
      attempts: options.maxAttempts ?? 200,
      seconds: () => Math.floor(now() / 1000),
      nowMs: now,
    };
    this.hosts = new HostRegistry(store, keys, this, loop);
    this.summaries = new SummaryIndex(store, keys, loop.attempts);
    this.eventLog = new EventLog(store, keys, options.onEventLost);
    this.sessionStore = new SessionStore(
      store,
      keys,
      this.hosts,
      this.summaries,
      this.eventLog,
      loop,
    );
    this.removal = new InventoryRemoval(store, keys, this, loop);
    this.forced = new ForcedReleaser(store, keys, this, this.summaries, loop);
    this.wipes = new BrickWipes(store, keys, this.hosts, loop);
  }

  /** The history's writer, for dacd's trimming and `dacctl events --follow`. */
  get history(): EventLog {
    return this.eventLog;
  }

  /** A history entry about a host, by `by`. */
  private hostEvent(kind: EventRecord['kind'], host: string, message: string, by?: string) {
    return this.eventLog.record([
      {
        schemaVersion: SCHEMA_VERSION,
        at: this.now(),
        kind,
        host,
        ...(by ? { by } : {}),
        message,
      },
    ]);
  }

  /** See HostRegistry.ensurePool. */
  ensurePool(name: string, granularityBytes: bigint): Promise<PoolRecord> {
    return this.hosts.ensurePool(name, granularityBytes);
  }

  /** See HostRegistry.registerHost. */
  registerHost(registration: HostRegistration): Promise<boolean> {
    return this.hosts.registerHost(registration);
  }

  /** See HostRegistry.setHostEnabled; the drain or undrain is recorded in the history. */
  async setHostEnabled(
    name: string,
    enabled: boolean,
    reason?: string,
    by?: string,
  ): Promise<HostRecord> {
    const record = await this.hosts.setHostEnabled(name, enabled, reason, by);
    await this.hostEvent(
      enabled ? 'host-undrained' : 'host-drained',
      name,
      enabled ? 'undrained' : `drained: ${reason ?? 'no reason given'}`,
      by,
    );
    return record;
  }

  /** See InventoryRemoval.removeHost; `by` is recorded in the history. */
  async removeHost(name: string, by?: string): Promise<void> {
    await this.removal.removeHost(name);
    await this.hostEvent('host-removed', name, 'removed', by);
  }

  /** See InventoryRemoval.removePool; `by` is recorded in the history. */
  async removePool(name: string, by?: string): Promise<void> {
    await this.removal.removePool(name);
    await this.eventLog.record([
      {
        schemaVersion: SCHEMA_VERSION,
        at: this.now(),
        kind: 'pool-removed',
        ...(by ? { by } : {}),
        message: `pool ${name} removed`,
      },
    ]);
  }

  /** See HostRegistry.grantLease. */
  grantLease(ttlSeconds: number): Promise<Lease> {
    return this.hosts.grantLease(ttlSeconds);
  }

  /** See HostRegistry.markAlive. */
  markAlive(
    host: string,
    lease: LeaseId,
    holder?: AliveHolder,
    mayReplace?: (current: AliveRecord) => boolean,
  ): Promise<void> {
    return this.hosts.markAlive(host, lease, holder, mayReplace);
  }

  /** See HostRegistry.watchAliveKey. */
  watchAliveKey(
    host: string,
    fromRevision: number,
    onChange: (change: AliveKeyChange) => void,
  ): Promise<Watch> {
    return this.hosts.watchAliveKey(host, fromRevision, onChange);
  }

  /** See HostRegistry.watchHostLiveness. */
  watchHostLiveness(
    host: string,
    fromRevision: number,
    onChange: (alive: boolean) => void,
  ): Promise<Watch> {
    return this.hosts.watchHostLiveness(host, fromRevision, onChange);
  }

  /** See SessionStore.watchSession. */
  watchSession(
    token: string,
    fromRevision: number,
    onChange: (session: StoredSession | undefined) => void,
    onError: (error: unknown) => void,
  ): Promise<Watch> {
    return this.sessionStore.watchSession(token, fromRevision, onChange, onError);
  }

  /** See SessionStore.watchSessions. */
  watchSessions(fromRevision: number, listener: SessionsListener): Promise<Watch> {
    return this.sessionStore.watchSessions(fromRevision, listener);
  }

  /** See SessionStore.createSession; a new session is recorded in the history. */
  createSession(request: NewSession): Promise<CreatedSession> {
    return this.sessionStore.createSession(request);
  }

  /** See SessionStore.updateSession; a change of step or state is recorded in the history. */
  updateSession(
    token: string,
    change: (session: SessionRecord) => SessionRecord,
  ): Promise<SessionRecord> {
    return this.sessionStore.updateSession(token, change);
  }

  /** See SessionStore.changeSessionForWait; recorded in the history as updateSession is. */
  changeSessionForWait(
    token: string,
    change: (session: SessionRecord) => SessionRecord | Promise<SessionRecord>,
  ): Promise<WaitPoint> {
    return this.sessionStore.changeSessionForWait(token, change);
  }

  /** See SessionStore.releaseSession; the release is recorded in the history. */
  releaseSession(token: string): Promise<SessionRecord | undefined> {
    return this.sessionStore.releaseSession(token);
  }

  /** See SummaryIndex.writeMissing. */
  writeMissingSummaries(): Promise<string[]> {
    return this.summaries.writeMissing();
  }

  /** See SummaryIndex.watchUnreadable. */
  watchUnreadableSummaries(onUnreadable: (key: string) => void): Promise<Watch> {
    return this.summaries.watchUnreadable(onUnreadable);
  }

  /** See ForcedReleaser.releaseByForce; recorded in the history with who and why. */
  async releaseSessionByForce(
    token: string,
    request: ForcedReleaseRequest,
  ): Promise<ForcedRelease | undefined> {
    const released = await this.forced.releaseByForce(token, request);
    if (!released) return undefined;
    const message = `torn down by force: ${request.reason}`;
    const about: Omit<EventRecord, 'kind' | 'message'> = released.session
      ? sessionEvents(released.session, undefined, this.now())[0]!
      : { schemaVersion: SCHEMA_VERSION, at: this.now(), token: released.token };
    await this.eventLog.record([
      {
        ...about,
        kind: 'session-forced-teardown',
        by: request.by,
        message: (released.session ? message : `${message} (its record could not be read)`).slice(
          0,
          2000,
        ),
      },
    ]);
    return released;
  }

  /** See BrickWipes.awaitingWipe. */
  bricksAwaitingWipe(host: string): Promise<{ wipes: PendingWipe[]; revision: number }> {
    return this.wipes.awaitingWipe(host);
  }

  /** See BrickWipes.watchWipes. */
  watchWipes(
    host: string,
    fromRevision: number,
    onWipe: (wipe: PendingWipe) => void,
  ): Promise<Watch> {
    return this.wipes.watchWipes(host, fromRevision, onWipe);
  }

  /** See BrickWipes.finishWipe. */
  finishWipe(host: string, token: string, devices: readonly string[]): Promise<string[]> {
    return this.wipes.finishWipe(host, token, devices);
  }

  /**
   * Free bricks of `host` awaiting a wipe that an operator wiped by hand (a provider that cannot
   * wipe, or a dacd that will not come back): as dacd's `finishWipe`, one transaction per
   * session, recorded in the history with who and why. Resolves with the devices freed; a
   * device that awaits no wipe is left alone (the caller says so).
   */
  async releaseWipedBricks(
    host: string,
    devices: readonly string[],
    request: { by: string; reason: string },
  ): Promise<string[]> {
    const wanted = new Set(devices);
    const byToken = new Map<string, string[]>();
    for (const wipe of (await this.wipes.awaitingWipe(host)).wipes) {
      if (wanted.has(wipe.device))
        byToken.set(wipe.token, [...(byToken.get(wipe.token) ?? []), wipe.device]);
    }
    const freed: string[] = [];
    for (const [token, list] of byToken)
      freed.push(...(await this.wipes.finishWipe(host, token, list)));
    if (freed.length > 0) {
      await this.hostEvent(
        'bricks-released',
        host,
        `wiped by hand, released: ${freed.join(', ')} (${request.reason})`.slice(0, 2000),
        request.by,
      );
    }
    return freed;
  }
}
