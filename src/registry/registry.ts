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
import type { AliveRecord, HostRecord, PoolRecord, SessionRecord } from './model';
import type { AliveHolder, AliveKeyChange } from './alive-claim';
import { RegistryReader, type StoredSession } from './registry-reader';
import { SessionStore, type NewSession, type SessionsListener } from './session-store';
import { SummaryIndex } from './summary-index';

export type { StoredSession } from './registry-reader';
export type { HostRegistration } from './host-registry';
export type { NewSession, SessionsListener } from './session-store';
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
}

export class Registry extends RegistryReader {
  private readonly hosts: HostRegistry;
  private readonly summaries: SummaryIndex;
  private readonly sessionStore: SessionStore;
  private readonly removal: InventoryRemoval;
  private readonly forced: ForcedReleaser;
  private readonly wipes: BrickWipes;

  constructor(store: Keystore, keys: KeyLayout, options: RegistryOptions = {}) {
    super(store, keys);
    const now = options.now ?? Date.now;
    const loop = {
      attempts: options.maxAttempts ?? 200,
      seconds: () => Math.floor(now() / 1000),
      nowMs: now,
    };
    this.hosts = new HostRegistry(store, keys, this, loop);
    this.summaries = new SummaryIndex(store, keys, loop.attempts);
    this.sessionStore = new SessionStore(store, keys, this, this.hosts, this.summaries, loop);
    this.removal = new InventoryRemoval(store, keys, this, loop);
    this.forced = new ForcedReleaser(store, keys, this, this.summaries, loop);
    this.wipes = new BrickWipes(store, keys, this.hosts, loop);
  }

  /** See HostRegistry.ensurePool. */
  ensurePool(name: string, granularityBytes: bigint): Promise<PoolRecord> {
    return this.hosts.ensurePool(name, granularityBytes);
  }

  /** See HostRegistry.registerHost. */
  registerHost(registration: HostRegistration): Promise<boolean> {
    return this.hosts.registerHost(registration);
  }

  /** See HostRegistry.setHostEnabled. */
  setHostEnabled(
    name: string,
    enabled: boolean,
    reason?: string,
    by?: string,
  ): Promise<HostRecord> {
    return this.hosts.setHostEnabled(name, enabled, reason, by);
  }

  /** See InventoryRemoval.removeHost. */
  removeHost(name: string): Promise<void> {
    return this.removal.removeHost(name);
  }

  /** See InventoryRemoval.removePool. */
  removePool(name: string): Promise<void> {
    return this.removal.removePool(name);
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

  /** See SessionStore.createSession. */
  createSession(request: NewSession): Promise<{ session: SessionRecord; created: boolean }> {
    return this.sessionStore.createSession(request);
  }

  /** See SessionStore.updateSession. */
  updateSession(
    token: string,
    change: (session: SessionRecord) => SessionRecord,
  ): Promise<SessionRecord> {
    return this.sessionStore.updateSession(token, change);
  }

  /** See SessionStore.releaseSession. */
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

  /** See ForcedReleaser.releaseByForce. */
  releaseSessionByForce(
    token: string,
    request: ForcedReleaseRequest,
  ): Promise<ForcedRelease | undefined> {
    return this.forced.releaseByForce(token, request);
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
}
