/**
 * Proves a host is alive: its liveness key sits on an etcd lease that is renewed at half its
 * lifetime, and again within a second when a renewal fails. The key is claimed, never simply
 * written (registry/alive-claim.ts): a second dacd for a host that a live one serves is
 * refused. If the lease is lost (etcd unreachable for longer than the TTL), a new one is
 * granted and the key claimed again as soon as etcd answers; if another daemon has taken the
 * host meanwhile, `onTaken` is called and this one stops renewing. The daemon also watches its
 * key: one deleted or overwritten by anybody else (by hand, or damaged) is claimed again at
 * once, so the host is not left out of placement while its dacd runs.
 */
import { hostname } from 'node:os';
import { HostOwnedError, LeaseLostError } from '../errors/errors';
import type { Logger } from '../logging/logger';
import type { AliveRecord } from '../registry/model';
import type { AliveKeyChange, Lease, Registry, Watch } from '../registry/registry';

export interface HostLivenessOptions {
  ttlSeconds: number;
  log: Logger;
  /** Another daemon serves the host now: stop working on its sessions. */
  onTaken(error: HostOwnedError): void;
  /** Told of each renewal and each lease found lost (metrics.ts). */
  metrics?: { leaseRenewed(): void; leaseLost(): void };
}

/** The soonest a failed renewal is tried again, in milliseconds. */
const RETRY_MS = 500;

export class HostLiveness {
  private lease: Lease | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The key was changed by somebody else: claim it again with the lease we hold. */
  private claimNeeded = false;
  private renewing = false;
  private watch: Watch | undefined;
  private readonly machine = hostname();

  constructor(
    private readonly registry: Registry,
    private readonly host: string,
    private readonly options: HostLivenessOptions,
  ) {}

  /**
   * Grant the lease and claim the liveness key; then keep it alive until `stop()`. Throws
   * HostOwnedError when a live daemon serves the host already.
   */
  async start(): Promise<void> {
    const { revision } = await this.registry.hostAlive(this.host);
    await this.establish();
    this.watch = await this.registry.watchAliveKey(this.host, revision + 1, (change) =>
      this.onKeyChange(change),
    );
    this.schedule(this.renewalMs());
  }

  private renewalMs(): number {
    return (this.options.ttlSeconds * 1000) / 2;
  }

  private async establish(): Promise<void> {
    const lease = await this.registry.grantLease(this.options.ttlSeconds);
    try {
      await this.claim(lease);
    } catch (error) {
      await lease.revoke().catch(() => undefined);
      throw error;
    }
    if (this.stopped) {
      await lease.revoke().catch(() => undefined); // stopped while claiming
      return;
    }
    this.lease = lease;
    this.options.log.info({ lease: lease.id, ttl: this.options.ttlSeconds }, 'host is alive');
  }

  private claim(lease: Lease): Promise<void> {
    return this.registry.markAlive(
      this.host,
      lease.id,
      { pid: process.pid, machine: this.machine },
      (current) => this.holderIsGone(current),
    );
  }

  /**
   * A record of this machine whose process is this one (an earlier lease of ours) or no longer
   * runs (a dacd killed before its lease ran out) may be replaced at once.
   */
  private holderIsGone(current: AliveRecord): boolean {
    if (current.machine !== this.machine || current.pid === undefined) return false;
    return current.pid === process.pid || !processRuns(current.pid);
  }

  private onKeyChange(change: AliveKeyChange): void {
    if (this.stopped) return;
    // Our own claims, and the deletion that follows a lease we lost (renew handles that).
    if (change.type === 'put' && change.lease === this.lease?.id) return;
    if (change.type === 'delete' && this.lease === undefined) return;
    this.options.log.warn({ change: change.type }, 'liveness key changed by another; claiming it');
    this.claimNeeded = true;
    if (!this.renewing) this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.renew(), delayMs);
  }

  private async renew(): Promise<void> {
    const log = this.options.log;
    this.renewing = true;
    try {
      if (this.lease) {
        try {
          await this.lease.keepAliveOnce();
          this.options.metrics?.leaseRenewed();
        } catch (error) {
          if (!(error instanceof LeaseLostError)) throw error;
          log.warn({ lease: this.lease.id }, 'lease lost; granting a new one');
          this.options.metrics?.leaseLost();
          this.lease = undefined;
        }
      }
      // A renewal that was under way when stop() revoked the lease must not claim anew.
      if (this.stopped) return;
      if (!this.lease) {
        await this.establish();
        this.claimNeeded = false;
      } else if (this.claimNeeded) {
        this.claimNeeded = false;
        await this.claim(this.lease).catch((error: unknown) => {
          this.claimNeeded = true;
          throw error;
        });
      }
      this.schedule(this.claimNeeded ? 0 : this.renewalMs());
    } catch (error) {
      if (error instanceof HostOwnedError) {
        log.error({ err: error }, 'another daemon serves this host now; stopping its work');
        this.stopped = true;
        this.options.onTaken(error);
        return;
      }
      log.error({ err: error }, 'lease keepalive failed; retrying');
      this.schedule(Math.min(RETRY_MS, this.renewalMs() / 2));
    } finally {
      this.renewing = false;
    }
  }

  /** Stop renewing and revoke the lease, so the host is seen as gone at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.watch?.close().catch(() => undefined);
    const lease = this.lease;
    this.lease = undefined;
    if (lease) await lease.revoke();
  }
}

/** Whether a process with this pid runs on this machine (EPERM: it runs as another user). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
