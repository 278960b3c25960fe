/**
 * Names users write in directives. A persistent buffer's name becomes part of an environment
 * variable (`DW_PERSISTENT_STRIPED_<name>`) and a Slurm token, so it is kept to a safe alphabet.
 * A pool name travels inside `--capacity <pool>:<size>`, so it must never contain `:`.
 */
import type { CheckResult } from './issues';

/** Longest persistent buffer name accepted. */
export const MAX_PERSISTENT_NAME_LENGTH = 64;

const PERSISTENT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const NON_ASCII = /\P{ASCII}/u;
const POOL_NAME_FORBIDDEN = /[\s:\p{Cc}]/u;

/** Check a persistent buffer name: `^[A-Za-z][A-Za-z0-9_]*$`, at most 64 characters. */
export function checkPersistentName(name: string): CheckResult<string, 'bad_name'> {
  const fail = (message: string): CheckResult<string, 'bad_name'> => ({
    ok: false,
    code: 'bad_name',
    message,
  });
  if (name === '') return fail('the name is empty');
  if (name.length > MAX_PERSISTENT_NAME_LENGTH) {
    return fail(`names are limited to ${MAX_PERSISTENT_NAME_LENGTH} characters`);
  }
  if (NON_ASCII.test(name)) {
    return fail('names may use only ASCII letters, digits and _');
  }
  if (!/^[A-Za-z]/.test(name)) return fail('names must start with a letter');
  if (!PERSISTENT_NAME.test(name)) return fail('names may use only letters, digits and _');
  return { ok: true, value: name };
}

/** Check a pool name: not empty, and no `:`, whitespace or control characters. */
export function checkPoolName(name: string): CheckResult<string, 'bad_name'> {
  if (name === '') return { ok: false, code: 'bad_name', message: 'the pool name is empty' };
  if (name.includes(':')) {
    return { ok: false, code: 'bad_name', message: 'pool names cannot contain ":"' };
  }
  if (POOL_NAME_FORBIDDEN.test(name)) {
    return {
      ok: false,
      code: 'bad_name',
      message: 'pool names cannot contain spaces or control characters',
    };
  }
  return { ok: true, value: name };
}
