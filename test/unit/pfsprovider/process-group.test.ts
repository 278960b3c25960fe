/**
 * The process-group runner (process-group.ts) on real child processes: `node -e` scripts that
 * print, exit, ignore SIGTERM, read stdin, or start a grandchild that must go with the group.
 */
import { getEventListeners } from 'node:events';
import pino from 'pino';
import {
  runProcessGroup,
  type OutputStream,
  type ProcessGroupOptions,
  type ProcessGroupResult,
} from '../../../src/pfsprovider/process-group';
import { running } from '../../support/processes';
import { rejection } from '../../support/rejection';

const silent = pino({ enabled: false });

interface Run {
  result: ProcessGroupResult;
  /** Every line, as onLine saw it. */
  lines: Array<[OutputStream, string]>;
  /** The pids onSpawn was called with. */
  spawned: number[];
  ms: number;
}

type NodeOptions = Partial<Omit<ProcessGroupOptions, 'onLine'>> & {
  /** Arguments after the script. */
  argv?: string[];
  /** Which lines go into the tail; default all. */
  keep?: (line: string, stream: OutputStream) => boolean;
  /** Called with each line after it is recorded. */
  then?: (line: string, stream: OutputStream) => void;
};

/** Run `script` with `node -e`, recording its lines. */
async function node(script: string, options: NodeOptions = {}): Promise<Run> {
  const lines: Array<[OutputStream, string]> = [];
  const spawned: number[] = [];
  const { argv = [], keep = () => true, then, ...rest } = options;
  const started = Date.now();
  const result = await runProcessGroup({
    executable: process.execPath,
    args: ['-e', script, ...argv],
    env: { NODE_NO_WARNINGS: '1' },
    signal: new AbortController().signal,
    killGraceMs: 2000,
    onSpawn: (pid) => spawned.push(pid),
    tailLines: 20,
    log: silent,
    ...rest,
    onLine: (line, stream) => {
      lines.push([stream, line]);
      then?.(line, stream);
      return keep(line, stream);
    },
  });
  return { result, lines, spawned, ms: Date.now() - started };
}

/** The lines of one stream. */
const of = (run: Run, stream: OutputStream): string[] =>
  run.lines.filter(([s]) => s === stream).map(([, line]) => line);

/** The ending of a run that did start. */
function ending(run: Run): Exclude<ProcessGroupResult, { kind: 'not-started' }> {
  if (run.result.kind === 'not-started') throw run.result.error;
  return run.result;
}

