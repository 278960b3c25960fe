/**
 * The parent side of staging: dacd (root) starts the stager child (stager-main.ts), which
 * drops to the session owner's uid/gid before it touches a user file, and follows its
 * progress. See stager-main.ts for the protocol.
 *
 * The child gets a minimal environment (PATH of system directories, LANG, NODE_NO_WARNINGS)
 * and `/` as its working directory, and leads a process group of its own (process-group.ts);
 * dacd keeps the child's stdin open while it runs, so the child stops by itself when dacd dies.
 * Aborting kills the group with SIGKILL and rejects once the child is gone.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AbortedError, ProviderError, StageError } from '../../errors/errors';
import type { Logger } from '../../logging/logger';
import type {
  BufferRoots,
  ResolvedTransfer,
  StageContext,
  Stager,
  TransferProgress,
  TransferTotals,
} from '../provider';
import { runProcessGroup, type ProcessGroupResult } from '../process-group';
import { directiveName, resolveTransfers, type StageDirection } from './resolve';
import type { StagerMessage, StagerRequest } from './stager-main';

export interface RunStagerOptions {
  owner: { uid: number; gid: number };
  direction: StageDirection;
  transfers: ResolvedTransfer[];
  roots: BufferRoots;
  signal: AbortSignal;
  /** The counts so far, and the totals when the child could measure them. */
  onProgress(progress: TransferProgress, totals?: TransferTotals): void;
  log: Logger;
}

const CHILD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** How many of the child's last stderr lines go into an error's detail. */
const STDERR_LINES = 20;

/**
 * The compiled child script: next to this module when running from dist/, else (under ts-jest,
 * where this module is src/...) the build in dist/ (the test set-up builds it first).
 */
export function stagerScriptPath(): string {
  const beside = join(__dirname, 'stager-main.js');
  if (existsSync(beside)) return beside;
  return join(__dirname, '..', '..', '..', 'dist', 'pfsprovider', 'stage', 'stager-main.js');
}

/** The totals of a progress line, when it has both (as non-negative integers). */
function totalsOf(message: Partial<TransferTotals>): TransferTotals | undefined {
  const { totalBytes, totalFiles } = message;
  const count = (value: unknown): value is number =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  return count(totalBytes) && count(totalFiles) ? { totalBytes, totalFiles } : undefined;
}

/** Copy `transfers` as `owner` in a stager child. Resolves with the final counts. */
export async function runStager(options: RunStagerOptions): Promise<TransferProgress> {
  const { owner, direction, signal, log } = options;
  const what = directiveName(direction);
  if (signal.aborted) throw new AbortedError(`${what} was cancelled`);

  let pid: number | undefined;
  let result: TransferProgress | undefined;
  /** The last counts the child reported: what a failed copy wrote, for the log. */
  let latest: TransferProgress = { bytes: 0, files: 0 };
  /** What the child measured before copying, if it could. */
  let totals: TransferTotals | undefined;
  let failure: Error | undefined;
  // Once the child has sent its result, a cancel comes too late: only its exit is outstanding.
  const stopping = new AbortController();
  const onAbort = (): void => {
    if (result === undefined) stopping.abort();
  };
  signal.addEventListener('abort', onAbort, { once: true });

  const onMessage = (line: string): void => {
    let message: StagerMessage;
    try {
      message = JSON.parse(line) as StagerMessage;
    } catch {
      log.warn({ stagerPid: pid, line }, 'stager wrote a line that is not JSON');
      return;
    }
    if (message.type === 'progress') {
      if (!stopping.signal.aborted && result === undefined && failure === undefined) {
        latest = { bytes: message.bytes, files: message.files };
        totals = totalsOf(message) ?? totals;
        try {
          options.onProgress(latest, totals);
        } catch (error) {
          // Progress is informational: a failing report must not take dacd down.
          log.warn({ err: error, stagerPid: pid }, 'stage progress report failed');
        }
      }
    } else if (message.type === 'done') {
      result = { bytes: message.bytes, files: message.files };
    } else if (message.type === 'error') {
      const detail = message.detail === undefined ? {} : { detail: message.detail };
      failure =
        message.kind === 'user'
          ? new StageError(message.message, detail)
          : new ProviderError(message.message, detail);
    }
  };

  const request: StagerRequest = {
    uid: owner.uid,
    gid: owner.gid,
    direction,
    roots: options.roots,
    transfers: options.transfers,
  };
  const started = Date.now();
  let exit: ProcessGroupResult;
  try {
    exit = await runProcessGroup({
      executable: process.execPath,
      args: [stagerScriptPath()],
      cwd: '/',
      env: {
        // System directories only: the child runs `getent` while it is still root.
        PATH: CHILD_PATH,
        LANG: process.env.LANG ?? 'C.UTF-8',
        NODE_NO_WARNINGS: '1',
      },
      // Kept open while the child runs: its end tells the child that dacd is gone.
      input: `${JSON.stringify(request)}\n`,
      signal: stopping.signal,
      // The copy has nothing to clean up: a cancelled stager is killed at once.
      killGraceMs: 0,
      onSpawn: (childPid) => {
        pid = childPid;
        log.info(
          {
            stagerPid: pid,
            direction,
            uid: owner.uid,
            gid: owner.gid,
            transfers: options.transfers.length,
          },
          'stager started',
        );
      },
      onLine: (line, stream) => {
        if (stream === 'stdout') {
          onMessage(line);
          return false;
        }
        log.debug({ stagerPid: pid, stderr: line }, 'stager stderr');
        return true;
      },
      tailLines: STDERR_LINES,
      log,
    });
  } finally {
    signal.removeEventListener('abort', onAbort);
  }

  if (exit.kind === 'not-started') {
    throw new ProviderError(`${what}: the stager process could not be started`, {
      detail: String(exit.error),
      cause: exit.error,
    });
  }
  const elapsedMs = Date.now() - started;
  // No timeout is set, so only a cancel stops the child.
  if (exit.kind === 'stopped') {
    log.info({ stagerPid: pid, elapsedMs }, 'stager killed: staging was cancelled');
    throw new AbortedError(`${what} was cancelled`);
  }
  if (result !== undefined && exit.code === 0) {
    log.info({ stagerPid: pid, elapsedMs, ...result, ...totals }, 'stager finished');
    return result;
  }
  if (failure !== undefined) {
    log.warn({ stagerPid: pid, elapsedMs, ...latest, ...totals, err: failure }, 'stager failed');
    throw failure;
  }
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const stderr = exit.tail.length > 0 ? exit.tail.join('\n') : '(nothing)';
  const error = new ProviderError(`${what}: the stager process ${how} without finishing`, {
    detail: `exit code ${exit.code}, signal ${exit.signal}; last lines on stderr:\n${stderr}`,
  });
  log.warn(
    { stagerPid: pid, elapsedMs, ...latest, err: error, detail: error.detail },
    'stager died',
  );
  throw error;
}

/**
 * The Stager the providers use: resolve the session's requests for `direction` against
 * `roots`, then copy them as the session's owner. No requests: nothing is started.
 */
export function makeStager(): Stager {
  return async (context: StageContext, direction, roots) => {
    const requests = direction === 'in' ? context.session.stageIn : context.session.stageOut;
    if (requests.length === 0) return { bytes: 0, files: 0 };
    const transfers = resolveTransfers(requests, direction, roots);
    return runStager({
      owner: context.session.owner,
      direction,
      transfers,
      roots,
      signal: context.signal,
      onProgress: (progress, totals) => context.onProgress(progress, totals),
      log: context.log,
    });
  };
}
