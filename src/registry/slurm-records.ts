/**
 * Decoders of the few record fields the read-only Slurm calls use (`pools`, `show_sessions`,
 * `show_instances`, `real_size`, `paths`, `job_process`), without zod.
 *
 * Those calls run every 30 s or inside slurmctld's scheduler, where loading zod (about 70 ms)
 * would cost more than the rest of the call. They check exactly the fields they report, with
 * the same patterns and messages as the zod schemas of `model.ts` (shared through
 * `record-patterns.ts`), and a record that does not pass gives the same `RecordError`
 * naming its key and field. The unit tests compare both decoders on the same records.
 */
import { RecordError } from '../errors/errors';
import type {
  AccessMode,
  BrickRef,
  HostUsageRecord,
  PoolRecord,
  SessionRecord,
  SessionSummary,
} from './model';
import {
  BYTES,
  DEVICE_NAME,
  HOST_NAME,
  POOL_NAME,
  TOKEN,
  schemaVersionMessage,
  type Pattern,
} from './record-patterns';

/** The record format these decoders read (model.ts's SCHEMA_VERSION, which loads zod). */
const SCHEMA_VERSION = 1;

/** What the Slurm calls use of a session. */
export type SlurmSession = Pick<
  SessionRecord,
  | 'id'
  | 'token'
  | 'kind'
  | 'owner'
  | 'createdAt'
  | 'granularityBytes'
  | 'accessMode'
  | 'persistentAttachments'
  | 'bricks'
  | 'computeHosts'
>;

/** What `pools` and `job_process` use of a pool record. */
export type SlurmPool = Pick<PoolRecord, 'name' | 'granularityBytes'>;

/** A field that does not pass: its dotted path and the problem. */
class FieldProblem {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {}
}

type Json = Record<string, unknown>;

function object(value: unknown, path: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FieldProblem(path, 'must be an object');
  }
  return value as Json;
}

function integer(record: Json, path: string, field: string, minimum: number): number {
  const value = record[field];
  if (!Number.isSafeInteger(value) || (value as number) < minimum) {
    throw new FieldProblem(
      path + field,
      minimum > 0 ? 'must be a positive integer' : 'must be a non-negative integer',
    );
  }
  return value as number;
}

function text(value: unknown, path: string, pattern: Pattern): string {
  if (typeof value !== 'string') throw new FieldProblem(path, 'must be a string');
  if (!pattern.regex.test(value)) throw new FieldProblem(path, pattern.message);
  return value;
}

function bytes(record: Json, field: string): bigint {
  return BigInt(text(record[field], field, BYTES));
}

function list<T>(record: Json, field: string, each: (value: unknown, path: string) => T): T[] {
  const value = record[field];
  if (!Array.isArray(value)) throw new FieldProblem(field, 'must be an array');
  return value.map((item, index) => each(item, `${field}.${index}`));
}

function oneOf<T extends string>(record: Json, field: string, values: readonly T[]): T {
  const value = record[field];
  if (typeof value !== 'string' || !values.includes(value as T)) {
    throw new FieldProblem(field, `must be one of ${values.map((v) => `"${v}"`).join(', ')}`);
  }
  return value as T;
}

/**
 * Rethrow a problem found inside the value at `path` with its path made whole; anything else
 * as it is. Callers build `path` only here, when there is a problem: the loops that read each
 * host or session run on every call, in code that is always cold.
 */
function nestedProblem(error: unknown, path: string): never {
  if (!(error instanceof FieldProblem)) throw error;
  throw new FieldProblem(error.path === '' ? path : `${path}.${error.path}`, error.problem);
}

/** Parse the JSON at `key`, check its schema version, and read it with `read`. */
function decode<T>(key: string, value: string, read: (record: Json) => T): T {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    throw new RecordError(key, 'not valid JSON', { detail: value.slice(0, 200) });
  }
  try {
    const record = object(json, '(record)');
    if (record.schemaVersion !== SCHEMA_VERSION) {
      throw new FieldProblem(
        'schemaVersion',
        schemaVersionMessage(record.schemaVersion, SCHEMA_VERSION),
      );
    }
    return read(record);
  } catch (error) {
    if (!(error instanceof FieldProblem)) throw error;
    const problem = `${error.path}: ${error.problem}`;
    throw new RecordError(key, problem, { detail: value.slice(0, 500) });
  }
}

