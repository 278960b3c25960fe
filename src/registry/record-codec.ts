/**
 * Reading and writing records: JSON checked by the record's codec (record-codecs.ts, generated
 * from the zod schemas of model.ts, without zod). A record that does not validate gives a
 * RecordError naming its key and the offending fields, never a crash or a silent skip.
 */
import { RecordError } from '../errors/errors';
import type { RecordCodec } from './record-reading';

/** Decode and validate the JSON stored at `key`. */
export function decodeRecord<T>(codec: RecordCodec<T>, key: string, text: string): T {
  return codec.decode(key, text);
}

/**
 * `decodeRecord`, or undefined for a record that cannot be read: for the owner of a record
 * that rebuilds it instead of failing on it.
 */
export function decodeOrUndefined<T>(
  codec: RecordCodec<T>,
  key: string,
  text: string,
): T | undefined {
  try {
    return codec.decode(key, text);
  } catch (error) {
    if (error instanceof RecordError) return undefined;
    throw error;
  }
}

/** Validate and serialise a record for storage; a ValidationError if others could not read it. */
export function encodeRecord<T>(codec: RecordCodec<T>, value: T): string {
  return codec.encode(value);
}
