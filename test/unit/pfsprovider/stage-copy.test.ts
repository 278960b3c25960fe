/**
 * The copy engine in this process (as whoever runs the tests), on real files in a temp dir.
 * Copying as another user is covered by test/integration/pfsprovider/stager.test.ts.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { AbortedError, StageError } from '../../../src/errors/errors';
import type { TransferProgress } from '../../../src/pfsprovider/provider';
import { copyTransfers, type CopyOptions } from '../../../src/pfsprovider/stage/copy';
import { resolveTransfers } from '../../../src/pfsprovider/stage/resolve';
import type { StageRequest } from '../../../src/registry/model';
import { rejection } from '../../support/rejection';
import {
  buildSpaceTree,
  buildTree,
  canMountTmpfs,
  fixtureMtime,
  listTree,
  makeTempDir,
  mountTmpfs,
  randomContent,
  removeTempDir,
  stagedCounts,
  treeDifferences,
  unmountTmpfs,
  type TreeSummary,
} from '../../support/stage-tree';

let base: string;
/** The file-system side. */
let home: string;
/** The buffer side ($DW_JOB_STRIPED). */
let buffer: string;
let roots: Record<string, string>;

beforeEach(() => {
  base = makeTempDir('dac-copy-');
  home = join(base, 'home');
  buffer = join(base, 'buffer');
  mkdirSync(home);
  mkdirSync(buffer, { mode: 0o700 });
  roots = { DW_JOB_STRIPED: buffer };
});

afterEach(() => removeTempDir(base));

interface Run {
  result: TransferProgress;
  progress: TransferProgress[];
}

async function stage(
  requests: StageRequest[],
  direction: 'in' | 'out' = 'in',
  options: Partial<CopyOptions> = {},
): Promise<Run> {
  const progress: TransferProgress[] = [];
  const result = await copyTransfers(resolveTransfers(requests, direction, roots), {
    signal: new AbortController().signal,
    onProgress: (p) => progress.push(p),
    roots,
    direction,
    ...options,
  });
  return { result, progress };
}

const file = (source: string, destination: string): StageRequest => ({
  source,
  destination,
  type: 'file',
});
const directory = (source: string, destination: string): StageRequest => ({
  source,
  destination,
  type: 'directory',
});
const list = (source: string, destination = '$DW_JOB_STRIPED'): StageRequest => ({
  source,
  destination,
  type: 'list',
});

