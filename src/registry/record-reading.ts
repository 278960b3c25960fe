/**
 * What the generated record codecs (`record-codecs.ts`) call: JSON parsing, and one small check
 * per kind of field, each giving the message that the zod schema of `model.ts` gives for it.
 * No zod here: every CLI call reads and writes records, and loading zod would cost it more than
 * the rest of its work.
 *
 * A record is read the way zod reads it: every field is checked, a problem is noted and reading
 * goes on, and the record is refused with the first three problems in zod's order (a field that
 * is not an object, an array or a map has no fields to check, as in zod). The path of a problem
 * is kept as a stack of the containers being read and joined only when a problem is noted: the
 * loops over hosts and sessions run on every call, in code that is always cold.
 */
import { RecordError, ValidationError } from '../errors/errors';
import { schemaVersionMessage } from './record-patterns';

/** Reads a stored record of one kind from its JSON, and writes one as JSON. */
export interface RecordCodec<T> {
  /** The record stored at `key` as `text`, or a RecordError naming the key and the field. */
  decode(key: string, text: string): T;
  /** `value` as stored: checked as `decode` checks it, so what others cannot read is never written. */
  encode(value: T): string;
}

/** Checks a value that is part of records (its JSON form), as zod's `safeParse` does. */
export interface ValueSchema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: string };
}

export type Json = Record<string, unknown>;

/** Reads one value; problems are named relative to it. */
export type Reader<T> = (value: unknown) => T;

/** A check of a string: one of a pattern, a least or a greatest length, and its message. */
export interface TextCheck {
  regex?: RegExp;
  min?: number;
  max?: number;
  message: string;
}

/** How many problems a refused record lists, as `decodeRecord` did with zod. */
const SHOWN = 3;

/** The problems of the value being read ("path: message"), and where reading is now. */
let problems: string[] = [];
const where: (string | number)[] = [];

/** Thrown to stop reading a value that is not the container its schema wants. */
const SKIP = Symbol('skip');
/** Thrown to stop reading once there are as many problems as a message shows. */
const ENOUGH = Symbol('enough');

function problem(field: string, message: string): void {
  const path = field === '' ? where.join('.') : [...where, field].join('.');
  problems.push(`${path === '' ? '(record)' : path}: ${message}`);
  if (problems.length === SHOWN) throw ENOUGH;
}

/** The problems of `value` read by `read`, or its value: never both. */
function check<T>(value: unknown, read: Reader<T>): { problems: string[]; value: T } {
  problems = [];
  where.length = 0;
  let result: T | undefined;
  try {
    result = read(value);
  } catch (error) {
    if (error !== SKIP && error !== ENOUGH) throw error;
  }
  return { problems, value: result as T };
}

/** A bigint in code is a decimal string in JSON. */
const stored = (_key: string, value: unknown) =>
  typeof value === 'bigint' ? value.toString() : value;

/** The codec of records of `kind` (as model.ts names it), read by `read`. */
export function codec<T>(kind: string, read: Reader<T>): RecordCodec<T> {
  return {
    decode(key, text) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new RecordError(key, 'not valid JSON', { detail: text.slice(0, 200) });
      }
      const result = check(json, read);
      if (result.problems.length) {
        throw new RecordError(key, result.problems.join('; '), { detail: text.slice(0, 500) });
      }
      return result.value;
    },
    encode(value) {
      const result = check(JSON.parse(JSON.stringify(value, stored)), read);
      if (result.problems.length) {
        throw new ValidationError(`not writing a ${kind}: ${result.problems.join('; ')}`);
      }
      // The value as read: fields the schema does not know are left out, as zod's encode does.
      return JSON.stringify(result.value, stored);
    },
  };
}

/** The schema of a value read by `read`. */
export function schema<T>(read: Reader<T>): ValueSchema<T> {
  return {
    safeParse(value) {
      const result = check(value, read);
      return result.problems.length
        ? { success: false, error: result.problems.join('; ') }
        : { success: true, data: result.value };
    },
  };
}

export function version<V extends number>(value: unknown, field: string, expected: V): V {
  if (value !== expected) problem(field, schemaVersionMessage(value, expected));
  return expected;
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The object an object reader reads: if `value` is none, that reader stops (see `nested`). */
export function object(value: unknown, field: string, message: string): Json {
  if (isObject(value)) return value;
  problem(field, message);
  throw SKIP;
}

export function integer(value: unknown, field: string, minimum: number, message: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    problem(field, message);
  } else {
    // zod notes each bound an integer misses: below the safe range is below `minimum` too.
    if (value > Number.MAX_SAFE_INTEGER) problem(field, message);
    if (value < Number.MIN_SAFE_INTEGER) problem(field, message);
    if (value < minimum) problem(field, message);
  }
  return value as number;
}

