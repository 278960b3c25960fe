/**
 * The stager child process (`node dist/pfsprovider/stage/stager-main.js`, started by
 * run-stager.ts). It copies a session's stage requests as the session's owner.
 *
 * Protocol:
 * - stdin: ONE JSON line `{ uid, gid, direction, roots, transfers }` (transfers resolved by
 *   the parent). The parent keeps stdin open; when it closes (the parent died or cancels),
 *   the stager stops at once: exit code 1, or killed by SIGKILL (itself) when a large-file copy
 *   is running in the thread pool, which `process.exit` would wait for.
 * - Before touching any user file the process becomes `uid`/`gid` (with the user's
 *   supplementary groups) and sets umask 077. Not running as root, it only stages as itself.
 * - Then, before copying, it measures what the copy will copy, as that user
 *   (copy-measure.ts): the totals, or none when a source cannot be measured (the copy then
 *   fails on it, or not, as it would anyway).
 * - stdout: JSON lines `{"type":"progress","bytes":N,"files":N}`, then exactly one of
 *   `{"type":"done","bytes":N,"files":N}` (exit code 0) or
 *   `{"type":"error","kind":"user"|"transient","message":"...","detail":"..."}` (exit code 1;
 *   `message` is for the job owner, the optional `detail` for the log). A copy that fails
 *   writes a last progress line first, with what it did write (see copy.ts). With totals, the
 *   first line, before anything is copied, is
 *   `{"type":"progress","bytes":0,"files":0,"totalBytes":N,"totalFiles":N}`, and every
 *   progress line carries `totalBytes` and `totalFiles`.
 *   Nothing else is written to stdout; debug text goes to stderr.
 */
import { execFileSync } from 'node:child_process';
import { DacError } from '../../errors/errors';
import type { BufferRoots, ResolvedTransfer, TransferProgress, TransferTotals } from '../provider';
import { copyTransfers, DEFAULT_CONCURRENCY, largeCopiesInFlight } from './copy';
import { measureTransfers } from './copy-measure';
import type { StageDirection } from './resolve';

// One libuv thread per large-file copy in flight; this must be set before the first
// asynchronous file-system call starts the thread pool.
process.env.UV_THREADPOOL_SIZE ??= String(DEFAULT_CONCURRENCY);

/** The request line. */
export interface StagerRequest {
  uid: number;
  gid: number;
  direction: StageDirection;
  roots: BufferRoots;
  transfers: ResolvedTransfer[];
}

/** The lines the stager writes. */
export type StagerMessage =
  | ({ type: 'progress' } & TransferProgress & Partial<TransferTotals>)
  | ({ type: 'done' } & TransferProgress)
  | { type: 'error'; kind: 'user' | 'transient'; message: string; detail?: string };

/** A request line longer than this is refused (a session has a bounded number of requests). */
const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

/** A failure before or while copying; `kind` as in the error line. */
class StagerFailure extends Error {
  constructor(
    readonly kind: 'user' | 'transient',
    message: string,
  ) {
    super(message);
  }
}

let finished = false;

function send(message: StagerMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/**
 * End the process. process.exit would wait for large-file copies running in the thread pool
 * (libuv joins its threads at exit), so with one running the stager kills itself instead, which
 * stops them at once.
 */
function stop(code: number): void {
  if (largeCopiesInFlight() > 0) process.kill(process.pid, 'SIGKILL');
  process.exit(code);
}

/** Write the last line and exit once it is out. */
function finish(message: StagerMessage, code: number): void {
  if (finished) return;
  finished = true;
  process.stdout.write(`${JSON.stringify(message)}\n`, () => stop(code));
  // If stdout is gone, the callback may never come.
  setTimeout(() => stop(code), 2000).unref();
}

function fail(kind: 'user' | 'transient', message: string, debug?: unknown): void {
  if (debug !== undefined) process.stderr.write(`stager: ${debugText(debug)}\n`);
  const detail = debug instanceof DacError ? debug.detail : undefined;
  finish({ type: 'error', kind, message, ...(detail === undefined ? {} : { detail }) }, 1);
}

function debugText(error: unknown): string {
  if (error instanceof DacError && error.detail) return `${error.message} (${error.detail})`;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** Read the request line; `onEnd` runs when stdin ends after it. */
function readRequest(onEnd: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let line: string | undefined;
    process.stdin.on('data', (chunk: Buffer) => {
      if (line !== undefined) return; // anything after the request line is ignored
      const newline = chunk.indexOf(0x0a);
      chunks.push(newline < 0 ? chunk : chunk.subarray(0, newline));
      length += newline < 0 ? chunk.length : newline;
      if (length > MAX_REQUEST_BYTES) {
        reject(new StagerFailure('transient', 'the stager request is too long'));
        return;
      }
      if (newline >= 0) {
        line = Buffer.concat(chunks).toString('utf8');
        resolve(line);
      }
    });
    const ended = (): void => {
      if (line === undefined) {
        reject(new StagerFailure('transient', 'the stager got no request on stdin'));
      } else {
        onEnd();
      }
    };
    process.stdin.on('end', ended);
    process.stdin.on('close', ended);
    process.stdin.on('error', ended);
  });
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 2 ** 32;
}

