/**
 * The capacity arguments Slurm passes to the CLI (contract §2, §5.4):
 * `setup --capacity <pool>:<size>` (Slurm's own size format, any unit, `0`, or `<n>N`), and
 * `create_persistent -C <pool>:<bytes>` (a raw integer, already rounded to the granularity).
 */
import { echo } from './issues';
import { checkPoolName } from './names';
import { parseSize, type ParsedSize } from './size';

/** A parsed `setup --capacity` value. */
export interface CapacityArg {
  pool: string;
  /** `{kind:'bytes', bytes: 0n}` means the job has no job buffer. */
  size: ParsedSize;
}

/** A parsed `create_persistent -C` value. */
export interface PersistentCapacityArg {
  pool: string;
  bytes: bigint;
}

/** The result of parsing a CLI capacity argument: a value, or a one-line message. */
export type CapacityArgResult<T> = { ok: true; value: T } | { ok: false; message: string };

/** Split `<pool>:<rest>` where the pool must be valid and exactly one `:` is present. */
function splitPool(text: string): CapacityArgResult<{ pool: string; rest: string }> {
  const colon = text.indexOf(':');
  if (colon < 0) {
    return { ok: false, message: `capacity "${echo(text)}" is not of the form <pool>:<size>` };
  }
  const pool = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (rest.includes(':')) {
    return {
      ok: false,
      message: `capacity "${echo(text)}" has more than one ":"; pool names cannot contain ":"`,
    };
  }
  const poolCheck = checkPoolName(pool);
  if (!poolCheck.ok)
    return { ok: false, message: `capacity "${echo(text)}": ${poolCheck.message}` };
  return { ok: true, value: { pool, rest } };
}

/**
 * Parse `setup --capacity <pool>:<size>` in every form Slurm emits: `wlm_pool:2GiB`,
 * `alt_pool:1040MiB`, `wlm_pool:0`, `p:4N`, raw bytes, and any unit from PiB down to KB.
 */
export function parseCapacityArg(text: string): CapacityArgResult<CapacityArg> {
  const split = splitPool(text);
  if (!split.ok) return split;
  const size = parseSize(split.value.rest, { allowZero: true });
  if (!size.ok) return { ok: false, message: `capacity "${echo(text)}": ${size.message}` };
  return { ok: true, value: { pool: split.value.pool, size: size.value } };
}

/** Parse `create_persistent -C <pool>:<bytes>`: a raw integer byte count greater than 0. */
export function parsePersistentCapacityArg(text: string): CapacityArgResult<PersistentCapacityArg> {
  const split = splitPool(text);
  if (!split.ok) return split;
  if (!/^\d+$/.test(split.value.rest)) {
    return {
      ok: false,
      message: `capacity "${echo(text)}": expected <pool>:<bytes> with a whole number of bytes`,
    };
  }
  // Digits alone always parse as bytes; only zero and overflow can fail here.
  const size = parseSize(split.value.rest);
  if (!size.ok) return { ok: false, message: `capacity "${echo(text)}": ${size.message}` };
  const bytes = size.value.kind === 'bytes' ? size.value.bytes : 0n;
  return { ok: true, value: { pool: split.value.pool, bytes } };
}
