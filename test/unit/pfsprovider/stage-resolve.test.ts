import { StageError } from '../../../src/errors/errors';
import type { StageRequest } from '../../../src/registry/model';
import {
  parseStageList,
  resolveStagePath,
  resolveTransfers,
} from '../../../src/pfsprovider/stage/resolve';

const ROOTS = {
  DW_JOB_STRIPED: '/bricks/host1/nvme0/1234/striped',
  DW_PERSISTENT_STRIPED_shared: '/mnt/dw/persistent/shared/striped',
};

/** The StageError `run` throws (fails the test if it throws nothing or something else). */
function stageError(run: () => unknown): StageError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(StageError);
    return error as StageError;
  }
  throw new Error('expected a StageError');
}

describe('resolveStagePath', () => {
  it.each([
    ['$DW_JOB_STRIPED/input/data.bin', '/bricks/host1/nvme0/1234/striped/input/data.bin'],
    ['$DW_JOB_STRIPED', '/bricks/host1/nvme0/1234/striped'],
    ['$DW_JOB_STRIPED/', '/bricks/host1/nvme0/1234/striped'],
    ['$DW_JOB_STRIPED//a///b/', '/bricks/host1/nvme0/1234/striped/a/b'],
    ['$DW_JOB_STRIPED/./a/./b', '/bricks/host1/nvme0/1234/striped/a/b'],
    ['$DW_PERSISTENT_STRIPED_shared/x', '/mnt/dw/persistent/shared/striped/x'],
    ['$DW_JOB_STRIPED/100%/ünïcode', '/bricks/host1/nvme0/1234/striped/100%/ünïcode'],
  ])('substitutes the buffer in %s', (written, path) => {
    expect(resolveStagePath(written, ROOTS)).toEqual({ side: 'buffer', path });
  });

  it.each([
    ['/home/alice/input', '/home/alice/input'],
    ['/home/alice/input/', '/home/alice/input'],
    ['//home//alice/./input', '/home/alice/input'],
    ['/', '/'],
  ])('normalises the file-system path %s', (written, path) => {
    expect(resolveStagePath(written, ROOTS)).toEqual({ side: 'filesystem', path });
  });

  it('tolerates a root with a trailing slash', () => {
    expect(resolveStagePath('$DW_JOB_STRIPED/a', { DW_JOB_STRIPED: '/buffer/' })).toEqual({
      side: 'buffer',
      path: '/buffer/a',
    });
  });

  it.each([
    ['$DW_PERSISTENT_STRIPED_other/x', '$DW_PERSISTENT_STRIPED_other is not a buffer of this job'],
    ['$DW_JOB_STRIPED/x', '$DW_JOB_STRIPED is not a buffer of this job'],
  ])('refuses %s when that buffer is not in the roots', (written, reason) => {
    const roots = { DW_PERSISTENT_STRIPED_shared: ROOTS.DW_PERSISTENT_STRIPED_shared };
    expect(stageError(() => resolveStagePath(written, roots)).message).toBe(
      `stage path ${written}: ${reason}`,
    );
  });

  it.each([
    ['/home/alice/../bob/secret', '".." is not allowed in paths'],
    ['$DW_JOB_STRIPED/../../etc', '".." is not allowed in paths'],
    ['/home/alice/..', '".." is not allowed in paths'],
    ['/data/$(id)', 'the shell character "$(" is not allowed in paths'],
    ['/data/a;rm -rf', 'the shell character ";" is not allowed in paths'],
    ['/data/a|b', 'the shell character "|" is not allowed in paths'],
    ['/data/`id`', 'the shell character "`" is not allowed in paths'],
    ['/data/a>b', 'the shell character ">" is not allowed in paths'],
    ['/data/a\nb', 'control characters are not allowed in paths'],
    ['relative/path', 'relative paths are not allowed'],
    ['$HOME/data', 'only $DW_JOB_STRIPED or $DW_PERSISTENT_STRIPED_<name> can be used'],
    ['$DW_JOB_STRIPEDX/a', 'only $DW_JOB_STRIPED or $DW_PERSISTENT_STRIPED_<name> can be used'],
  ])('refuses %j, naming it and saying why', (written, reason) => {
    const message = stageError(() => resolveStagePath(written, ROOTS)).message;
    expect(message).toContain(`stage path ${written}: `);
    expect(message).toContain(reason);
  });
});

