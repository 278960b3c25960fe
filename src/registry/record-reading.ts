/**
 * What the generated record decoders (`slurm-records.ts`) call: JSON parsing, the schema
 * version check, and one small check per kind of field, each throwing the message that the
 * zod schema of `model.ts` gives for it. No zod here: these run in the read-only Slurm calls,
 * where loading zod would cost more than the rest of the call.
 *
 * Paths are built only when a check fails: a reader names fields relative to the value it
 * reads, and `nested`, `list` and `record` put the outer path in front of a problem on its
 * way out. The loops over hosts and sessions run on every call, in code that is always cold.
 */
import { RecordError } from '../errors/errors';
import { schemaVersionMessage } from './record-patterns';

/** A field that does not pass: its dotted path (relative while it is on its way out) and why. */
export class FieldProblem {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {}
}

export type Json = Record<string, unknown>;

/** Reads one value; a problem names paths relative to the value. */
export type Reader<T> = (value: unknown) => T;

function within(error: unknown, path: string): never {
  if (!(error instanceof FieldProblem)) throw error;
  throw new FieldProblem(error.path === '' ? path : `${path}.${error.path}`, error.problem);
}

export function object(value: unknown, path: string, message: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FieldProblem(path, message);
  }
  return value as Json;
}

export function integer(value: unknown, path: string, minimum: number, message: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < minimum) {
    throw new FieldProblem(path, message);
  }
  return value as number;
}

export function text(
  value: unknown,
  path: string,
  pattern: RegExp,
  typeMessage: string,
  message: string,
): string {
  if (typeof value !== 'string') throw new FieldProblem(path, typeMessage);
  if (!pattern.test(value)) throw new FieldProblem(path, message);
  return value;
}

/** A byte count: a decimal string that `pattern` admits, as a bigint. */
export function bytes(
  value: unknown,
  path: string,
  pattern: RegExp,
  typeMessage: string,
  message: string,
): bigint {
  return BigInt(text(value, path, pattern, typeMessage, message));
}

export function boolean(value: unknown, path: string, message: string): boolean {
  if (typeof value !== 'boolean') throw new FieldProblem(path, message);
  return value;
}

export function oneOf<T extends string>(
  value: unknown,
  path: string,
  values: readonly T[],
  message: string,
): T {
  if (typeof value !== 'string' || !values.includes(value as T)) {
    throw new FieldProblem(path, message);
  }
  return value as T;
}

/** The value at `path` read by `read`, with `path` put in front of any problem. */
export function nested<T>(read: Reader<T>, value: unknown, path: string): T {
  try {
    return read(value);
  } catch (error) {
    within(error, path);
  }
}

export function list<T>(value: unknown, path: string, each: Reader<T>, message: string): T[] {
  if (!Array.isArray(value)) throw new FieldProblem(path, message);
  const items: T[] = [];
  // An indexed loop, and one try for all of it: it runs for every session on every call.
  let i = 0;
  try {
    for (; i < value.length; i += 1) items.push(each(value[i]));
  } catch (error) {
    within(error, `${path}.${i}`);
  }
  return items;
}

/** An object used as a map: each key checked by `key`, each value read by `each`. */
export function record<T>(
  value: unknown,
  path: string,
  key: Reader<string>,
  each: Reader<T>,
  message: string,
): Record<string, T> {
  const stored = object(value, path, message);
  const result: Record<string, T> = {};
  const names = Object.keys(stored);
  for (let i = 0; i < names.length; i += 1) {
    const name = names[i]!;
    try {
      key(name);
      result[name] = each(stored[name]);
    } catch (error) {
      within(error, `${path}.${name}`);
    }
  }
  return result;
}

/**
 * Parse the JSON stored at `key`, check its schema version, and read it with `read`; a
 * problem becomes the RecordError that `decodeRecord` (record-codec.ts) would give.
 */
export function decode<T>(
  key: string,
  value: string,
  version: number,
  message: string,
  read: (r: Json) => T,
): T {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    throw new RecordError(key, 'not valid JSON', { detail: value.slice(0, 200) });
  }
  try {
    const stored = object(json, '(record)', message);
    if (stored.schemaVersion !== version) {
      throw new FieldProblem('schemaVersion', schemaVersionMessage(stored.schemaVersion, version));
    }
    return read(stored);
  } catch (error) {
    if (!(error instanceof FieldProblem)) throw error;
    throw new RecordError(key, `${error.path}: ${error.problem}`, { detail: value.slice(0, 500) });
  }
}