describe('directory', () => {
  let tree: TreeSummary;
  let source: string;

  beforeEach(() => {
    source = join(home, 'tree');
    tree = buildTree(source, 300);
  });

  it('copies the contents with modes, times and links, and counts the tree', async () => {
    const { result, progress } = await stage([directory(source, '$DW_JOB_STRIPED/data')]);
    const copy = join(buffer, 'data');
    // Access times are copied too (taken before the copy reads the source; before reading the
    // copy here).
    expect(lstatSync(join(copy, 'd2/s0/f2')).atimeMs).toBeCloseTo(1_500_000_034_000, 2);
    expect(treeDifferences(source, copy)).toEqual([]);
    expect(result).toEqual({ files: tree.files, bytes: tree.bytes });
    expect(progress.at(-1)).toEqual(result);
    // The destination directory itself is a copy of the source directory.
    expect(statSync(copy).mode & 0o7777).toBe(statSync(source).mode & 0o7777);
    expect(statSync(copy).mtimeMs).toBeCloseTo(statSync(source).mtimeMs, 2);
    expect(readlinkSync(join(copy, 'd0/s0/f0'))).toBe('../s1/f10');
  });

  it('copies into an existing buffer root without changing the root', async () => {
    const before = statSync(buffer);
    const { result } = await stage([directory(`${source}/`, '$DW_JOB_STRIPED')]);
    expect(result).toEqual({ files: tree.files, bytes: tree.bytes });
    expect(treeDifferences(source, buffer)).toEqual([]);
    expect(statSync(buffer).mode & 0o7777).toBe(0o700);
    expect(statSync(buffer).ino).toBe(before.ino);
  });

  it('works with one copy at a time', async () => {
    const { result } = await stage([directory(source, '$DW_JOB_STRIPED/one')], 'in', {
      concurrency: 1,
    });
    expect(result).toEqual({ files: tree.files, bytes: tree.bytes });
    expect(treeDifferences(source, join(buffer, 'one'))).toEqual([]);
  });

  it('copies out of the buffer too', async () => {
    await stage([directory(source, '$DW_JOB_STRIPED/data')]);
    const { result } = await stage(
      [directory('$DW_JOB_STRIPED/data/', `${home}/results/run1`)],
      'out',
    );
    expect(result).toEqual({ files: tree.files, bytes: tree.bytes });
    expect(treeDifferences(source, join(home, 'results', 'run1'))).toEqual([]);
    // Parents it had to create are private.
    expect(statSync(join(home, 'results')).mode & 0o7777).toBe(0o700);
  });

  it('copies links as links, without following them', async () => {
    const outside = join(home, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'not to be copied');
    symlinkSync(outside, join(source, 'to-outside'));
    symlinkSync('/nowhere/at/all', join(source, 'dangling'));
    const { result } = await stage([directory(source, '$DW_JOB_STRIPED/data')]);
    expect(result.files).toBe(tree.files + 2);
    expect(lstatSync(join(buffer, 'data', 'to-outside')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(buffer, 'data', 'to-outside'))).toBe(outside);
    expect(readlinkSync(join(buffer, 'data', 'dangling'))).toBe('/nowhere/at/all');
    expect(treeDifferences(source, join(buffer, 'data'))).toEqual([]);
  });

  it('refuses a named pipe in the tree, naming it as the user wrote it', async () => {
    execFileSync('mkfifo', [join(source, 'd3', 's1', 'pipe')]);
    const error = await rejection(stage([directory(`${source}/`, '$DW_JOB_STRIPED/data')]));
    expect(error).toBeInstanceOf(StageError);
    expect(error.message).toBe(
      `stage_in source ${source}/d3/s1/pipe is a named pipe; only regular files, directories and symbolic links can be staged`,
    );
  });

  it('refuses a source that is a file', async () => {
    writeFileSync(join(home, 'plain'), 'x');
    const error = await rejection(stage([directory(join(home, 'plain'), '$DW_JOB_STRIPED/d')]));
    expect(error).toBeInstanceOf(StageError);
    expect(error.message).toBe(`stage_in source ${home}/plain is not a directory`);
  });

  it('refuses to put a directory where a file is', async () => {
    writeFileSync(join(buffer, 'taken'), 'x');
    const error = await rejection(stage([directory(source, '$DW_JOB_STRIPED/taken')]));
    expect(error).toBeInstanceOf(StageError);
    expect(error.message).toBe(
      'stage_in destination $DW_JOB_STRIPED/taken exists and is not a directory',
    );
  });

  it('refuses to copy a directory into itself', async () => {
    roots = { DW_JOB_STRIPED: join(source, 'd1') };
    const error = await rejection(stage([directory(source, '$DW_JOB_STRIPED/copy')]));
    expect(error).toBeInstanceOf(StageError);
    expect(error.message).toBe(
      `stage_in destination $DW_JOB_STRIPED/copy is inside the source ${source}`,
    );
  });

  it('names a missing source as the user wrote it', async () => {
    const error = await rejection(stage([directory(`${home}//missing/`, '$DW_JOB_STRIPED/data')]));
    expect(error).toBeInstanceOf(StageError);
    expect(error.message).toBe(`stage_in source ${home}//missing does not exist`);
  });

  describe('re-run after an interrupted copy', () => {
    it('gives a byte-identical tree, recopying only what is not complete', async () => {
      const copy = join(buffer, 'data');
      const first = await stage([directory(source, '$DW_JOB_STRIPED/data')]);
      const [truncated, deleted, unchanged, readOnly, replaced] = [
        'd3/s0/f3',
        'd3/s1/f13',
        'd4/s2/f24',
        'd5/s3/f35',
        'd6/s0/f6',
      ];
      // A copy cut short: shorter, and its mtime is when it was cut.
      truncateSync(join(copy, truncated!), 100);
      utimesSync(join(copy, truncated!), new Date(), new Date());
      unlinkSync(join(copy, deleted!));
      // Same size but an older version, read-only: it must be replaced, not written through.
      writeFileSync(join(copy, readOnly!), Buffer.alloc(statSync(join(source, readOnly!)).size));
      chmodSync(join(copy, readOnly!), 0o444);
      // Something else in the way of a file: a link, which must be replaced, not written
      // through (to a decoy in the temp dir, so that a bug cannot hurt anything else).
      const decoy = join(base, 'decoy');
      writeFileSync(decoy, 'decoy');
      unlinkSync(join(copy, replaced!));
      symlinkSync(decoy, join(copy, replaced!));
      // A directory finished by the first run with a read-only mode.
      chmodSync(join(copy, 'd1'), 0o500);
      const before = listTree(copy).get(unchanged!)!;

      const second = await stage([directory(source, '$DW_JOB_STRIPED/data')]);

      expect(treeDifferences(source, copy)).toEqual([]);
      expect(second.result).toEqual(first.result);
      // The complete file was not copied again: same inode, no change at all.
      const after = listTree(copy).get(unchanged!)!;
      expect(after.ino).toBe(before.ino);
      expect(after.ctimeMs).toBe(before.ctimeMs);
      expect(lstatSync(join(copy, replaced!)).isFile()).toBe(true);
      expect(readFileSync(decoy, 'utf8')).toBe('decoy');
    });

    it('recopies a file whose source changed', async () => {
      await stage([directory(source, '$DW_JOB_STRIPED/data')]);
      const changed = join(source, 'd7', 's1', 'f17');
      writeFileSync(changed, randomContent(statSync(changed).size));
      utimesSync(changed, fixtureMtime(5), fixtureMtime(5) + 1);
      await stage([directory(source, '$DW_JOB_STRIPED/data')]);
      expect(treeDifferences(source, join(buffer, 'data'))).toEqual([]);
    });
  });
});

