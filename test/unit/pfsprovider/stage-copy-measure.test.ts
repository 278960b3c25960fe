/**
 * The measuring of a copy before it starts, on real files in a temp dir: its totals are what
 * the copy engine's counts reach (the same files: links as files of no bytes, empty
 * directories as nothing, list entries as the copy takes them), it writes nothing, a source it
 * cannot measure gives no totals, and an abort stops it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AbortedError, StageError } from '../../../src/errors/errors';
import type { TransferProgress } from '../../../src/pfsprovider/provider';
import { copyTransfers } from '../../../src/pfsprovider/stage/copy';
import { measureTransfers } from '../../../src/pfsprovider/stage/copy-measure';
import { resolveTransfers } from '../../../src/pfsprovider/stage/resolve';
import type { StageRequest } from '../../../src/registry/model';
import { rejection } from '../../support/rejection';
import { buildTree, listTree, makeTempDir, removeTempDir } from '../../support/stage-tree';

let base: string;
let home: string;
let buffer: string;
let roots: Record<string, string>;

beforeEach(() => {
  base = makeTempDir('dac-measure-');
  home = join(base, 'home');
  buffer = join(base, 'buffer');
  mkdirSync(home);
  mkdirSync(buffer, { mode: 0o700 });
  roots = { DW_JOB_STRIPED: buffer };
});

afterEach(() => removeTempDir(base));

const request = (type: StageRequest['type']) => (source: string, destination: string) =>
  ({ source, destination, type }) as StageRequest;
const file = request('file');
const directory = request('directory');
const list = request('list');

interface Measured {
  totals: { totalBytes: number; totalFiles: number } | undefined;
  unmeasured: unknown[];
}

async function measure(
  requests: StageRequest[],
  direction: 'in' | 'out' = 'in',
  signal = new AbortController().signal,
): Promise<Measured> {
  const unmeasured: unknown[] = [];
  const totals = await measureTransfers(resolveTransfers(requests, direction, roots), {
    signal,
    roots,
    direction,
    onUnmeasured: (error) => unmeasured.push(error),
  });
  return { totals, unmeasured };
}

/** What the copy engine reports when it has copied `requests`. */
function copy(requests: StageRequest[], direction: 'in' | 'out' = 'in'): Promise<TransferProgress> {
  return copyTransfers(resolveTransfers(requests, direction, roots), {
    signal: new AbortController().signal,
    onProgress: () => undefined,
    roots,
    direction,
  });
}

/** Measure `requests`, then copy them: the totals must be the copy's final counts. */
async function measureThenCopy(requests: StageRequest[], direction: 'in' | 'out' = 'in') {
  const { totals, unmeasured } = await measure(requests, direction);
  expect(unmeasured).toEqual([]);
  const counts = await copy(requests, direction);
  expect(totals).toEqual({ totalBytes: counts.bytes, totalFiles: counts.files });
  return totals!;
}

