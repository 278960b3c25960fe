/**
 * The copy engine's error messages, one OS error code at a time: each names the directive, the
 * side, the path as the user wrote it and, where it matters, the uid the stager copies as.
 * stage-copy.test.ts sees a few of them from real copies; most codes need a real disk quota, a
 * read-only mount or the like, so here they are made up.
 */
import { mkdtempSync, rmSync, writeFileSync, type Dirent, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortedError,
  ProviderError,
  StageError,
  StoreUnavailableError,
} from '../../../src/errors/errors';
import { CopyErrors } from '../../../src/pfsprovider/stage/copy-errors';
import { Where } from '../../../src/pfsprovider/stage/copy-where';
import { thrown } from '../../support/rejection';

/** An error as the fs module throws it. */
function osError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: made up, open '/real/path'`), { code });
}

/** `$DW_JOB_STRIPED/out/f` ← `/home/u/in/f`, with real paths elsewhere. */
function where(source = '/real/home/in'): Where {
  return Where.of({
    type: 'directory',
    source,
    destination: '/real/buffer/out',
    request: { type: 'directory', source: '/home/u/in', destination: '$DW_JOB_STRIPED/out' },
  }).child('f');
}

const stageIn = new CopyErrors('in', 1234);
const stageOut = new CopyErrors('out', 1234);

describe('CopyErrors.failure', () => {
  it.each([
    ['ENOENT', 'source', 'stage_in source /home/u/in/f does not exist'],
    [
      'ENOENT',
      'destination',
      'stage_in destination $DW_JOB_STRIPED/out/f cannot be created: a directory on its path does not exist',
    ],
    ['EACCES', 'source', 'stage_in source /home/u/in/f is not readable by uid 1234'],
    [
      'EPERM',
      'destination',
      'stage_in destination $DW_JOB_STRIPED/out/f is not writable by uid 1234',
    ],
    [
      'ENOSPC',
      'destination',
      'the buffer is full (no space left on device) while staging /home/u/in/f to $DW_JOB_STRIPED/out/f',
    ],
    [
      'EDQUOT',
      'destination',
      'the disk quota of uid 1234 is exceeded while staging /home/u/in/f to $DW_JOB_STRIPED/out/f',
    ],
    ['ENOTDIR', 'source', 'stage_in source /home/u/in/f: a part of the path is not a directory'],
    ['EISDIR', 'destination', 'stage_in destination $DW_JOB_STRIPED/out/f is a directory'],
    ['ELOOP', 'source', 'stage_in source /home/u/in/f: too many levels of symbolic links'],
    [
      'ENAMETOOLONG',
      'destination',
      'stage_in destination $DW_JOB_STRIPED/out/f: the path is too long',
    ],
    [
      'EROFS',
      'destination',
      'stage_in destination $DW_JOB_STRIPED/out/f is on a read-only file system',
    ],
    [
      'EFBIG',
      'destination',
      'stage_in destination $DW_JOB_STRIPED/out/f is too large for the destination file system',
    ],
  ] as const)('%s on the %s is a StageError for the job owner', (code, side, message) => {
    const cause = osError(code);
    const error = stageIn.failure(cause, where(), side);
    expect(error).toBeInstanceOf(StageError);
    expect(error.message).toBe(message);
    expect((error as StageError).detail).toBe(String(cause));
    expect(error.cause).toBe(cause);
  });

  it('says the file system, not the buffer, is full when staging out', () => {
    expect(stageOut.failure(osError('ENOSPC'), where(), 'destination').message).toBe(
      'the file system is full (no space left on device) while staging /home/u/in/f to $DW_JOB_STRIPED/out/f',
    );
  });

  it('makes any other code a ProviderError naming the path and the code', () => {
    const cause = osError('EIO');
    const error = stageOut.failure(cause, where(), 'source');
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe('stage_out failed on /home/u/in/f: EIO');
    expect((error as ProviderError).detail).toBe(String(cause));
    expect(stageOut.failure(new Error('no code'), where(), 'destination').message).toBe(
      'stage_out failed on $DW_JOB_STRIPED/out/f: unknown error',
    );
  });

  it('passes our own errors through unchanged', () => {
    const ours = new StoreUnavailableError('etcd is gone');
    expect(stageIn.failure(ours, where(), 'source')).toBe(ours);
  });

  it('maps what onSource and onDestination run as that side, and returns its value', () => {
    expect(stageIn.onSource(where(), () => 42)).toBe(42);
    const denied = (): never => {
      throw osError('EACCES');
    };
    const onSource = thrown(() => stageIn.onSource(where(), denied));
    expect(onSource).toBeInstanceOf(StageError);
    expect(onSource.message).toBe('stage_in source /home/u/in/f is not readable by uid 1234');
    const onDestination = thrown(() => stageIn.onDestination(where(), denied));
    expect(onDestination).toBeInstanceOf(StageError);
    expect(onDestination.message).toBe(
      'stage_in destination $DW_JOB_STRIPED/out/f is not writable by uid 1234',
    );
  });
});

describe('CopyErrors.copyFailure', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dac-copy-errors-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('blames the source when the source cannot be read', () => {
    const error = stageIn.copyFailure(osError('EIO'), where(join(dir, 'missing')));
    expect(error.message).toBe('stage_in source /home/u/in/f does not exist');
  });

  it('blames the destination when the source can be read', () => {
    writeFileSync(join(dir, 'f'), 'x');
    const error = stageIn.copyFailure(osError('EACCES'), where(dir));
    expect(error.message).toBe(
      'stage_in destination $DW_JOB_STRIPED/out/f is not writable by uid 1234',
    );
  });

  it.each(['ENOSPC', 'EDQUOT', 'EFBIG'])(
    'blames the destination for %s without looking at the source',
    (code) => {
      const error = stageIn.copyFailure(osError(code), where(join(dir, 'missing')));
      expect(error.message).not.toContain('does not exist');
      expect(error.message).toContain('$DW_JOB_STRIPED/out/f');
    },
  );
});

describe('CopyErrors.unsupportedType', () => {
  /** A Dirent or Stats of one file type. */
  function entry(type: 'fifo' | 'socket' | 'block' | 'char' | 'other'): Dirent {
    return {
      isFIFO: () => type === 'fifo',
      isSocket: () => type === 'socket',
      isBlockDevice: () => type === 'block',
      isCharacterDevice: () => type === 'char',
    } as Dirent;
  }

  it.each([
    ['fifo', 'a named pipe'],
    ['socket', 'a socket'],
    ['block', 'a device'],
    ['char', 'a device'],
    ['other', 'not a regular file'],
  ] as const)('names a %s as %s', (type, kind) => {
    const error = stageOut.unsupportedType(where(), entry(type) as Dirent & Stats);
    expect(error).toBeInstanceOf(StageError);
    expect(error.message).toBe(
      `stage_out source /home/u/in/f is ${kind}; only regular files, directories and symbolic links can be staged`,
    );
  });
});

it('aborted() is an AbortedError naming the directive', () => {
  expect(stageOut.aborted()).toEqual(new AbortedError('stage_out was cancelled'));
  expect(stageOut.aborted()).toBeInstanceOf(AbortedError);
});