const ACCESS_MODES: readonly AccessMode[] = ['striped', 'private', 'striped,private'];

function brick(value: unknown, path: string): BrickRef {
  const item = object(value, path);
  return {
    host: text(item.host, `${path}.host`, HOST_NAME),
    device: text(item.device, `${path}.device`, DEVICE_NAME),
  };
}

/** The Slurm-facing fields of the session record stored at `key`. */
export function decodeSlurmSession(key: string, value: string): SlurmSession {
  return decode(key, value, (record) => {
    const owner = object(record.owner, 'owner');
    return {
      id: integer(record, '', 'id', 1),
      token: text(record.token, 'token', TOKEN),
      kind: oneOf(record, 'kind', ['job', 'persistent'] as const),
      owner: { uid: integer(owner, 'owner.', 'uid', 0), gid: integer(owner, 'owner.', 'gid', 0) },
      createdAt: integer(record, '', 'createdAt', 0),
      granularityBytes: bytes(record, 'granularityBytes'),
      accessMode: oneOf(record, 'accessMode', ACCESS_MODES),
      persistentAttachments: list(record, 'persistentAttachments', (v, p) => text(v, p, TOKEN)),
      bricks: list(record, 'bricks', brick),
      computeHosts: list(record, 'computeHosts', (v, p) => text(v, p, HOST_NAME)),
    };
  });
}

/** The name and granularity of the pool record stored at `key`. */
export function decodeSlurmPool(key: string, value: string): SlurmPool {
  return decode(key, value, (record) => {
    const granularityBytes = bytes(record, 'granularityBytes');
    if (granularityBytes <= 0n) throw new FieldProblem('granularityBytes', 'must be positive');
    return { name: text(record.name, 'name', POOL_NAME), granularityBytes };
  });
}

/** The usage record of a host stored at `key`. */
export function decodeHostUsage(key: string, value: string): HostUsageRecord {
  return decode(key, value, (record) => {
    const host = text(record.host, 'host', HOST_NAME);
    if (typeof record.enabled !== 'boolean') throw new FieldProblem('enabled', 'must be a boolean');
    const pools: HostUsageRecord['pools'] = {};
    const stored = object(record.pools, 'pools');
    const names = Object.keys(stored);
    for (let i = 0; i < names.length; i += 1) {
      const name = names[i]!;
      text(name, 'pools', POOL_NAME);
      try {
        const usage = object(stored[name], '');
        pools[name] = {
          bricks: integer(usage, '', 'bricks', 0),
          allocated: integer(usage, '', 'allocated', 0),
        };
      } catch (error) {
        nestedProblem(error, `pools.${name}`);
      }
    }
    return { schemaVersion: SCHEMA_VERSION, host, enabled: record.enabled, pools };
  });
}

/** One summary of a bucket; a problem's path is relative to it. */
function summary(value: unknown): SessionSummary {
  const record = object(value, '');
  return {
    id: integer(record, '', 'id', 1),
    token: text(record.token, 'token', TOKEN),
    uid: integer(record, '', 'uid', 0),
    createdAt: integer(record, '', 'createdAt', 0),
    bytes: bytes(record, 'bytes'),
    nodes: integer(record, '', 'nodes', 0),
  };
}

/** The session summaries of the bucket stored at `key`, in stored order. */
export function decodeSummaryBucket(key: string, value: string): SessionSummary[] {
  return decode(key, value, (record) => {
    const stored = record.summaries;
    if (!Array.isArray(stored)) throw new FieldProblem('summaries', 'must be an array');
    const summaries: SessionSummary[] = [];
    // An indexed loop: it runs for every session on every show_* call.
    for (let i = 0; i < stored.length; i += 1) {
      try {
        summaries.push(summary(stored[i]));
      } catch (error) {
        nestedProblem(error, `summaries.${i}`);
      }
    }
    return summaries;
  });
}