describe('file', () => {
  let source: string;

  beforeEach(() => {
    source = join(home, 'input.dat');
    writeFileSync(source, randomContent(12_345));
    chmodSync(source, 0o640);
    utimesSync(source, 1_500_000_000, fixtureMtime(1));
  });

  const expectCopy = (path: string) => {
    expect(readFileSync(path).equals(readFileSync(source))).toBe(true);
    expect(statSync(path).mode & 0o7777).toBe(0o640);
    expect(statSync(path).mtimeMs).toBeCloseTo(statSync(source).mtimeMs, 2);
  };

  it('copies to a file path, creating private parent directories', async () => {
    const { result, progress } = await stage([file(source, '$DW_JOB_STRIPED/a/b/copy.dat')]);
    expectCopy(join(buffer, 'a', 'b', 'copy.dat'));
    expect(statSync(join(buffer, 'a')).mode & 0o7777).toBe(0o700);
    expect(statSync(join(buffer, 'a', 'b')).mode & 0o7777).toBe(0o700);
    expect(result).toEqual({ files: 1, bytes: 12_345 });
    expect(progress.at(-1)).toEqual(result);
  });

  it('copies into an existing directory under its own name', async () => {
    mkdirSync(join(buffer, 'existing'));
    await stage([file(source, '$DW_JOB_STRIPED/existing')]);
    expectCopy(join(buffer, 'existing', 'input.dat'));
  });

  it('copies into the buffer root', async () => {
    await stage([file(source, '$DW_JOB_STRIPED')]);
    expectCopy(join(buffer, 'input.dat'));
  });

  it('copies into a directory written with a trailing slash, creating it', async () => {
    await stage([file(source, '$DW_JOB_STRIPED/new/dir/')]);
    expectCopy(join(buffer, 'new', 'dir', 'input.dat'));
  });

  it('replaces a different file at the destination', async () => {
    writeFileSync(join(buffer, 'copy.dat'), 'old contents');
    await stage([file(source, '$DW_JOB_STRIPED/copy.dat')]);
    expectCopy(join(buffer, 'copy.dat'));
  });

  it('follows a link given as the source', async () => {
    symlinkSync(source, join(home, 'link'));
    const { result } = await stage([file(join(home, 'link'), '$DW_JOB_STRIPED/copy.dat')]);
    expectCopy(join(buffer, 'copy.dat'));
    expect(result).toEqual({ files: 1, bytes: 12_345 });
  });

  it('copies a large file', async () => {
    const big = join(home, 'big');
    writeFileSync(big, randomContent(3 * 1024 * 1024 + 1));
    const { result } = await stage([file(big, '$DW_JOB_STRIPED/big')]);
    expect(readFileSync(join(buffer, 'big')).equals(readFileSync(big))).toBe(true);
    expect(result).toEqual({ files: 1, bytes: 3 * 1024 * 1024 + 1 });
  });

  it.each([
    ['a missing source', () => join(home, 'missing'), 'does not exist'],
    ['a directory', () => home, 'is a directory; use type=directory to copy a directory'],
    [
      'a named pipe',
      () => {
        execFileSync('mkfifo', [join(home, 'fifo')]);
        return join(home, 'fifo');
      },
      'is not a regular file',
    ],
  ])('refuses %s, naming it', async (_what, make, reason) => {
    const path = make();
    const error = await rejection(stage([file(path, '$DW_JOB_STRIPED/x')]));
    expect(error).toBeInstanceOf(StageError);
    expect(error.message).toBe(`stage_in source ${path} ${reason}`);
  });

  it('stops at the first failing request', async () => {
    const error = await rejection(
      stage([
        file(source, '$DW_JOB_STRIPED/first'),
        file(join(home, 'missing'), '$DW_JOB_STRIPED/second'),
        file(source, '$DW_JOB_STRIPED/third'),
      ]),
    );
    expect(error.message).toBe(`stage_in source ${home}/missing does not exist`);
    expect(existsSync(join(buffer, 'first'))).toBe(true);
    expect(existsSync(join(buffer, 'third'))).toBe(false);
  });
});