/** Lengths as zod measures them: code points of a string, `length` of anything else. */
function lengthOf(value: { length: unknown }, bound: number): unknown {
  if (typeof value !== 'string') return value.length;
  // A code point is one or two UTF-16 units: counting them matters only near the bound.
  return value.length >= bound && value.length < 2 * bound ? [...value].length : value.length;
}

export function text(
  value: unknown,
  field: string,
  typeMessage: string,
  checks: readonly TextCheck[],
): string {
  const isText = typeof value === 'string';
  if (!isText) problem(field, typeMessage);
  // As in zod, a length check runs on anything with a length; the others only on a string.
  const lengthy = isText || (value != null && (value as { length?: unknown }).length !== undefined);
  for (const c of checks) {
    if (c.regex !== undefined) {
      if (isText && !c.regex.test(value)) problem(field, c.message);
    } else if (lengthy) {
      const v = value as { length: unknown };
      if (c.min !== undefined && !((lengthOf(v, c.min) as number) >= c.min)) {
        problem(field, c.message);
      }
      if (c.max !== undefined && !((lengthOf(v, c.max + 1) as number) <= c.max)) {
        problem(field, c.message);
      }
    }
  }
  return value as string;
}

/** A byte count: a decimal string that `checks` admit, as a bigint. */
export function bytes(
  value: unknown,
  field: string,
  typeMessage: string,
  checks: readonly TextCheck[],
): bigint {
  const before = problems.length;
  text(value, field, typeMessage, checks);
  return problems.length === before ? BigInt(value as string) : (undefined as never);
}

export function boolean(value: unknown, field: string, message: string): boolean {
  if (typeof value !== 'boolean') problem(field, message);
  return value as boolean;
}

export function oneOf<T extends string>(
  value: unknown,
  field: string,
  values: readonly T[],
  message: string,
): T {
  if (typeof value !== 'string' || !values.includes(value as T)) problem(field, message);
  return value as T;
}

/** The value of `field` read by `read`, its problems named within `field`. */
export function nested<T>(read: Reader<T>, value: unknown, field: string): T {
  where.push(field);
  try {
    return read(value);
  } catch (error) {
    if (error !== SKIP) throw error;
    return undefined as never;
  } finally {
    where.pop();
  }
}

export function list<T>(value: unknown, field: string, each: Reader<T>, message: string): T[] {
  if (!Array.isArray(value)) {
    problem(field, message);
    return value as T[];
  }
  if (field !== '') where.push(field);
  const items: T[] = [];
  // An indexed loop: it runs for every session on every call.
  for (let i = 0; i < value.length; i += 1) {
    where.push(i);
    items.push(nextOf(each, value[i]));
    where.pop();
  }
  if (field !== '') where.pop();
  return items;
}

/** `each` of `value`, or undefined if it is not the container `each` reads. */
function nextOf<T>(each: Reader<T>, value: unknown): T {
  try {
    return each(value);
  } catch (error) {
    if (error !== SKIP) throw error;
    return undefined as never;
  }
}

/**
 * An object used as a map, `each` reading its values: with `key` checking each key (a key
 * that fails is a problem of its own, named by the key), or with `keys` listing the keys it
 * may have, any other being one problem of the map with `keyMessage` after those of its values.
 */
function map<T>(
  value: unknown,
  field: string,
  keys: Reader<string> | readonly string[],
  each: Reader<T>,
  message: string,
  keyMessage?: string,
): Record<string, T> {
  if (!isObject(value)) {
    problem(field, message);
    return value as never;
  }
  if (field !== '') where.push(field);
  const result: Record<string, T> = {};
  let unknownKey = false;
  for (const name of Object.keys(value)) {
    if (name === '__proto__') continue; // zod skips it, as assigning it would set the prototype
    if (Array.isArray(keys) && !keys.includes(name)) {
      unknownKey = true;
      continue;
    }
    where.push(name);
    const before = problems.length;
    if (typeof keys === 'function') keys(name);
    if (problems.length === before) result[name] = nextOf(each, value[name]);
    where.pop();
  }
  if (field !== '') where.pop();
  if (unknownKey) problem(field, keyMessage!);
  return result;
}

export function record<T>(
  value: unknown,
  field: string,
  key: Reader<string>,
  each: Reader<T>,
  message: string,
): Record<string, T> {
  return map(value, field, key, each, message);
}

export function partialRecord<K extends string, T>(
  value: unknown,
  field: string,
  keys: readonly K[],
  each: Reader<T>,
  message: string,
  keyMessage: string,
): Partial<Record<K, T>> {
  return map(value, field, keys, each, message, keyMessage) as Partial<Record<K, T>>;
}
