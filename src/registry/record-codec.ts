/**
 * Reading and writing records: JSON plus schema validation. A record that does not validate
 * gives a RecordError naming its key and the offending field, never a crash or a silent skip.
 */
import type { z } from 'zod';
import { RecordError } from '../errors/errors';

/** Decode and validate the JSON stored at `key`. */
export function decodeRecord<S extends z.ZodType>(
  schema: S,
  key: string,
  text: string,
): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RecordError(key, 'not valid JSON', { detail: text.slice(0, 200) });
  }
  const result = schema.safeDecode(json as z.input<S>);
  if (!result.success) {
    const problems = result.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.length ? issue.path.join('.') : '(record)'}: ${issue.message}`)
      .join('; ');
    throw new RecordError(key, problems, { detail: text.slice(0, 500) });
  }
  return result.data;
}

/**
 * `decodeRecord`, or undefined for a record that cannot be read: for the owner of a record
 * that rebuilds it instead of failing on it.
 */
export function decodeOrUndefined<S extends z.ZodType>(
  schema: S,
  key: string,
  text: string,
): z.output<S> | undefined {
  try {
    return decodeRecord(schema, key, text);
  } catch (error) {
    if (error instanceof RecordError) return undefined;
    throw error;
  }
}

/** Validate and serialise a record for storage. */
export function encodeRecord<S extends z.ZodType>(schema: S, value: z.output<S>): string {
  return JSON.stringify(schema.encode(value));
}