describe('list', () => {
  let listFile: string;

  beforeEach(() => {
    writeFileSync(join(home, 'one'), 'one');
    writeFileSync(join(home, 'two'), 'two!');
    buildTree(join(home, 'tree'), 20);
    listFile = join(home, 'stage.list');
  });

  it('copies every pair: directories as directories, files as files', async () => {
    writeFileSync(
      listFile,
      [
        '# what the job needs',
        `${home}/one $DW_JOB_STRIPED/inputs/one`,
        '',
        `  ${home}/two\t\t$DW_JOB_STRIPED/inputs/  `,
        `${home}/tree $DW_JOB_STRIPED/tree`,
      ].join('\n'),
    );
    const { result } = await stage([list(listFile)]);
    expect(readFileSync(join(buffer, 'inputs', 'one'), 'utf8')).toBe('one');
    expect(readFileSync(join(buffer, 'inputs', 'two'), 'utf8')).toBe('two!');
    expect(treeDifferences(join(home, 'tree'), join(buffer, 'tree'))).toEqual([]);
    const tree = listTree(join(home, 'tree'));
    const treeBytes = [...tree.values()]
      .filter((entry) => entry.type === 'file')
      .reduce((sum, entry) => sum + entry.size, 0);
    expect(result).toEqual({ files: 2 + 20, bytes: 7 + treeBytes });
  });

  it('checks every line before copying anything, and names the bad one', async () => {
    writeFileSync(
      listFile,
      [
        `${home}/one $DW_JOB_STRIPED/one`,
        '# comment',
        `${home}/two $DW_JOB_STRIPED/two`,
        `${home}/two`,
        `${home}/tree $DW_JOB_STRIPED/tree`,
      ].join('\n'),
    );
    const error = await rejection(stage([list(listFile)]));
    expect(error).toBeInstanceOf(StageError);
    expect(error.message).toBe(
      `stage_in list ${listFile} line 4: expected "source destination" (two paths without spaces), found 1 field`,
    );
    expect(existsSync(join(buffer, 'one'))).toBe(false);
  });

  it('refuses a line pointing the wrong way', async () => {
    writeFileSync(listFile, `${home}/one $DW_JOB_STRIPED/one\n$DW_JOB_STRIPED/x /tmp/x\n`);
    const error = await rejection(stage([list(listFile)]));
    expect(error.message).toBe(
      `stage_in list ${listFile} line 2: stage_in source $DW_JOB_STRIPED/x must be an absolute path outside the burst buffer`,
    );
  });

  it('names a missing entry as written in the list', async () => {
    writeFileSync(listFile, `${home}//nothing-here $DW_JOB_STRIPED/x\n`);
    const error = await rejection(stage([list(listFile)]));
    expect(error.message).toBe(`stage_in source ${home}//nothing-here does not exist`);
  });

  it('names a missing list file', async () => {
    const error = await rejection(stage([list(join(home, 'no.list'))]));
    expect(error).toBeInstanceOf(StageError);
    expect(error.message).toBe(`stage_in source ${home}/no.list does not exist`);
  });

  it('reads a stage_out list from the buffer', async () => {
    writeFileSync(join(buffer, 'result'), 'result');
    writeFileSync(join(buffer, 'out.list'), `$DW_JOB_STRIPED/result ${home}/out/result\n`);
    const { result } = await stage([list('$DW_JOB_STRIPED/out.list', home)], 'out');
    expect(readFileSync(join(home, 'out', 'result'), 'utf8')).toBe('result');
    expect(result).toEqual({ files: 1, bytes: 6 });
  });
});

