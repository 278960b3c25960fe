/**
 * The JSON answers Slurm's burst_buffer/datawarp plugin parses (slurm-contract §3): one
 * top-level key whose value is an array of objects, integers as JSON integers, no apostrophes.
 */
import { DacError, StoreUnavailableError } from '../errors/errors';
import type { SessionSummary } from '../registry/model';
import type { PoolView } from '../registry/pool-view';

/**
 * A count as a JSON integer; refuses values a double cannot hold exactly, naming them as
 * `<what> <of>` ("id of session 1234"). The name is built only for the error: the answers
 * check thousands of values per call.
 */
export function jsonInteger(value: bigint | number, what: string, of: string | number): number {
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(number) || number < 0) {
    throw new InvalidAnswerError(
      `${what} ${of} (${String(value)}) cannot be given to Slurm as an integer`,
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
      granularity: jsonInteger(view.granularityBytes, 'granularity of pool', view.name),
      quantity: view.quantity,
      free: Math.min(view.free, view.quantity),
    })),
  });
}

/**
 * `{"sessions": [...]}`: every session, zero-size ones included (Slurm purges a buffer missing
 * from this list for 60 s). The token is always a string: Slurm ignores a numeric one.
 */
export function sessionsAnswer(sessions: readonly SessionSummary[]): string {
  return slurmJson({
    sessions: sessions.map((session) => ({
      id: jsonInteger(session.id, 'id of session', session.token),
      token: String(session.token),
      owner: jsonInteger(session.uid, 'owner of session', session.token),
      created: jsonInteger(session.createdAt, 'creation time of session', session.token),
    })),
  });
}

/**
 * `{"instances": [...]}`: one instance per session that holds bricks, linked by the session's
 * integer id. Slurm sizes a buffer it adopts from these, so a zero-size session has none.
 */
export function instancesAnswer(sessions: readonly SessionSummary[]): string {
  return slurmJson({
    instances: sessions
      .filter((session) => session.bytes > 0n)
      .map((session) => {
        const id = jsonInteger(session.id, 'id of session', session.token);
        return {
          id,
          capacity: {
            bytes: jsonInteger(session.bytes, 'size of session', session.token),
            nodes: session.nodes,
          },
          links: { session: id },
        };
      }),
  });
}

/** `{"token": ..., "capacity": <bytes>, "units": "bytes"}`: the size `real_size` reports. */
export function realSizeAnswer(session: SessionSummary): string {
  return slurmJson({
    token: String(session.token),
    capacity: jsonInteger(session.bytes, 'size of session', session.token),
    units: 'bytes',
  });
}
