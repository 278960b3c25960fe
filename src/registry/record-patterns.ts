/**
 * The text patterns of stored names and numbers, with their messages, used by the zod schemas
 * of `model.ts` (from which the zod-free codecs of `record-codecs.ts` are generated), and the
 * message for a record of another schema version, which the generated decoders give too.
 */

/** A named pattern: the regular expression and what to say when a value does not match. */
export interface Pattern {
  regex: RegExp;
  message: string;
}

/** Byte counts are decimal strings in JSON (they can exceed 2^53). */
export const BYTES: Pattern = {
  regex: /^(0|[1-9][0-9]*)$/,
  message: 'must be a whole number of bytes as a decimal string',
};

/** A byte count above zero. */
export const POSITIVE_BYTES: Pattern = {
  regex: /^[1-9][0-9]*$/,
  message: 'must be a positive whole number of bytes as a decimal string',
};

/** Host names (storage hosts and Slurm node names). */
export const HOST_NAME: Pattern = {
  regex: /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/,
  message: 'must be letters, digits, . _ - (max 253)',
};

/** Pool names: safe in etcd keys and in Slurm's JSON. */
export const POOL_NAME: Pattern = {
  regex: /^[A-Za-z][A-Za-z0-9_-]{0,63}$/,
  message: 'must start with a letter; letters, digits, _ - (max 64)',
};

/** Brick device names. */
export const DEVICE_NAME: Pattern = {
  regex: /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
  message: 'must be letters, digits, . _ - (e.g. nvme0n1)',
};

/** A session token: a Slurm job id, or a persistent buffer's name. */
export const TOKEN: Pattern = {
  regex: /^([1-9][0-9]{0,19}|[A-Za-z][A-Za-z0-9_]{0,63})$/,
  message: 'must be a job id or a buffer name',
};

/** The message for a record whose `schemaVersion` is not `expected`. */
export function schemaVersionMessage(input: unknown, expected: number): string {
  return input === undefined
    ? 'schemaVersion is missing (record from an older version?)'
    : `schemaVersion ${String(input)} is not understood by this version (expects ${expected})`;
}
