/**
 * Stage paths (`source=`, `destination=`). One side is an absolute file-system path, the other
 * is in the burst buffer, written `$DW_JOB_STRIPED/...` or `$DW_PERSISTENT_STRIPED_<name>/...`;
 * we expand those ourselves later, so anything a shell would interpret is refused here.
 */
import type { CheckResult } from './issues';
import type { BufferRef } from './types';

/** Where a stage path points. */
export type StagePathSide = { side: 'filesystem' } | { side: 'buffer'; buffer: BufferRef };

/** Linux PATH_MAX, in UTF-8 bytes. */
export const MAX_STAGE_PATH_BYTES = 4096;

const CONTROL = /\p{Cc}/u;
const METACHARACTERS = [';', '&', '|', '`', '$(', '<', '>'] as const;
const JOB_STRIPED = /^\$DW_JOB_STRIPED(?:\/|$)/;
const PERSISTENT_STRIPED = /^\$DW_PERSISTENT_STRIPED_([A-Za-z0-9_]+)(?:\/|$)/;
const BUFFER_HINT = '$DW_JOB_STRIPED or $DW_PERSISTENT_STRIPED_<name>';

/** Which code {@link classifyStagePath} reports. */
export type StagePathCode = 'unsafe_path' | 'path_escape' | 'relative_path' | 'bad_path';

/**
 * Check one stage path and say which side it is on. `%` symbols and UTF-8 are allowed;
 * control characters, shell metacharacters and `..` segments are not.
 */
export function classifyStagePath(path: string): CheckResult<StagePathSide, StagePathCode> {
  if (CONTROL.test(path)) {
    return {
      ok: false,
      code: 'unsafe_path',
      message: 'control characters are not allowed in paths',
    };
  }
  const meta = METACHARACTERS.find((symbol) => path.includes(symbol));
  if (meta !== undefined) {
    return {
      ok: false,
      code: 'unsafe_path',
      message: `the shell character "${meta}" is not allowed in paths`,
    };
  }
  if (path.split('/').includes('..')) {
    return { ok: false, code: 'path_escape', message: '".." is not allowed in paths' };
  }
  if (Buffer.byteLength(path, 'utf8') > MAX_STAGE_PATH_BYTES) {
    return {
      ok: false,
      code: 'bad_path',
      message: `paths are limited to ${MAX_STAGE_PATH_BYTES} bytes`,
    };
  }
  if (path.startsWith('/')) return { ok: true, value: { side: 'filesystem' } };
  if (JOB_STRIPED.test(path)) {
    return { ok: true, value: { side: 'buffer', buffer: { kind: 'job' } } };
  }
  const persistent = PERSISTENT_STRIPED.exec(path);
  if (persistent?.[1] !== undefined && /^[A-Za-z]/.test(persistent[1])) {
    return {
      ok: true,
      value: { side: 'buffer', buffer: { kind: 'persistent', name: persistent[1] } },
    };
  }
  if (path.startsWith('$')) {
    return {
      ok: false,
      code: 'bad_path',
      message: `only ${BUFFER_HINT} can be used as variables in paths`,
    };
  }
  return {
    ok: false,
    code: 'relative_path',
    message: `relative paths are not allowed; use an absolute path or one starting with ${BUFFER_HINT}`,
  };
}

/** The buffer-side hint for messages. */
export const STAGE_BUFFER_HINT = BUFFER_HINT;