/** Check the shape of the request line (it comes from our own parent, but is parsed JSON). */
export function parseRequest(line: string): StagerRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new StagerFailure('transient', 'the stager request is not valid JSON');
  }
  const request = value as Partial<StagerRequest> | null;
  const bad = (what: string) => new StagerFailure('transient', `the stager request ${what}`);
  if (typeof request !== 'object' || request === null) throw bad('is not an object');
  if (!isId(request.uid) || !isId(request.gid)) throw bad('has no valid uid and gid');
  if (request.direction !== 'in' && request.direction !== 'out') throw bad('has no direction');
  const roots = request.roots as unknown;
  if (
    typeof roots !== 'object' ||
    roots === null ||
    Object.values(roots).some((root) => typeof root !== 'string')
  ) {
    throw bad('has no valid roots');
  }
  if (!Array.isArray(request.transfers)) throw bad('has no transfers');
  for (const transfer of request.transfers as unknown[]) {
    const t = transfer as Partial<ResolvedTransfer> | null;
    const written = t?.request as Partial<ResolvedTransfer['request']> | undefined;
    if (
      typeof t?.source !== 'string' ||
      typeof t.destination !== 'string' ||
      !['file', 'directory', 'list'].includes(t.type as string) ||
      typeof written?.source !== 'string' ||
      typeof written.destination !== 'string'
    ) {
      throw bad('has an invalid transfer');
    }
  }
  return request as StagerRequest;
}

/**
 * Become `uid`/`gid`. As root: supplementary groups from the user's passwd entry (or only
 * `gid` without one), then gid, then uid. Not as root: only staging as ourselves is possible.
 */
export function dropPrivileges(uid: number, gid: number): void {
  const currentUid = process.getuid!();
  const currentGid = process.getgid!();
  if (currentUid !== 0) {
    if (uid === currentUid && gid === currentGid) return;
    throw new StagerFailure('transient', `dacd must run as root to stage data as uid ${uid}`);
  }
  const name = userName(uid);
  try {
    if (name === undefined) process.setgroups!([gid]);
    else (process as ProcessWithInitgroups).initgroups(name, gid);
    process.setgid!(gid);
    process.setuid!(uid);
  } catch (error) {
    throw new StagerFailure(
      'transient',
      `the stager could not switch to uid ${uid} gid ${gid}: ${(error as Error).message}`,
    );
  }
  if (process.getuid!() !== uid || process.getgid!() !== gid || process.geteuid!() !== uid) {
    throw new StagerFailure('transient', `the stager could not switch to uid ${uid} gid ${gid}`);
  }
}

/** process.initgroups exists on POSIX, but @types/node does not declare it. */
type ProcessWithInitgroups = NodeJS.Process & {
  initgroups(user: string | number, extraGroup: string | number): void;
};

/** The user name of `uid` from `getent passwd`, or undefined when it has no entry. */
function userName(uid: number): string | undefined {
  try {
    const entry = execFileSync('getent', ['passwd', String(uid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 30_000,
    });
    const name = entry.split('\n')[0]?.split(':')[0];
    return name === undefined || name === '' ? undefined : name;
  } catch {
    return undefined; // exit code 2: no such user
  }
}

async function main(): Promise<void> {
  const controller = new AbortController();
  process.stdout.on('error', () => stop(1)); // the parent is gone
  const line = await readRequest(() => {
    // The parent is gone or cancels: stop now.
    controller.abort();
    fail('transient', 'staging was cancelled');
  });
  const request = parseRequest(line);
  dropPrivileges(request.uid, request.gid);
  process.umask(0o077);
  const totals = await measureTransfers(request.transfers, {
    signal: controller.signal,
    roots: request.roots,
    direction: request.direction,
    onUnmeasured: (error) => process.stderr.write(`stager: no totals: ${debugText(error)}\n`),
  });
  const progressLine = (progress: TransferProgress): StagerMessage => ({
    type: 'progress',
    bytes: progress.bytes,
    files: progress.files,
    ...totals,
  });
  if (totals !== undefined && !finished) send(progressLine({ bytes: 0, files: 0 }));
  const result = await copyTransfers(request.transfers, {
    signal: controller.signal,
    roots: request.roots,
    direction: request.direction,
    onProgress: (progress) => {
      if (!finished) send(progressLine(progress));
    },
  });
  finish({ type: 'done', bytes: result.bytes, files: result.files }, 0);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    if (error instanceof StagerFailure) fail(error.kind, error.message, error);
    else if (error instanceof DacError) {
      fail(error.kind === 'user' ? 'user' : 'transient', error.message, error);
    } else fail('transient', 'the stager failed unexpectedly', error);
  });
}
