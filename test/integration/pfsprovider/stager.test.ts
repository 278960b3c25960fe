/**
 * The stager as dacd runs it: a child process (dist/pfsprovider/stage/stager-main.js, built by
 * the jest set-up) that drops from root to the session owner, here `nobody`, and copies real
 * files. These tests need root, as dacd does.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
  ftruncateSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import pino from 'pino';
import { AbortedError, ProviderError, StageError } from '../../../src/errors/errors';
import type {
  ResolvedTransfer,
  StageContext,
  TransferProgress,
  TransferTotals,
} from '../../../src/pfsprovider/provider';
import { resolveTransfers } from '../../../src/pfsprovider/stage/resolve';
import { makeStager, runStager, stagerScriptPath } from '../../../src/pfsprovider/stage/run-stager';
import type { SessionRecord, StageRequest } from '../../../src/registry/model';
import { rejection } from '../../support/rejection';
import { sessionRecord } from '../../support/session-record';
import {
  buildSpaceTree,
  buildTree,
  canMountTmpfs,
  chownTree,
  isRoot,
  listTree,
  makeTempDir,
  mountTmpfs,
  NOBODY,
  NOGROUP,
  removeTempDir,
  stagedCounts,
  treeDifferences,
  unmountTmpfs,
} from '../../support/stage-tree';

const silent = pino({ enabled: false });
const NOBODY_OWNER = { uid: NOBODY, gid: NOGROUP };

function session(stageIn: StageRequest[], stageOut: StageRequest[] = []): SessionRecord {
  return sessionRecord({
    id: 12,
    token: '1234',
    owner: NOBODY_OWNER,
    stageIn,
    stageOut,
    desired: 'DataIn',
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of this process's children running the stager script. */
function stagerChildren(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (ppid === process.pid && cmdline.includes('stager-main.js')) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function waitFor<T>(what: string, check: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
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

(isRoot() ? describe : describe.skip)('the stager child process (as root)', () => {
  let base: string;
  let home: string;
  let buffer: string;
  let roots: Record<string, string>;
  /** A temp dir on another file system for the slow source, if there is one. */
  let slowDir: string | undefined;

  beforeEach(() => {
    base = makeTempDir('dac-stager-');
    home = join(base, 'home');
    buffer = join(base, 'buffer');
    mkdirSync(home, { mode: 0o755 });
    chownSync(home, NOBODY, NOGROUP);
    mkdirSync(buffer, { mode: 0o700 });
    chownSync(buffer, NOBODY, NOGROUP);
    roots = { DW_JOB_STRIPED: buffer };
  });

  afterEach(() => {
    removeTempDir(base);
    removeTempDir(slowDir);
    slowDir = undefined;
  });

  const context = (record: SessionRecord, progress: TransferProgress[] = []): StageContext => ({
    session: record,
    signal: new AbortController().signal,
    log: silent,
    onProgress: (p) => progress.push(p),
  });

  const run = (
    requests: StageRequest[],
    options: {
      signal?: AbortSignal;
      onProgress?: (p: TransferProgress, totals?: TransferTotals) => void;
    } = {},
  ): Promise<TransferProgress> =>
    runStager({
      owner: NOBODY_OWNER,
      direction: 'in',
      transfers: resolveTransfers(requests, 'in', roots),
      roots,
      signal: options.signal ?? new AbortController().signal,
      onProgress: options.onProgress ?? (() => undefined),
      log: silent,
    });

  /**
   * A sparse 8 GiB file owned by nobody that takes seconds to copy. On another file system
   * than the buffer when there is one (/dev/shm), so that no reflink can make the copy instant.
   */
  function slowSource(): string {
    const otherFs = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmpdir()).dev;
    if (otherFs) {
      slowDir = mkdtempSync('/dev/shm/dac-stager-');
      chmodSync(slowDir, 0o755);
    }
    const path = join(slowDir ?? home, 'huge.bin');
    const fd = openSync(path, 'w');
    ftruncateSync(fd, 8 * 1024 ** 3);
    closeSync(fd);
    chownSync(path, NOBODY, NOGROUP);
    return path;
  }

  it('stages a 1,000-file tree in and out as the owner, byte-identical', async () => {
    const source = join(home, 'tree');
    const tree = buildTree(source);
    chownTree(source, NOBODY, NOGROUP);
    const stager = makeStager();

    const progressIn: TransferProgress[] = [];
    const resultIn = await stager(
      context(session([directory(source, '$DW_JOB_STRIPED/data')]), progressIn),
      'in',
      roots,
    );
    expect(resultIn).toEqual({ files: tree.files, bytes: tree.bytes });
    expect(progressIn.at(-1)).toEqual(resultIn);
    expect(treeDifferences(source, join(buffer, 'data'))).toEqual([]);
    const staged = listTree(buffer);
    expect(staged.size).toBeGreaterThan(1000);
    for (const [rel, entry] of staged) {
      expect({ rel, uid: entry.uid, gid: entry.gid }).toEqual({ rel, uid: NOBODY, gid: NOGROUP });
    }

    const results = join(base, 'results');
    mkdirSync(results, { mode: 0o755 });
    chownSync(results, NOBODY, NOGROUP);
    const resultOut = await stager(
      context(session([], [directory('$DW_JOB_STRIPED/data', `${results}/run`)])),
      'out',
      roots,
    );
    expect(resultOut).toEqual(resultIn);
    expect(treeDifferences(source, join(results, 'run'))).toEqual([]);
    for (const entry of listTree(results).values()) {
      expect([entry.uid, entry.gid]).toEqual([NOBODY, NOGROUP]);
    }
  });

  it('measures what it will copy as the owner first, and reports the totals with every count', async () => {
    const source = join(home, 'tree');
    const tree = buildTree(source, 200);
    chownTree(source, NOBODY, NOGROUP);
    writeFileSync(join(home, 'one'), 'one');
    chownSync(join(home, 'one'), NOBODY, NOGROUP);
    const reports: { progress: TransferProgress; totals: TransferTotals | undefined }[] = [];
    const result = await makeStager()(
      {
        ...context(
          session([
            directory(source, '$DW_JOB_STRIPED/data'),
            file(join(home, 'one'), '$DW_JOB_STRIPED/one'),
          ]),
        ),
        onProgress: (progress, totals) => reports.push({ progress, totals }),
      },
      'in',
      roots,
    );
    expect(result).toEqual({ files: tree.files + 1, bytes: tree.bytes + 3 });
    const totals = { totalBytes: result.bytes, totalFiles: result.files };
    // The first report comes before anything is copied.
    expect(reports[0]).toEqual({ progress: { bytes: 0, files: 0 }, totals });
    expect(reports.at(-1)).toEqual({ progress: result, totals });
    for (const report of reports) expect(report.totals).toEqual(totals);
  });

  it('gives no totals for a source the owner cannot list (as root it could), and fails as before', async () => {
    const source = join(home, 'tree');
    buildTree(source, 20);
    chownTree(source, NOBODY, NOGROUP);
    const secret = join(source, 'd1', 'private');
    mkdirSync(secret, { mode: 0o700 }); // root's
    writeFileSync(join(secret, 'inside'), 'root only');
    const reports: (TransferTotals | undefined)[] = [];
    const error = await rejection(
      run([directory(source, '$DW_JOB_STRIPED/tree')], {
        onProgress: (_, totals) => reports.push(totals),
      }),
    );
    expect(error).toBeInstanceOf(StageError);
    expect(error.message).toBe(`stage_in source ${source}/d1/private is not readable by uid 65534`);
    expect(reports.length).toBeGreaterThan(0);
    expect(reports.every((totals) => totals === undefined)).toBe(true);
  });

  it('starts no process when there is nothing to stage', async () => {
    const spawnMock = jest.fn(() => {
      throw new Error('spawn called');
    });
    await jest.isolateModulesAsync(async () => {
      jest.doMock('node:child_process', () => ({
        ...jest.requireActual<object>('node:child_process'),
        spawn: spawnMock,
      }));
      const isolated = await import('../../../src/pfsprovider/stage/run-stager');
      const stager = isolated.makeStager();
      expect(await stager(context(session([])), 'in', roots)).toEqual({ bytes: 0, files: 0 });
      expect(
        await stager(context(session([file('/a', '$DW_JOB_STRIPED/a')])), 'out', roots),
      ).toEqual({ bytes: 0, files: 0 });
      expect(spawnMock).not.toHaveBeenCalled();
      // With something to stage, it does start one.
      const error = await rejection(
        stager(context(session([file('/a', '$DW_JOB_STRIPED/a')])), 'in', roots),
      );
      expect(error.message).toBe('spawn called');
      expect(spawnMock).toHaveBeenCalledTimes(1);
    });
  });

  it('refuses a bad request before starting a process', async () => {
    const error = await rejection(
      makeStager()(context(session([file(`${home}/a`, `${base}/x`)])), 'in', roots),
    );
    expect(error).toBeInstanceOf(StageError);
    expect(error.message).toContain(`stage_in destination ${base}/x must be in the burst buffer`);
  });

  describe('fails with a StageError naming the path as the user wrote it', () => {
    it('for a root-only file', async () => {
      const secret = join(home, 'secret');
      writeFileSync(secret, 'root only', { mode: 0o600 });
      const error = await rejection(run([file(secret, '$DW_JOB_STRIPED/secret')]));
      expect(error).toBeInstanceOf(StageError);
      expect(error.message).toBe(`stage_in source ${secret} is not readable by uid 65534`);
      expect(existsSync(join(buffer, 'secret'))).toBe(false);
    });

    it('for a root-only directory', async () => {
      const secret = join(home, 'private');
      mkdirSync(secret, { mode: 0o700 });
      writeFileSync(join(secret, 'inside'), 'root only');
      const error = await rejection(run([directory(`${secret}/`, '$DW_JOB_STRIPED/private')]));
      expect(error).toBeInstanceOf(StageError);
      expect(error.message).toBe(`stage_in source ${secret} is not readable by uid 65534`);
    });

    it('for a root-only file deep in a tree', async () => {
      const source = join(home, 'tree');
      buildTree(source, 50);
      chownTree(source, NOBODY, NOGROUP);
      writeFileSync(join(source, 'd1', 's0', 'root-only'), 'x', { mode: 0o600 });
      const error = await rejection(run([directory(source, '$DW_JOB_STRIPED/tree')]));
      expect(error).toBeInstanceOf(StageError);
      expect(error.message).toBe(
        `stage_in source ${source}/d1/s0/root-only is not readable by uid 65534`,
      );
    });

    it('for a destination the owner cannot write', async () => {
      writeFileSync(join(home, 'in'), 'data');
      chownSync(join(home, 'in'), NOBODY, NOGROUP);
      chownSync(buffer, 0, 0);
      const error = await rejection(run([file(join(home, 'in'), '$DW_JOB_STRIPED/sub/in')]));
      expect(error).toBeInstanceOf(StageError);
      expect(error.message).toBe(
        'stage_in destination $DW_JOB_STRIPED/sub/in is not writable by uid 65534',
      );
    });

    it('for a missing source', async () => {
      const missing = `${home}/not/there.dat`;
      const error = await rejection(run([file(missing, '$DW_JOB_STRIPED/x')]));
      expect(error).toBeInstanceOf(StageError);
      expect(error.message).toBe(`stage_in source ${missing} does not exist`);
    });
  });

  // A full file system needs a small one: a tmpfs, owned by the owner like a buffer.
  (canMountTmpfs() ? describe : describe.skip)('when the buffer fills up', () => {
    let fullBase: string;
    let small: string | undefined;

    beforeAll(() => {
      fullBase = makeTempDir('dac-stager-full-');
      const mountPoint = join(fullBase, 'buffer');
      mkdirSync(mountPoint);
      mountTmpfs(mountPoint, '8m', NOBODY_OWNER);
      small = mountPoint;
    });

    afterAll(() => {
      try {
        if (small) unmountTmpfs(small);
      } finally {
        small = undefined;
        removeTempDir(fullBase);
      }
    });

    it('reports the files completed and the bytes in the buffer, and names the path', async () => {
      const source = join(home, 'tree');
      const tree = buildSpaceTree(source, 5);
      chownTree(source, NOBODY, NOGROUP);
      const progress: TransferProgress[] = [];
      const error = await rejection(
        makeStager()(
          context(session([directory(source, '$DW_JOB_STRIPED/data')]), progress),
          'in',
          { DW_JOB_STRIPED: small! },
        ),
      );
      const staged = stagedCounts(source, join(small!, 'data'));
      expect(staged.files).toBeGreaterThan(0);
      expect(staged.files).toBeLessThan(tree.files);
      expect(progress.at(-1)).toEqual(staged);
      expect(error).toBeInstanceOf(StageError);
      expect(error.message).toMatch(
        /^the buffer is full \(no space left on device\) while staging \S+ to \$DW_JOB_STRIPED\/data\/\S+$/,
      );
      expect(error.message).toContain(`while staging ${source}/`);
    });
  });

  it('kills the child and rejects with AbortedError when aborted', async () => {
    const source = slowSource();
    const controller = new AbortController();
    const staging = run([file(source, '$DW_JOB_STRIPED/huge.bin')], {
      signal: controller.signal,
    });
    const outcome = rejection(staging);
    const copy = join(buffer, 'huge.bin');
    await waitFor('the copy to start', () => (existsSync(copy) ? true : undefined));
    const [pid] = stagerChildren();
    expect(pid).toBeDefined();
    expect(isAlive(pid!)).toBe(true);
    const abortedAt = Date.now();
    controller.abort();
    const error = await outcome;
    expect(error).toBeInstanceOf(AbortedError);
    expect(Date.now() - abortedAt).toBeLessThan(3000);
    expect(isAlive(pid!)).toBe(false);
    expect(statSync(copy).size).toBeLessThan(8 * 1024 ** 3);
  });

  it('reports a child that dies without finishing as a ProviderError', async () => {
    const source = slowSource();
    const staging = rejection(run([file(source, '$DW_JOB_STRIPED/huge.bin')]));
    await waitFor('the copy to start', () =>
      existsSync(join(buffer, 'huge.bin')) ? true : undefined,
    );
    const [pid] = stagerChildren();
    process.kill(pid!, 'SIGTERM');
    const error = await staging;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toBe(
      'stage_in: the stager process was killed by SIGTERM without finishing',
    );
    expect((error as ProviderError).detail).toContain('exit code null, signal SIGTERM');
  });

  /**
   * The stager script a process started as `nobody` can read: the checkout may sit in a private
   * directory (CI clones into a 0700 temporary directory), so such tests run a copy of dist/.
   * (dacd starts the stager as root; it drops privileges only after loading its code.)
   */
  function scriptFor(options: SpawnOptions): string {
    const script = stagerScriptPath();
    if (options.uid === undefined) return script;
    const dist = resolve(dirname(script), '..', '..');
    const copy = join(base, 'dist-copy');
    if (!existsSync(copy)) cpSync(dist, copy, { recursive: true });
    return join(copy, relative(dist, script));
  }

  /** Start the stager script directly; collects its stdout. */
  function startStager(options: SpawnOptions = {}) {
    const child = spawn(process.execPath, [scriptFor(options)], {
      cwd: '/',
      env: { PATH: process.env.PATH, NODE_NO_WARNINGS: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...options,
    });
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.resume();
    const exited = new Promise<{ code: number | null; signal: string | null; at: number }>(
      (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    const lines = () =>
      stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { child, exited, lines };
  }

  const requestLine = (uid: number, gid: number, transfers: ResolvedTransfer[]) =>
    `${JSON.stringify({ uid, gid, direction: 'in', roots, transfers })}\n`;

  it('stops promptly when its stdin closes', async () => {
    const source = join(home, 'many');
    for (let dir = 0; dir < 10; dir += 1) {
      mkdirSync(join(source, `d${dir}`), { recursive: true });
      for (let index = 0; index < 300; index += 1) {
        writeFileSync(join(source, `d${dir}`, `f${index}`), `${dir}/${index}`);
      }
    }
    chownTree(source, NOBODY, NOGROUP);
    const transfers = resolveTransfers([directory(source, '$DW_JOB_STRIPED/many')], 'in', roots);
    const stager = startStager();
    stager.child.stdin!.end(requestLine(NOBODY, NOGROUP, transfers));
    const closedAt = Date.now();
    const exit = await stager.exited;
    expect(exit).toMatchObject({ code: 1, signal: null });
    expect(exit.at - closedAt).toBeLessThan(3000);
    expect(stager.lines().at(-1)).toEqual({
      type: 'error',
      kind: 'transient',
      message: 'staging was cancelled',
    });
    const copied = existsSync(join(buffer, 'many')) ? listTree(join(buffer, 'many')) : new Map();
    expect([...copied.values()].filter((e) => e.type === 'file').length).toBeLessThan(3000);
  });

  it('stops at once when its stdin closes during a large copy', async () => {
    const source = slowSource();
    const transfers = resolveTransfers([file(source, '$DW_JOB_STRIPED/huge.bin')], 'in', roots);
    const stager = startStager();
    stager.child.stdin!.write(requestLine(NOBODY, NOGROUP, transfers));
    await waitFor('the copy to start', () =>
      existsSync(join(buffer, 'huge.bin')) ? true : undefined,
    );
    const closedAt = Date.now();
    stager.child.stdin!.end();
    const exit = await stager.exited;
    // process.exit would wait for the copy in the thread pool: it kills itself instead.
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(exit.at - closedAt).toBeLessThan(3000);
    expect(stager.lines().at(-1)).toEqual({
      type: 'error',
      kind: 'transient',
      message: 'staging was cancelled',
    });
    expect(statSync(join(buffer, 'huge.bin')).size).toBeLessThan(8 * 1024 ** 3);
  });

  it('as another user than root, refuses to stage as someone else', async () => {
    const stager = startStager({ uid: NOBODY, gid: NOGROUP });
    stager.child.stdin!.write(requestLine(0, 0, []));
    const exit = await stager.exited;
    expect(exit.code).toBe(1);
    expect(stager.lines()).toEqual([
      {
        type: 'error',
        kind: 'transient',
        message: 'dacd must run as root to stage data as uid 0',
      },
    ]);
  });

  it('as another user than root, stages as itself', async () => {
    writeFileSync(join(home, 'mine'), 'mine');
    chownSync(join(home, 'mine'), NOBODY, NOGROUP);
    const transfers = resolveTransfers(
      [file(join(home, 'mine'), '$DW_JOB_STRIPED/mine')],
      'in',
      roots,
    );
    const stager = startStager({ uid: NOBODY, gid: NOGROUP });
    stager.child.stdin!.write(requestLine(NOBODY, NOGROUP, transfers));
    const exit = await stager.exited;
    expect(exit.code).toBe(0);
    expect(stager.lines().at(-1)).toEqual({ type: 'done', bytes: 4, files: 1 });
    expect(readFileSync(join(buffer, 'mine'), 'utf8')).toBe('mine');
  });

  it('writes the totals on its first line, before copying, and on every progress line', async () => {
    const source = join(home, 'tree');
    const tree = buildTree(source, 100);
    chownTree(source, NOBODY, NOGROUP);
    const transfers = resolveTransfers([directory(source, '$DW_JOB_STRIPED/tree')], 'in', roots);
    const stager = startStager();
    stager.child.stdin!.write(requestLine(NOBODY, NOGROUP, transfers));
    const exit = await stager.exited;
    expect(exit.code).toBe(0);
    const lines = stager.lines();
    const totals = { totalBytes: tree.bytes, totalFiles: tree.files };
    expect(lines[0]).toEqual({ type: 'progress', bytes: 0, files: 0, ...totals });
    const progress = lines.filter((line) => line.type === 'progress');
    expect(progress.length).toBeGreaterThan(1);
    for (const line of progress) expect(line).toMatchObject(totals);
    expect(lines.at(-1)).toEqual({ type: 'done', bytes: tree.bytes, files: tree.files });
  });

  it('refuses a request that is not JSON', async () => {
    const stager = startStager();
    stager.child.stdin!.write('not json\n');
    const exit = await stager.exited;
    expect(exit.code).toBe(1);
    expect(stager.lines()).toEqual([
      { type: 'error', kind: 'transient', message: 'the stager request is not valid JSON' },
    ]);
  });
});
