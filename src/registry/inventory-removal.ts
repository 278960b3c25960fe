/**
 * Removing a storage host or a pool that is gone, for operators (`dacctl hosts remove`,
 * `dacctl pools remove`). Nothing that a session or a running daemon still uses is removed:
 * each removal is one compare-and-swap transaction over everything it checked.
 */
import { ConflictError, NotFoundError } from '../errors/errors';
import type { Compare, Keystore, TxnOp } from '../keystore/keystore';
import { AGAIN, casLoop } from './cas-loop';
import type { KeyLayout } from './keys';
import { AliveRecord, AllocationRecord } from './record-codecs';
import { decodeOrUndefined } from './record-codec';
import type { RegistryReader } from './registry-reader';

export class InventoryRemoval {
  constructor(
    private readonly store: Keystore,
    private readonly keys: KeyLayout,
    private readonly reader: RegistryReader,
    private readonly options: { attempts: number },
  ) {}

  /**
   * Forget a host: its record, its usage record, and allocations left by sessions that no
   * longer exist. Refused (ConflictError) while its dacd is alive, or while a session holds
   * one of its bricks (the sessions are named); NotFoundError if it is not registered.
   */
  async removeHost(name: string): Promise<void> {
    const hostKey = this.keys.host(name);
    const usageKey = this.keys.usage(name);
    const aliveKey = this.keys.alive(name);
    const contention = `host ${name}: too many concurrent updates`;
    await casLoop({ attempts: this.options.attempts, contention }, async () => {
      const [host, usage, alive, allocations] = await Promise.all([
        this.store.get(hostKey),
        this.store.get(usageKey),
        this.store.get(aliveKey),
        this.store.range(this.keys.allocationsOf(name)),
      ]);
      if (!host && !usage) throw new NotFoundError(`host ${name} is not registered`);
      if (alive) {
        const record = decodeOrUndefined(AliveRecord, alive.key, alive.value);
        const where = record?.machine ? ` on ${record.machine}` : '';
        const pid = record?.pid ? ` (pid ${record.pid}${where})` : where;
        throw new ConflictError(`host ${name}: its dacd is running${pid}; stop it first`);
      }
      const compares: Compare[] = [
        { key: hostKey, target: 'modRevision', op: '==', value: host?.modRevision ?? 0 },
        { key: usageKey, target: 'modRevision', op: '==', value: usage?.modRevision ?? 0 },
        { key: aliveKey, target: 'createRevision', op: '==', value: 0 },
      ];
      const ops: TxnOp[] = [
        { type: 'delete', key: hostKey },
        { type: 'delete', key: usageKey },
      ];
      const holders = new Set<string>();
      for (const kv of allocations.kvs) {
        const token = decodeOrUndefined(AllocationRecord, kv.key, kv.value)?.token;
        const session = token === undefined ? undefined : await this.reader.getSession(token);
        if (session) {
          holders.add(token!);
          continue;
        }
        // Left behind by a session that is gone (or unreadable): removed with the host, as
        // long as no session of that token appears meanwhile.
        compares.push({ key: kv.key, target: 'modRevision', op: '==', value: kv.modRevision });
        if (token !== undefined) {
          compares.push({
            key: this.keys.session(token),
            target: 'createRevision',
            op: '==',
            value: 0,
          });
        }
        ops.push({ type: 'delete', key: kv.key });
      }
      if (holders.size > 0) {
        throw new ConflictError(
          `host ${name}: sessions ${[...holders].join(', ')} hold its bricks; ` +
            'tear them down first',
        );
      }
      const result = await this.store.txn(compares, ops);
      return result.succeeded ? undefined : AGAIN;
    });
  }

  /**
   * Forget a pool. Refused (ConflictError) while a host has bricks in it (they are named);
   * NotFoundError if there is no such pool.
   */
  async removePool(name: string): Promise<void> {
    const key = this.keys.pool(name);
    const contention = `pool ${name}: too many concurrent updates`;
    await casLoop({ attempts: this.options.attempts, contention }, async () => {
      const [pool, inventory] = await Promise.all([
        this.store.get(key),
        this.reader.readInventory(),
      ]);
      if (!pool) throw new NotFoundError(`pool ${name} does not exist`);
      const hosts = [...inventory.hosts.values()]
        .filter((state) => state.record.bricks.some((brick) => brick.pool === name))
        .map((state) => state.record.name);
      if (hosts.length > 0) {
        throw new ConflictError(
          `pool ${name}: hosts ${hosts.join(', ')} have bricks in it; remove those hosts, ` +
            'or give their bricks another pool in their dacd configuration, first',
        );
      }
      const result = await this.store.txn(
        [{ key, target: 'modRevision', op: '==', value: pool.modRevision }],
        [{ type: 'delete', key }],
      );
      return result.succeeded ? pool.value : AGAIN;
    }).then((removed) => this.restoreIfUsed(name, removed));
  }

  /**
   * A transaction cannot compare every host key, so a host registered with bricks in the pool
   * while it was being removed is looked for afterwards: then the pool record is put back
   * (unless it was recreated meanwhile) and the removal refused.
   */
  private async restoreIfUsed(name: string, value: string): Promise<void> {
    const inventory = await this.reader.readInventory();
    const hosts = [...inventory.hosts.values()]
      .filter((state) => state.record.bricks.some((brick) => brick.pool === name))
      .map((state) => state.record.name);
    if (hosts.length === 0) return;
    const key = this.keys.pool(name);
    await this.store.txn(
      [{ key, target: 'createRevision', op: '==', value: 0 }],
      [{ type: 'put', key, value }],
    );
    throw new ConflictError(
      `pool ${name}: hosts ${hosts.join(', ')} registered bricks in it meanwhile; it is kept`,
    );
  }
}
