/**
 * How the providers run a program: ansible-playbook for the ansible providers, the stager child
 * for staging. Never through a shell: the executable and an argv array go to spawn as they are,
 * so nothing in them is ever parsed as shell syntax.
 *
 * - The child leads a process group of its own (`detached`), so that stopping it reaches what
 *   it started too: ansible-playbook's workers and their ssh connections, the stager's getent.
 * - Stopping, when the signal aborts or the timeout passes: SIGTERM to the group, then SIGKILL
 *   after `killGraceMs`; with a grace of 0, SIGKILL at once. Once a stop is asked for, the run
 *   counts as stopped, however the child then ends.
 * - When the leader exits with a code other than 0, by a signal, or after a stop, the group
 *   gets SIGKILL: what a crashed or stopped leader started must not outlive it (nor hold its
 *   pipes open, which would keep the run from ending).
 * - stdin is /dev/null, or, with `input`, a pipe that gets `input` and then stays open until
 *   the child has exited: the stager takes its end as "dacd is gone".
 * - stdout and stderr are cut into lines (output-lines.ts) for `onLine`; the last `tailLines`
 *   lines that `onLine` keeps come back with the result, for an error's detail.
 *
 * The result says how the run ended; what that means (an error, and its words) is the caller's.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../logging/logger';
import { LineSplitter, LineTail } from './output-lines';

export type OutputStream = 'stdout' | 'stderr';

export interface ProcessGroupOptions {
  executable: string;
  args: readonly string[];
  /** The child's whole environment: nothing of dacd's is added. */
  env: NodeJS.ProcessEnv;
  /** The child's working directory; default dacd's. */
  cwd?: string;
  /** Written to the child's stdin, which then stays open while it runs. */
  input?: string;
  /** Aborting stops the group; already aborted, nothing is started. */
  signal: AbortSignal;
  /** Stop the group after this long; default never. */
  timeoutMs?: number;
  /** After SIGTERM, how long the group gets before SIGKILL; 0: SIGKILL at once. */
  killGraceMs: number;
  /** Called once the child is started. */
  onSpawn?(pid: number): void;
  /**
   * Every line of output, as it comes; returns whether to keep it among the last lines of the
   * result. Must not throw (it runs in a stream's event handler).
   */
  onLine?(line: string, stream: OutputStream): boolean;
  /** How many of the kept lines the result carries; default none. */
  tailLines?: number;
  /** For what the caller cannot act on (an error event of a running child). */
  log: Logger;
}

/** How the child ended. */
interface Ending {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines `onLine` kept, oldest first. */
  tail: string[];
}

export type ProcessGroupResult =
  /** The child exited (any code) or was killed, but not by us. */
  | ({ kind: 'exited' } & Ending)
  /**
   * We stopped it: the signal aborted (also before anything was started: then code and signal
   * are null) or the timeout passed.
   */
  | ({ kind: 'stopped'; reason: 'aborted' | 'timeout' } & Ending)
  /** The executable could not be started (not found, not executable). */
  | { kind: 'not-started'; error: Error };

/**
 * Run `executable` in its own process group; resolves once it has exited and its output has
 * ended. Rejects only when spawn itself throws (arguments it refuses).
 */
export function runProcessGroup(options: ProcessGroupOptions): Promise<ProcessGroupResult> {
  const { signal, killGraceMs } = options;
  if (signal.aborted) {
    return Promise.resolve({
      kind: 'stopped',
      reason: 'aborted',
      code: null,
      signal: null,
      tail: [],
    });
  }
  return new Promise<ProcessGroupResult>((resolve) => {
    const child = spawn(options.executable, options.args, {
      shell: false,
      detached: true,
      env: options.env,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const { pid } = child;
    const tail = new LineTail(options.tailLines ?? 0);
    let settled = false;
    let stopReason: 'aborted' | 'timeout' | undefined;
    let killTimer: NodeJS.Timeout | undefined;

    const stop = (reason: 'aborted' | 'timeout'): void => {
      if (stopReason) return;
      stopReason = reason;
      if (killGraceMs <= 0) {
        killGroup(pid, 'SIGKILL');
        return;
      }
      killGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), killGraceMs);
    };
    const onAbort = (): void => stop('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => stop('timeout'), options.timeoutMs);
    const settle = (result: ProcessGroupResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };

    child.on('error', (error) => {
      // Without a pid the process was never started; 'close' may not follow.
      if (pid === undefined) settle({ kind: 'not-started', error });
      else options.log.warn({ err: error, pid, executable: options.executable }, 'child error');
    });
    if (pid === undefined) return;
    options.onSpawn?.(pid);

    if (options.input !== undefined && child.stdin) {
      // The child may exit before reading everything (EPIPE): its exit tells what happened.
      child.stdin.on('error', () => undefined);
      child.stdin.write(options.input);
    }
    // Both are pipes (stdio above), so never null.
    const splitters = (['stdout', 'stderr'] as const).map((stream) => {
      const splitter = new LineSplitter((line) => {
        if (options.onLine?.(line, stream)) tail.push(line);
      });
      child[stream]!.on('data', (chunk: Buffer) => splitter.write(chunk));
      return splitter;
    });

    child.on('exit', (code) => {
      // A stopped group has nobody left to wait for once its leader is gone.
      if (code !== 0 || stopReason !== undefined) killGroup(pid, 'SIGKILL');
    });
    child.on('close', (code, killedBy) => {
      child.stdin?.destroy();
      for (const splitter of splitters) splitter.end();
      const ending = { code, signal: killedBy, tail: tail.lines() };
      settle(
        stopReason === undefined
          ? { kind: 'exited', ...ending }
          : { kind: 'stopped', reason: stopReason, ...ending },
      );
    });
  });
}

/** Send `signal` to the process group led by `pid`, if it still exists. */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