/** Whether `pid` is gone within `ms` (a killed process takes a moment to go). */
async function goneWithin(pid: number, ms = 2000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (running(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

/** Script text: ignore SIGTERM, say so, and idle (print `ready` after it, not before). */
const IGNORE_TERM = `process.on('SIGTERM', () => console.log('ignored SIGTERM'));
  setInterval(() => {}, 1000);`;

/**
 * Script text: start a grandchild that ignores SIGTERM and idles; once it is ready, run `rest`,
 * then print `grandchild <pid>` (so that both are in place when the test acts on that line).
 * With `holdsOutput` the grandchild holds the child's stderr open.
 */
function withGrandchild(holdsOutput: boolean, rest: string): string {
  return `const { spawn } = require('node:child_process');
    const grandchild = spawn(process.execPath, ['-e',
      "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); console.log('ready')"],
      { stdio: ['ignore', 'pipe', '${holdsOutput ? 'inherit' : 'ignore'}'] });
    grandchild.stdout.once('data', () => {
      ${rest}
      console.log('grandchild ' + grandchild.pid);
    });`;
}

function grandchildOf(run: Run): number {
  const line = of(run, 'stdout').find((l) => l.startsWith('grandchild '));
  if (line === undefined) throw new Error(`no grandchild in ${JSON.stringify(run.lines)}`);
  return Number(line.split(' ')[1]);
}

describe('runProcessGroup', () => {
  it('runs the argv as given, no shell, with only the given environment and directory', async () => {
    process.env.DAC_PROCESS_GROUP_TEST = 'must not leak';
    try {
      const argv = ['$(echo pwned)', 'a b', '*', ';', '`id`', "'q'", '>out'];
      const run = await node(
        `console.log(JSON.stringify({ argv: process.argv.slice(1), cwd: process.cwd(),
           mine: process.env.MINE, leaked: process.env.DAC_PROCESS_GROUP_TEST ?? null }))`,
        { argv, cwd: '/tmp', env: { MINE: 'yes' } },
      );
      expect(ending(run)).toMatchObject({ kind: 'exited', code: 0, signal: null });
      expect(JSON.parse(of(run, 'stdout')[0]!)).toEqual({
        argv,
        cwd: '/tmp',
        mine: 'yes',
        leaked: null,
      });
    } finally {
      delete process.env.DAC_PROCESS_GROUP_TEST;
    }
  });

  it('starts the child as the leader of a process group of its own', async () => {
    const run = await node(
      `const stat = require('node:fs').readFileSync('/proc/self/stat', 'utf8');
       const pgrp = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2];
       console.log(process.pid + ' ' + pgrp)`,
    );
    expect(run.spawned).toHaveLength(1);
    const [pid] = run.spawned;
    expect(pid).not.toBe(process.pid);
    expect(of(run, 'stdout')).toEqual([`${pid} ${pid}`]);
  });

  it('reports the exit code, every line of each stream, and the last lines kept', async () => {
    const run = await node(
      `process.stdout.write('out 1\\nout 2\\r\\n\\nout 3\\nout 4\\nout 5');
       process.stderr.write('err 1\\n\\nerr 2');
       process.exitCode = 3`,
      { keep: (line, stream) => stream === 'stdout' && line !== '', tailLines: 3 },
    );
    expect(ending(run)).toEqual({
      kind: 'exited',
      code: 3,
      signal: null,
      tail: ['out 3', 'out 4', 'out 5'],
    });
    expect(of(run, 'stdout')).toEqual(['out 1', 'out 2', '', 'out 3', 'out 4', 'out 5']);
    expect(of(run, 'stderr')).toEqual(['err 1', '', 'err 2']);
  });

  it('reports the signal that killed the child', async () => {
    const run = await node(`process.kill(process.pid, 'SIGTERM'); setInterval(() => {}, 1000)`);
    expect(ending(run)).toMatchObject({ kind: 'exited', code: null, signal: 'SIGTERM' });
  });

  /** A child that ignores SIGTERM, aborted once it says it is ready. */
  async function abortIgnoringChild(killGraceMs: number) {
    const controller = new AbortController();
    let abortedAt = 0;
    const run = await node(`${IGNORE_TERM} console.log('ready');`, {
      signal: controller.signal,
      killGraceMs,
      then: (line) => {
        if (line !== 'ready') return;
        abortedAt = Date.now();
        controller.abort();
      },
    });
    return { run, endedAfter: Date.now() - abortedAt, signal: controller.signal };
  }

  it('on abort sends SIGTERM, then SIGKILL after the grace to a child that ignores it', async () => {
    const { run, endedAfter, signal } = await abortIgnoringChild(300);
    expect(ending(run)).toMatchObject({ kind: 'stopped', reason: 'aborted', signal: 'SIGKILL' });
    expect(of(run, 'stdout')).toEqual(['ready', 'ignored SIGTERM']);
    expect(endedAfter).toBeGreaterThanOrEqual(300);
    expect(endedAfter).toBeLessThan(10_000);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('with no grace sends SIGKILL at once', async () => {
    const { run } = await abortIgnoringChild(0);
    expect(ending(run)).toMatchObject({ kind: 'stopped', reason: 'aborted', signal: 'SIGKILL' });
    expect(of(run, 'stdout')).toEqual(['ready']);
  });

  it('kills a grandchild with the group on abort, even one that ignores SIGTERM', async () => {
    const controller = new AbortController();
    let aliveBefore: boolean | undefined;
    let abortedAt = 0;
    const run = await node(withGrandchild(false, `setInterval(() => {}, 1000)`), {
      signal: controller.signal,
      killGraceMs: 5000,
      then: (line) => {
        if (!line.startsWith('grandchild ')) return;
        aliveBefore = running(Number(line.split(' ')[1]));
        abortedAt = Date.now();
        controller.abort();
      },
    });
    const endedAfter = Date.now() - abortedAt;
    const grandchild = grandchildOf(run);
    expect(aliveBefore).toBe(true);
    expect(ending(run)).toMatchObject({ kind: 'stopped', reason: 'aborted', signal: 'SIGTERM' });
    // The leader went at SIGTERM; the group got SIGKILL then, not after the 5 s grace.
    expect(await goneWithin(grandchild, 1000)).toBe(true);
    expect(endedAfter).toBeLessThan(4000);
  });

  it('after a stop, kills what is left of the group when the leader exits cleanly', async () => {
    const controller = new AbortController();
    const run = await node(
      withGrandchild(
        false,
        `process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);`,
      ),
      {
        signal: controller.signal,
        killGraceMs: 5000,
        then: (line) => {
          if (line.startsWith('grandchild ')) controller.abort();
        },
      },
    );
    expect(ending(run)).toMatchObject({ kind: 'stopped', reason: 'aborted', code: 0 });
    expect(await goneWithin(grandchildOf(run), 1000)).toBe(true);
  });

  it('stops the group at the timeout', async () => {
    // Long enough for both processes to start on a busy machine, so that the timeout finds the
    // grandchild ready (ignoring SIGTERM).
    const run = await node(withGrandchild(false, `setInterval(() => {}, 1000)`), {
      timeoutMs: 3000,
    });
    expect(ending(run)).toMatchObject({ kind: 'stopped', reason: 'timeout', signal: 'SIGTERM' });
    expect(run.ms).toBeGreaterThanOrEqual(3000);
    expect(await goneWithin(grandchildOf(run))).toBe(true);
  });

  it('kills the group when the leader fails, even a grandchild holding its output open', async () => {
    // Without the kill the output would stay open, and the run would not end, for a minute.
    const run = await node(withGrandchild(true, `setTimeout(() => process.exit(1), 50)`));
    expect(ending(run)).toMatchObject({ kind: 'exited', code: 1, signal: null });
    expect(await goneWithin(grandchildOf(run))).toBe(true);
    expect(run.ms).toBeLessThan(10_000);
  });

  it('writes the input to stdin and keeps it open while the child runs', async () => {
    const run = await node(
      `let text = '';
       process.stdin.on('data', (chunk) => {
         text += chunk;
         if (text.includes('\\n')) console.log('got ' + text.trim());
       });
       process.stdin.on('end', () => { console.log('stdin ended'); process.exit(0); });
       setTimeout(() => { console.log('still open'); process.exit(0); }, 300);`,
      { input: 'the request\n' },
    );
    expect(of(run, 'stdout')).toEqual(['got the request', 'still open']);
  });

  it('without input gives the child an empty stdin', async () => {
    const run = await node(
      `process.stdin.on('end', () => console.log('stdin ended')).resume();
       setTimeout(() => { console.log('still open'); process.exit(2); }, 5000).unref();`,
    );
    expect(ending(run)).toMatchObject({ kind: 'exited', code: 0 });
    expect(of(run, 'stdout')).toEqual(['stdin ended']);
  });

  it('starts nothing when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const run = await node(`console.log('ran')`, { signal: controller.signal });
    expect(run.result).toEqual({
      kind: 'stopped',
      reason: 'aborted',
      code: null,
      signal: null,
      tail: [],
    });
    expect(run.spawned).toEqual([]);
    expect(run.lines).toEqual([]);
  });

  it('says when the executable cannot be started', async () => {
    const controller = new AbortController();
    const run = await node('', {
      executable: '/nonexistent/dac-test-program',
      signal: controller.signal,
      timeoutMs: 60_000,
    });
    expect(run.result.kind).toBe('not-started');
    if (run.result.kind !== 'not-started') return;
    expect((run.result.error as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(run.spawned).toEqual([]);
    // Its timer and listener are gone too: nothing keeps the test process waiting.
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects with what spawn throws for arguments it refuses', async () => {
    const error = await rejection(node('', { argv: ['a\0b'] }));
    expect((error as NodeJS.ErrnoException).code).toBe('ERR_INVALID_ARG_VALUE');
  });
});
