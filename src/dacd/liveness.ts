/**
 * Proves a host is alive: its liveness key sits on an etcd lease that is renewed at half its
 * lifetime. If the lease is lost (etcd unreachable for longer than the TTL), a new one is
 * granted and the key written again as soon as etcd answers.
 */
import { LeaseLostError } from '../errors/errors';
import type { Keystore, Lease } from '../keystore/keystore';
import type { Logger } from '../logging/logger';
import type { Registry } from '../registry/registry';

export class HostLiveness {
  private lease: Lease | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly store: Keystore,
    private readonly registry: Registry,
    private readonly host: string,
    private readonly ttlSeconds: number,
    private readonly log: Logger,
  ) {}

  /** Grant the lease and write the liveness key; then keep it alive until `stop()`. */
  async start(): Promise<void> {
    await this.establish();
    this.schedule();
  }

  private async establish(): Promise<void> {
    const lease = await this.store.grantLease(this.ttlSeconds);
    await this.registry.markAlive(this.host, lease.id, process.pid);
    this.lease = lease;
    this.log.info({ lease: lease.id, ttl: this.ttlSeconds }, 'host is alive');
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.renew(), (this.ttlSeconds * 1000) / 2);
  }

  private async renew(): Promise<void> {
    try {
      if (!this.lease) await this.establish();
      else await this.lease.keepAliveOnce();
    } catch (error) {
      if (error instanceof LeaseLostError) {
        this.log.warn({ lease: this.lease?.id }, 'lease lost; granting a new one');
        this.lease = undefined;
        await this.establish().catch((e: unknown) =>
          this.log.error({ err: e }, 'cannot re-establish liveness'),
        );
      } else {
        this.log.error({ err: error }, 'lease keepalive failed; retrying');
      }
    }
    this.schedule();
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