describe('abort', () => {
  it('rejects at once when aborted before it starts, copying nothing', async () => {
    buildTree(join(home, 'tree'), 20);
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(
      stage([directory(join(home, 'tree'), '$DW_JOB_STRIPED/tree')], 'in', {
        signal: controller.signal,
      }),
    );
    expect(error).toBeInstanceOf(AbortedError);
    expect(existsSync(join(buffer, 'tree'))).toBe(false);
  });

  it('stops starting copies when aborted', async () => {
    const tree = join(home, 'many');
    for (let dir = 0; dir < 20; dir += 1) {
      mkdirSync(join(tree, `d${dir}`), { recursive: true });
      for (let index = 0; index < 200; index += 1) {
        writeFileSync(join(tree, `d${dir}`, `f${index}`), `${dir}/${index}`);
      }
    }
    const controller = new AbortController();
    const error = await rejection(
      stage([directory(tree, '$DW_JOB_STRIPED/many')], 'in', {
        signal: controller.signal,
        // The first progress report comes with the first file.
        onProgress: () => controller.abort(),
      }),
    );
    expect(error).toBeInstanceOf(AbortedError);
    const copied = [...listTree(join(buffer, 'many')).values()].filter((e) => e.type === 'file');
    expect(copied.length).toBeGreaterThan(0);
    expect(copied.length).toBeLessThan(4000);
  });
});

describe('progress', () => {
  it('reports cumulative counts at most about four times a second, and at the end', async () => {
    const tree = join(home, 'tree');
    buildTree(tree, 1000);
    // The spacing of the reports is tested on a fake clock (stage-copy-progress.test.ts): here,
    // on a loaded machine, this callback's clock can lag the copier's by a few milliseconds.
    const calls: TransferProgress[] = [];
    const started = Date.now();
    const result = await copyTransfers(
      resolveTransfers([directory(tree, '$DW_JOB_STRIPED/t')], 'in', roots),
      {
        signal: new AbortController().signal,
        onProgress: (p) => calls.push(p),
        roots,
        direction: 'in',
      },
    );
    const elapsed = Date.now() - started;
    expect(calls.at(-1)).toMatchObject(result);
    expect(calls.length).toBeLessThanOrEqual(Math.floor(elapsed / 250) + 2);
    for (let index = 1; index < calls.length; index += 1) {
      expect(calls[index]!.files).toBeGreaterThanOrEqual(calls[index - 1]!.files);
      expect(calls[index]!.bytes).toBeGreaterThanOrEqual(calls[index - 1]!.bytes);
    }
  });
});

// A full file system needs a small one: a tmpfs.
(canMountTmpfs() ? describe : describe.skip)('a full buffer', () => {
  let mounted: string | undefined;

  afterEach(() => {
    if (mounted) unmountTmpfs(mounted);
    mounted = undefined;
  });

  /** A tmpfs of `size` as the buffer. */
  function smallBuffer(size: string): string {
    const small = join(base, 'small');
    mkdirSync(small);
    mountTmpfs(small, size);
    mounted = small;
    roots = { DW_JOB_STRIPED: small };
    return small;
  }

  it('says the buffer is full, naming what was being staged', async () => {
    const small = smallBuffer('256k');
    const big = join(home, 'big');
    writeFileSync(big, randomContent(2 * 1024 * 1024));
    const error = await rejection(stage([file(big, '$DW_JOB_STRIPED/big')]));
    expect(error).toBeInstanceOf(StageError);
    expect(error.message).toBe(
      `the buffer is full (no space left on device) while staging ${big} to $DW_JOB_STRIPED/big`,
    );
    rmSync(join(small, 'big'), { force: true });
  });

  it('reports, before it fails, the files completed and the bytes in the buffer', async () => {
    const small = smallBuffer('8m');
    const source = join(home, 'tree');
    const tree = buildSpaceTree(source, 5);
    const progress: TransferProgress[] = [];
    const error = await rejection(
      stage([directory(source, '$DW_JOB_STRIPED/tree')], 'in', {
        onProgress: (p) => progress.push(p),
      }),
    );
    const staged = stagedCounts(source, join(small, 'tree'));
    expect(staged.files).toBeGreaterThan(0);
    expect(staged.files).toBeLessThan(tree.files);
    expect(progress.at(-1)).toEqual(staged);
    expect(error).toBeInstanceOf(StageError);
    expect(error.message).toMatch(
      /^the buffer is full \(no space left on device\) while staging \S+ to \$DW_JOB_STRIPED\/tree\/\S+$/,
    );
    expect(error.message).toContain(`while staging ${source}/`);
  });
});
