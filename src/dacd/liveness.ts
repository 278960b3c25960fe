/**
 * Proves a host is alive: its liveness key sits on an etcd lease that is renewed at half its
 * lifetime, and again within a second when a renewal fails. The key is claimed, never simply
 * written (registry/alive-claim.ts): a second dacd for a host that a live one serves is
 * refused. If the lease is lost (etcd unreachable for longer than the TTL), a new one is
 * granted and the key claimed again as soon as etcd answers; if another daemon has taken the
 * host meanwhile, `onTaken` is called and this one stops renewing.
 */
import { hostname } from 'node:os';
import { HostOwnedError, LeaseLostError } from '../errors/errors';
import type { Keystore, Lease } from '../keystore/keystore';
import type { Logger } from '../logging/logger';
import type { AliveRecord } from '../registry/model';
import type { Registry } from '../registry/registry';

export interface HostLivenessOptions {
  ttlSeconds: number;
  log: Logger;
  /** Another daemon serves the host now: stop working on its sessions. */
  onTaken(error: HostOwnedError): void;
}

/** The soonest a failed renewal is tried again, in milliseconds. */
const RETRY_MS = 500;

export class HostLiveness {
  private lease: Lease | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly machine = hostname();

  constructor(
    private readonly store: Keystore,
    private readonly registry: Registry,
    private readonly host: string,
    private readonly options: HostLivenessOptions,
  ) {}

  /**
   * Grant the lease and claim the liveness key; then keep it alive until `stop()`. Throws
   * HostOwnedError when a live daemon serves the host already.
   */
  async start(): Promise<void> {
    await this.establish();
    this.schedule(this.renewalMs());
  }

  private renewalMs(): number {
    return (this.options.ttlSeconds * 1000) / 2;
  }

  private async establish(): Promise<void> {
    const lease = await this.store.grantLease(this.options.ttlSeconds);
    try {
      await this.registry.markAlive(
        this.host,
        lease.id,
        { pid: process.pid, machine: this.machine },
        (current) => this.holderIsGone(current),
      );
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

  /**
   * A record of this machine whose process is this one (an earlier lease of ours) or no longer
   * runs (a dacd killed before its lease ran out) may be replaced at once.
   */
  private holderIsGone(current: AliveRecord): boolean {
    if (current.machine !== this.machine || current.pid === undefined) return false;
    return current.pid === process.pid || !processRuns(current.pid);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.renew(), delayMs);
  }

  private async renew(): Promise<void> {
    const log = this.options.log;
    try {
      if (this.lease) {
        try {
          await this.lease.keepAliveOnce();
        } catch (error) {
          if (!(error instanceof LeaseLostError)) throw error;
          log.warn({ lease: this.lease.id }, 'lease lost; granting a new one');
          this.lease = undefined;
        }
      }
      // A renewal that was under way when stop() revoked the lease must not claim anew.
      if (this.stopped) return;
      if (!this.lease) await this.establish();
      this.schedule(this.renewalMs());
    } catch (error) {
      if (error instanceof HostOwnedError) {
        log.error({ err: error }, 'another daemon serves this host now; stopping its work');
        this.stopped = true;
        this.options.onTaken(error);
        return;
      }
      log.error({ err: error }, 'lease keepalive failed; retrying');
      this.schedule(Math.min(RETRY_MS, this.renewalMs() / 2));
    }
  }

  /** Stop renewing and revoke the lease, so the host is seen as gone at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
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