describe('measureTransfers', () => {
  it('counts a tree as the copy counts it: links as files of no bytes, empty dirs as nothing', async () => {
    const source = join(home, 'tree');
    const tree = buildTree(source, 300); // one of its files is a link; d0/empty is empty
    mkdirSync(join(source, 'd1', 'more', 'empty', 'deeper'), { recursive: true });
    const outside = join(home, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'big'), Buffer.alloc(4096));
    symlinkSync(outside, join(source, 'to-a-directory'));
    symlinkSync('/nowhere/at/all', join(source, 'dangling'));
    // Not a directory of the tree: a link to one is a file, never followed.
    const totals = await measureThenCopy([directory(source, '$DW_JOB_STRIPED/data')]);
    expect(totals).toEqual({ totalBytes: tree.bytes, totalFiles: tree.files + 2 });
  });

  it('counts nothing for an empty directory, and zero bytes for empty files', async () => {
    mkdirSync(join(home, 'empty', 'sub'), { recursive: true });
    expect(await measureThenCopy([directory(join(home, 'empty'), '$DW_JOB_STRIPED/e')])).toEqual({
      totalBytes: 0,
      totalFiles: 0,
    });
    writeFileSync(join(home, 'zero'), '');
    expect(await measureThenCopy([file(join(home, 'zero'), '$DW_JOB_STRIPED/zero')])).toEqual({
      totalBytes: 0,
      totalFiles: 1,
    });
  });

  it('follows a link given as a file source, as the copy does', async () => {
    writeFileSync(join(home, 'target'), 'twelve bytes');
    symlinkSync(join(home, 'target'), join(home, 'link'));
    expect(await measureThenCopy([file(join(home, 'link'), '$DW_JOB_STRIPED/x')])).toEqual({
      totalBytes: 12,
      totalFiles: 1,
    });
  });

  it('adds up the transfers, a file copied twice counted twice', async () => {
    writeFileSync(join(home, 'one'), 'one');
    buildTree(join(home, 'tree'), 30);
    const totals = await measureThenCopy([
      file(join(home, 'one'), '$DW_JOB_STRIPED/one'),
      directory(join(home, 'tree'), '$DW_JOB_STRIPED/tree'),
      file(join(home, 'one'), '$DW_JOB_STRIPED/again/'),
    ]);
    const treeFiles = [...listTree(join(home, 'tree')).values()];
    const treeBytes = treeFiles
      .filter((entry) => entry.type === 'file')
      .reduce((sum, entry) => sum + entry.size, 0);
    expect(totals).toEqual({ totalBytes: 3 + treeBytes + 3, totalFiles: 1 + 30 + 1 });
  });

  it('counts a list file: directories as trees, files as files, not the list itself', async () => {
    writeFileSync(join(home, 'one'), 'one');
    writeFileSync(join(home, 'two'), 'two!');
    const tree = buildTree(join(home, 'tree'), 20);
    const listFile = join(home, 'stage.list');
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
    expect(await measureThenCopy([list(listFile, '$DW_JOB_STRIPED')])).toEqual({
      totalBytes: 7 + tree.bytes,
      totalFiles: 2 + tree.files,
    });
  });

  it('measures a stage-out from the buffer', async () => {
    mkdirSync(join(buffer, 'out'));
    writeFileSync(join(buffer, 'out', 'result'), 'result');
    symlinkSync('result', join(buffer, 'out', 'latest'));
    expect(
      await measureThenCopy([directory('$DW_JOB_STRIPED/out', join(home, 'results'))], 'out'),
    ).toEqual({ totalBytes: 6, totalFiles: 2 });
  });

  it('reads the sources only: nothing is written anywhere', async () => {
    const source = join(home, 'tree');
    buildTree(source, 50);
    const before = listTree(base);
    const { totals } = await measure([
      directory(source, '$DW_JOB_STRIPED/data'),
      file(join(source, 'd1', 's0', 'f1'), '$DW_JOB_STRIPED/deep/er/f1'),
    ]);
    expect(totals?.totalFiles).toBe(51);
    expect(readdirSync(buffer)).toEqual([]);
    const after = listTree(base);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [rel, entry] of before) {
      const now = after.get(rel)!;
      expect({ rel, mtimeMs: now.mtimeMs, size: now.size, mode: now.mode }).toEqual({
        rel,
        mtimeMs: entry.mtimeMs,
        size: entry.size,
        mode: entry.mode,
      });
    }
  });

  describe('gives no totals where the copy fails on the source, and the copy decides', () => {
    it.each([
      ['a missing file', () => [file(join(home, 'missing'), '$DW_JOB_STRIPED/x')]],
      ['a directory as a file', () => [file(join(home, 'dir'), '$DW_JOB_STRIPED/x')]],
      ['a file as a directory', () => [directory(join(home, 'one'), '$DW_JOB_STRIPED/x')]],
      ['a named pipe in a tree', () => [directory(join(home, 'piped'), '$DW_JOB_STRIPED/x')]],
      ['a list with a bad line', () => [list(join(home, 'bad.list'), '$DW_JOB_STRIPED')]],
      [
        'a later transfer that is missing',
        () => [
          file(join(home, 'one'), '$DW_JOB_STRIPED/one'),
          directory(join(home, 'missing'), '$DW_JOB_STRIPED/x'),
        ],
      ],
    ])('for %s', async (_, requests) => {
      mkdirSync(join(home, 'dir'));
      writeFileSync(join(home, 'one'), 'one');
      mkdirSync(join(home, 'piped'));
      writeFileSync(join(home, 'piped', 'a'), 'a');
      execFileSync('mkfifo', [join(home, 'piped', 'pipe')]);
      writeFileSync(join(home, 'bad.list'), `${home}/one $DW_JOB_STRIPED/one\n${home}/one\n`);

      const { totals, unmeasured } = await measure(requests());
      expect(totals).toBeUndefined();
      expect(unmeasured).toHaveLength(1);
      // The copy fails on the same source with its own error, as it always has.
      const copyError = await rejection(copy(requests()));
      expect(copyError).toBeInstanceOf(StageError);
      expect(unmeasured[0]).toBeInstanceOf(StageError);
      expect((unmeasured[0] as Error).message).toBe(copyError.message);
    });
  });

  it('counts a file it may not read (only the copy needs to read it)', async () => {
    writeFileSync(join(home, 'closed'), 'secret', { mode: 0o000 });
    expect((await measure([file(join(home, 'closed'), '$DW_JOB_STRIPED/c')])).totals).toEqual({
      totalBytes: 6,
      totalFiles: 1,
    });
  });

  it('rejects with AbortedError when aborted before it starts', async () => {
    buildTree(join(home, 'tree'), 20);
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(
      measure([directory(join(home, 'tree'), '$DW_JOB_STRIPED/tree')], 'in', controller.signal),
    );
    expect(error).toBeInstanceOf(AbortedError);
    expect(error.message).toBe('stage_in was cancelled');
  });

  it('stops a walk under way when aborted, looking at no more entries', async () => {
    const tree = join(home, 'many');
    for (let dir = 0; dir < 10; dir += 1) {
      mkdirSync(join(tree, `d${dir}`), { recursive: true });
      for (let index = 0; index < 100; index += 1) {
        writeFileSync(join(tree, `d${dir}`, `f${index}`), '');
      }
    }
    // A signal that turns aborted once the walk has looked at it 100 times (about 100
    // entries): where an abort lands in a walk does not depend on the machine's speed.
    let looks = 0;
    const signal = {
      get aborted() {
        looks += 1;
        return looks > 100;
      },
    } as AbortSignal;
    const error = await rejection(measure([directory(tree, '$DW_JOB_STRIPED/many')], 'in', signal));
    expect(error).toBeInstanceOf(AbortedError);
    // The walk stopped at its first look after the abort, of about 1,000 it would have made.
    expect(looks).toBeLessThanOrEqual(102);
  });
});
