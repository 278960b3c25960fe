/**
 * The enumerated option values: `access_mode`, buffer `type`, and stage `type`. Unknown values
 * are rejected, never defaulted (data-acc turned an unknown access mode into "no access").
 */
import type { CheckResult } from './issues';
import type { AccessMode, BufferType, StageType } from './types';

/** Parse an access mode: `striped`, `private`, or both as `striped,private` in either order. */
export function parseAccessMode(
  value: string,
): CheckResult<AccessMode, 'bad_value' | 'not_implemented'> {
  switch (value) {
    case 'striped':
    case 'private':
      return { ok: true, value };
    case 'striped,private':
    case 'private,striped':
      return { ok: true, value: 'striped,private' };
  }
  if (value.split(',').includes('ldbalance')) {
    return {
      ok: false,
      code: 'not_implemented',
      message:
        'the ldbalance access mode is not supported; use striped, private or striped,private',
    };
  }
  return { ok: false, code: 'bad_value', message: 'use striped, private or striped,private' };
}

/** Parse a buffer type: only `scratch` is implemented. */
export function parseBufferType(
  value: string,
): CheckResult<BufferType, 'bad_value' | 'not_implemented'> {
  if (value === 'scratch') return { ok: true, value };
  if (value === 'cache') {
    return {
      ok: false,
      code: 'not_implemented',
      message: 'cache buffers are not supported; use type=scratch',
    };
  }
  return { ok: false, code: 'bad_value', message: 'the only buffer type is scratch' };
}

/** Parse a stage type: `file`, `directory` or `list`. */
export function parseStageType(value: string): CheckResult<StageType, 'bad_value'> {
  if (value === 'file' || value === 'directory' || value === 'list') return { ok: true, value };
  return { ok: false, code: 'bad_value', message: 'use type=file, type=directory or type=list' };
}