describe('resolveTransfers', () => {
  const request = (source: string, destination: string, type: StageRequest['type'] = 'file') => ({
    source,
    destination,
    type,
  });

  it('resolves stage_in requests: file system to buffer', () => {
    const requests = [
      request('/home/alice/in.dat', '$DW_JOB_STRIPED/in.dat'),
      request('/home/alice/tree/', '$DW_PERSISTENT_STRIPED_shared/tree', 'directory'),
    ];
    expect(resolveTransfers(requests, 'in', ROOTS)).toEqual([
      {
        request: requests[0],
        source: '/home/alice/in.dat',
        destination: '/bricks/host1/nvme0/1234/striped/in.dat',
        type: 'file',
      },
      {
        request: requests[1],
        source: '/home/alice/tree',
        destination: '/mnt/dw/persistent/shared/striped/tree',
        type: 'directory',
      },
    ]);
  });

  it('resolves stage_out requests: buffer to file system', () => {
    const requests = [request('$DW_JOB_STRIPED/out/', '/home/alice/results', 'directory')];
    expect(resolveTransfers(requests, 'out', ROOTS)).toEqual([
      {
        request: requests[0],
        source: '/bricks/host1/nvme0/1234/striped/out',
        destination: '/home/alice/results',
        type: 'directory',
      },
    ]);
  });

  it.each([
    [
      'in',
      request('$DW_JOB_STRIPED/a', '$DW_JOB_STRIPED/b'),
      'stage_in source $DW_JOB_STRIPED/a must be an absolute path outside the burst buffer',
    ],
    [
      'in',
      request('/home/a', '/home/b'),
      'stage_in destination /home/b must be in the burst buffer',
    ],
    ['out', request('/home/a', '/home/b'), 'stage_out source /home/a must be in the burst buffer'],
    [
      'out',
      request('$DW_JOB_STRIPED/a', '$DW_JOB_STRIPED/b', 'directory'),
      'stage_out destination $DW_JOB_STRIPED/b must be an absolute path outside the burst buffer',
    ],
    [
      'in',
      request('/home/a', '/home/list-dest', 'list'),
      'stage_in destination /home/list-dest must be in the burst buffer',
    ],
  ] as const)('refuses a %s request pointing the wrong way', (direction, bad, message) => {
    const good =
      direction === 'in'
        ? request('/home/ok', '$DW_JOB_STRIPED/ok')
        : request('$DW_JOB_STRIPED/ok', '/home/ok');
    expect(stageError(() => resolveTransfers([good, bad], direction, ROOTS)).message).toContain(
      message,
    );
  });

  it('refuses a request naming a buffer the job does not have', () => {
    const requests = [request('/home/a', '$DW_PERSISTENT_STRIPED_gone/a')];
    expect(stageError(() => resolveTransfers(requests, 'in', ROOTS)).message).toBe(
      'stage path $DW_PERSISTENT_STRIPED_gone/a: $DW_PERSISTENT_STRIPED_gone is not a buffer of this job',
    );
  });

  it('takes the list file of a list request from either side', () => {
    const fromFilesystem = request('/home/alice/list.txt', '$DW_JOB_STRIPED', 'list');
    const fromBuffer = request('$DW_JOB_STRIPED/list.txt', '/home/alice', 'list');
    const fsOut = request('/home/alice/out-list.txt', '/home/alice', 'list');
    expect(resolveTransfers([fromFilesystem], 'in', ROOTS)[0]).toMatchObject({
      source: '/home/alice/list.txt',
      type: 'list',
    });
    expect(resolveTransfers([fromBuffer, fsOut], 'out', ROOTS).map((t) => t.source)).toEqual([
      '/bricks/host1/nvme0/1234/striped/list.txt',
      '/home/alice/out-list.txt',
    ]);
  });

  it('resolves nothing to nothing', () => {
    expect(resolveTransfers([], 'in', ROOTS)).toEqual([]);
  });
});

describe('parseStageList', () => {
  it('resolves every pair, skipping blank lines and comments', () => {
    const text = [
      '# inputs',
      '/home/alice/a.dat   $DW_JOB_STRIPED/a.dat',
      '',
      '   ',
      '\t/home/alice/dir\t$DW_PERSISTENT_STRIPED_shared/dir/  ',
      '  # indented comment',
      '/home/alice/c $DW_JOB_STRIPED/c\r',
    ].join('\n');
    const entries = parseStageList(text, '/home/alice/list', 'in', ROOTS);
    expect(entries.map((e) => [e.request.source, e.source, e.destination])).toEqual([
      ['/home/alice/a.dat', '/home/alice/a.dat', '/bricks/host1/nvme0/1234/striped/a.dat'],
      ['/home/alice/dir', '/home/alice/dir', '/mnt/dw/persistent/shared/striped/dir'],
      ['/home/alice/c', '/home/alice/c', '/bricks/host1/nvme0/1234/striped/c'],
    ]);
    expect(entries[1]!.request.destination).toBe('$DW_PERSISTENT_STRIPED_shared/dir/');
  });

  it('resolves stage_out pairs from the buffer', () => {
    const entries = parseStageList('$DW_JOB_STRIPED/r /home/alice/r\n', '/l', 'out', ROOTS);
    expect(entries).toEqual([
      {
        request: { source: '$DW_JOB_STRIPED/r', destination: '/home/alice/r', type: 'file' },
        source: '/bricks/host1/nvme0/1234/striped/r',
        destination: '/home/alice/r',
        type: 'file',
      },
    ]);
  });

  it.each([
    ['/home/alice/only-one-path', 'found 1 field'],
    ['/home/a $DW_JOB_STRIPED/a extra', 'found 3 fields'],
    ['/home/a/../b $DW_JOB_STRIPED/a', '".." is not allowed in paths'],
    ['/home/a $DW_JOB_STRIPED/$(reboot)', 'the shell character "$(" is not allowed'],
    ['$DW_JOB_STRIPED/a $DW_JOB_STRIPED/b', 'must be an absolute path outside the burst buffer'],
    ['/home/a /home/b', 'must be in the burst buffer'],
    ['/home/a $DW_PERSISTENT_STRIPED_nope/a', 'is not a buffer of this job'],
  ])('names the list file and line number of the bad line %j', (line, reason) => {
    const text = `# header\n/home/ok $DW_JOB_STRIPED/ok\n\n${line}\n/home/later $DW_JOB_STRIPED/later\n`;
    const message = stageError(() => parseStageList(text, '/home/alice/list', 'in', ROOTS)).message;
    expect(message).toContain('stage_in list /home/alice/list line 4: ');
    expect(message).toContain(reason);
  });
});
