/**
 * The parent side of staging: dacd (root) starts the stager child (stager-main.ts), which
 * drops to the session owner's uid/gid before it touches a user file, and follows its
 * progress. See stager-main.ts for the protocol.
 *
 * The child gets a minimal environment (PATH of system directories, LANG, NODE_NO_WARNINGS)
 * and `/` as its working directory; dacd keeps the child's stdin open while it runs, so the
 * child stops by itself when dacd dies. Aborting kills the child with SIGKILL and rejects once
 * it is gone.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AbortedError, ProviderError, StageError } from '../../errors/errors';
import type { Logger } from '../../logging/logger';
import type {
  BufferRoots,
  ResolvedTransfer,
  StageContext,
  Stager,
  TransferProgress,
} from '../provider';
import { directiveName, resolveTransfers, type StageDirection } from './resolve';
import type { StagerMessage, StagerRequest } from './stager-main';

export interface RunStagerOptions {
  owner: { uid: number; gid: number };
  direction: StageDirection;
  transfers: ResolvedTransfer[];
  roots: BufferRoots;
  signal: AbortSignal;
  onProgress(progress: TransferProgress): void;
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

/** Copy `transfers` as `owner` in a stager child. Resolves with the final counts. */
export function runStager(options: RunStagerOptions): Promise<TransferProgress> {
  const { owner, direction, signal, log } = options;
  const what = directiveName(direction);
  if (signal.aborted) return Promise.reject(new AbortedError(`${what} was cancelled`));

  return new Promise<TransferProgress>((resolve, reject) => {
    const script = stagerScriptPath();
    const child = spawn(process.execPath, [script], {
      cwd: '/',
      env: {
        // System directories only: the child runs `getent` while it is still root.
        PATH: CHILD_PATH,
        LANG: process.env.LANG ?? 'C.UTF-8',
        NODE_NO_WARNINGS: '1',
      },
      shell: false,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const started = Date.now();
    log.info(
      {
        stagerPid: child.pid,
        direction,
        uid: owner.uid,
        gid: owner.gid,
        transfers: options.transfers.length,
      },
      'stager started',
    );

    let result: TransferProgress | undefined;
    /** The last counts the child reported: what a failed copy wrote, for the log. */
    let latest: TransferProgress = { bytes: 0, files: 0 };
    let failure: Error | undefined;
    let aborted = false;
    let settled = false;
    const stderrTail: string[] = [];

    const settle = (error: Error | undefined): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(result!);
    };
    const onAbort = (): void => {
      if (result !== undefined) return; // finished already; only its exit is outstanding
      aborted = true;
      child.kill('SIGKILL');
    };
    signal.addEventListener('abort', onAbort, { once: true });

    child.on('error', (error) => {
      // The process could not be started (or killed); 'close' may not follow a failed spawn.
      if (child.pid === undefined) {
        settle(
          new ProviderError(`${what}: the stager process could not be started`, {
            detail: String(error),
            cause: error,
          }),
        );
      } else {
        log.warn({ err: error, stagerPid: child.pid }, 'stager process error');
      }
    });
    // The child may exit before reading everything (EPIPE): its exit tells what happened.
    child.stdin.on('error', () => undefined);
    const request: StagerRequest = {
      uid: owner.uid,
      gid: owner.gid,
      direction,
      roots: options.roots,
      transfers: options.transfers,
    };
    child.stdin.write(`${JSON.stringify(request)}\n`);

    createInterface({ input: child.stderr }).on('line', (line) => {
      stderrTail.push(line);
      if (stderrTail.length > STDERR_LINES) stderrTail.shift();
      log.debug({ stagerPid: child.pid, stderr: line }, 'stager stderr');
    });

    createInterface({ input: child.stdout }).on('line', (line) => {
      let message: StagerMessage;
      try {
        message = JSON.parse(line) as StagerMessage;
      } catch {
        log.warn({ stagerPid: child.pid, line }, 'stager wrote a line that is not JSON');
        return;
      }
      if (message.type === 'progress') {
        if (!aborted && result === undefined && failure === undefined) {
          latest = { bytes: message.bytes, files: message.files };
          try {
            options.onProgress(latest);
          } catch (error) {
            // Progress is informational: a failing report must not take dacd down.
            log.warn({ err: error, stagerPid: child.pid }, 'stage progress report failed');
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
    });

    child.on('close', (code, killedBy) => {
      child.stdin.destroy();
      const elapsedMs = Date.now() - started;
      if (aborted) {
        log.info({ stagerPid: child.pid, elapsedMs }, 'stager killed: staging was cancelled');
        settle(new AbortedError(`${what} was cancelled`));
      } else if (result !== undefined && code === 0) {
        log.info({ stagerPid: child.pid, elapsedMs, ...result }, 'stager finished');
        settle(undefined);
      } else if (failure !== undefined) {
        log.warn({ stagerPid: child.pid, elapsedMs, ...latest, err: failure }, 'stager failed');
        settle(failure);
      } else {
        const how = killedBy ? `was killed by ${killedBy}` : `exited with code ${code}`;
        const stderr = stderrTail.length > 0 ? stderrTail.join('\n') : '(nothing)';
        const error = new ProviderError(`${what}: the stager process ${how} without finishing`, {
          detail: `exit code ${code}, signal ${killedBy}; last lines on stderr:\n${stderr}`,
        });
        log.warn(
          { stagerPid: child.pid, elapsedMs, ...latest, err: error, detail: error.detail },
          'stager died',
        );
        settle(error);
      }
    });
  });
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
      onProgress: (progress) => context.onProgress(progress),
      log: context.log,
    });
  };
}
