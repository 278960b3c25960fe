/**
 * A stand-in for dacd until the real daemon reconciles sessions: it keeps hosts alive on a
 * lease and reports every requested step as completed (or failed, or never, on request)
 * straight into the real etcd, exactly where dacd writes.
 */
import type { Keystore, Lease, Watch } from '../../src/keystore/keystore';
import type { Phase, SessionRecord } from '../../src/registry/model';
import { SessionRecord as SessionSchema } from '../../src/registry/record-codecs';
import { decodeRecord } from '../../src/registry/record-codec';
import type { Registry } from '../../src/registry/registry';

export interface FakeBehaviour {
  /** Report this step as failed with `message`. */
  fail?: { phase: Phase; message: string };
  /** Never answer this step. */
  stall?: Phase;
}

export class FakeDacd {
  private watch: Watch | undefined;
  private lease: Lease | undefined;
  /** Per token. */
  readonly behaviour = new Map<string, FakeBehaviour>();
  private readonly served: ReadonlySet<string>;
  /** Steps reported, in order, as `token:Phase:status`. */
  readonly reports: string[] = [];

  constructor(
    private readonly store: Keystore,
    private readonly registry: Registry,
    private readonly hosts: string[],
    /** `markAlive: false`: the hosts are kept alive by someone else (a benchmark's seed). */
    private readonly options: { markAlive?: boolean } = {},
  ) {
    this.served = new Set(hosts);
  }

  async start(): Promise<void> {
    if (this.options.markAlive !== false) {
      this.lease = await this.store.grantLease(30);
      for (const host of this.hosts) await this.registry.markAlive(host, this.lease.id);
    }
    const { kvs, revision } = await this.store.range(this.registry.keys.sessions());
    this.watch = await this.store.watchPrefix(
      this.registry.keys.sessions(),
      (event) => {
        if (event.type === 'put') void this.consider(event.kv.key, event.kv.value);
      },
      { fromRevision: revision + 1 },
    );
    for (const kv of kvs) void this.consider(kv.key, kv.value);
  }

  /** Stop working and revoke the hosts' lease: they are dead from now on. */
  async killHosts(): Promise<void> {
    await this.watch?.close();
    await this.lease?.revoke();
  }

  async stop(): Promise<void> {
    await this.watch?.close();
    await this.lease?.revoke();
  }

  private async consider(key: string, value: string): Promise<void> {
    const session = decodeRecord(SessionSchema, key, value);
    if (!this.needsWork(session)) return;
    const phase = session.desired;
    const behaviour = this.behaviour.get(session.token) ?? {};
    if (behaviour.stall === phase) return;
    const failed = behaviour.fail?.phase === phase ? behaviour.fail.message : undefined;
    await this.registry
      .updateSession(session.token, (current) =>
        this.needsWork(current) && current.desired === phase
          ? {
              ...current,
              observed: {
                phase,
                status: failed === undefined ? 'Completed' : 'Error',
                ...(failed !== undefined ? { message: failed } : {}),
                updatedAt: Math.floor(Date.now() / 1000),
              },
            }
          : current,
      )
      .then(() => this.reports.push(`${session.token}:${phase}:${failed ? 'Error' : 'Completed'}`))
      .catch(() => undefined); // the session was torn down meanwhile
  }

  private needsWork(session: SessionRecord): boolean {
    if (session.reconciler === null || !this.served.has(session.reconciler)) return false;
    return session.observed === null || session.observed.phase !== session.desired;
  }
}
