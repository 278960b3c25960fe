/**
 * The JSON answers Slurm's burst_buffer/datawarp plugin parses (slurm-contract §3): one
 * top-level key whose value is an array of objects, integers as JSON integers, no apostrophes.
 */
import { DacError, StoreUnavailableError } from '../errors/errors';
import type { PoolView } from '../registry/inventory';

/** A byte count as a JSON integer; refuses values a double cannot hold exactly. */
export function jsonInteger(value: bigint | number, what: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0) {
    throw new InvalidAnswerError(
      `${what} (${String(value)}) cannot be given to Slurm as an integer`,
    );
  }
  return number;
}

/** An answer we refuse to print because Slurm would misread it. */
export class InvalidAnswerError extends DacError {
  readonly code = 'E_INVALID_ANSWER';
  readonly kind = 'fatal';
}

/** Serialise, and make sure no apostrophe reaches Slurm (it rewrites every `'` into `"`). */
export function slurmJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text.includes("'")) throw new InvalidAnswerError('answer contains an apostrophe');
  return text;
}

/** `{"pools": [...]}`; fails rather than print zero pools (Slurm would mark the plugin down). */
export function poolsAnswer(views: PoolView[], endpoints: string): string {
  if (views.length === 0) {
    throw new StoreUnavailableError(
      `no burst buffer pools are registered in etcd at ${endpoints}; start dacd on the storage hosts`,
    );
  }
  return slurmJson({
    pools: views.map((view) => ({
      id: view.name,
      units: 'bytes',
      granularity: jsonInteger(view.granularityBytes, `granularity of pool ${view.name}`),
      quantity: view.quantity,
      free: Math.min(view.free, view.quantity),
    })),
  });
}
