/**
 * etcd's limits on one transaction, checked before a request leaves the process so that every
 * store (both etcd clients, memory) refuses the same requests with the same ValidationError
 * instead of some of them reporting an unreachable etcd.
 */
import { ValidationError } from '../errors/errors';
import type { RangeSpec } from './keystore';

/** etcd's default `--max-txn-ops`: the most operations one branch of a transaction may hold. */
export const MAX_TXN_OPS = 128;

/**
 * Throw ValidationError for a transaction etcd would refuse: more than `MAX_TXN_OPS` compares,
 * or operations in either branch.
 */
export function checkTxnSize(compares: number, onSuccess: number, onFailure: number): void {
  if (compares > MAX_TXN_OPS || onSuccess > MAX_TXN_OPS || onFailure > MAX_TXN_OPS) {
    throw new ValidationError(
      `a keystore transaction may hold at most ${MAX_TXN_OPS} compares and ${MAX_TXN_OPS} ` +
        `operations in each branch (this one: ${compares} compares, ${onSuccess} and ` +
        `${onFailure} operations)`,
      { detail: 'etcdserver: too many operations in txn request' },
    );
  }
}

/**
 * Throw ValidationError for a snapshot etcd would refuse: more ranges than one transaction
 * holds, or an empty prefix (etcd answers "key is not provided"; reading everything is not
 * something the read-only calls need).
 */
export function checkSnapshotRanges(ranges: readonly RangeSpec[]): void {
  if (ranges.length > MAX_TXN_OPS) {
    throw new ValidationError(`a keystore snapshot may read at most ${MAX_TXN_OPS} ranges`, {
      detail: 'etcdserver: too many operations in txn request',
    });
  }
  if (ranges.some((range) => range.prefix.length === 0)) {
    throw new ValidationError('a keystore snapshot range needs a non-empty prefix', {
      detail: 'etcdserver: key is not provided',
    });
  }
}
