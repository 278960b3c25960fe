/**
 * Stage paths as users write them → real absolute paths on the host doing the copy.
 *
 * A user writes an absolute file-system path or a buffer path (`$DW_JOB_STRIPED/...`,
 * `$DW_PERSISTENT_STRIPED_<name>/...`). The directive checks already refused shell
 * metacharacters, control characters and `..`; we check again here (records may come from an
 * older version, list files are never checked before staging) and substitute the buffer
 * variables ourselves, so nothing is ever expanded by a shell.
 *
 * Sides: `stage_in` copies from the file system into the buffer, `stage_out` the reverse. A
 * `type=list` request names a list file in `source=`; its lines hold the pairs to copy (see
 * {@link parseStageList}). The list file may be on either side in both directions: the
 * directive checks put it on the file system for `stage_in` and in the buffer for `stage_out`
 * (a job writes the list of its results into its buffer), and a file-system list file for
 * `stage_out` is accepted too. The `destination=` of a list request is checked for its side like
 * any other, but nothing is copied to it: every line names its own destination.
 */
import { posix } from 'node:path';
import { classifyStagePath } from '../../directives/stage-paths';
import { ProviderError, StageError } from '../../errors/errors';
import type { StageRequest } from '../../registry/model';
import type { BufferRoots, ResolvedTransfer } from '../provider';

export type StageDirection = 'in' | 'out';
export type StageSide = 'filesystem' | 'buffer';

export interface ResolvedStagePath {
  side: StageSide;
  path: string;
}

const JOB_VARIABLE = 'DW_JOB_STRIPED';
const PERSISTENT_VARIABLE = 'DW_PERSISTENT_STRIPED_';

/** `stage_in` / `stage_out`, as users write the directive. */
export function directiveName(direction: StageDirection): string {
  return direction === 'in' ? 'stage_in' : 'stage_out';
}

/**
 * Resolve one stage path. Throws StageError (naming the path as written) when the path is not
 * allowed or names a buffer that is not in `roots`.
 */
export function resolveStagePath(written: string, roots: BufferRoots): ResolvedStagePath {
  const checked = classifyStagePath(written);
  if (!checked.ok) throw new StageError(`stage path ${written}: ${checked.message}`);
  if (checked.value.side === 'filesystem') {
    return { side: 'filesystem', path: normalisePath(written) };
  }
  const buffer = checked.value.buffer;
  const variable = buffer.kind === 'job' ? JOB_VARIABLE : `${PERSISTENT_VARIABLE}${buffer.name}`;
  const root = roots[variable];
  if (root === undefined) {
    throw new StageError(`stage path ${written}: $${variable} is not a buffer of this job`);
  }
  if (!root.startsWith('/')) {
    throw new ProviderError(`the buffer root of $${variable} is not an absolute path`, {
      detail: `${variable}=${root}`,
    });
  }
  // The variable is followed by `/` or nothing (classifyStagePath checked).
  const rest = written.slice(variable.length + 1);
  return { side: 'buffer', path: normalisePath(`${root}/${rest}`) };
}

/** Collapse `//` and `.` segments and drop a trailing `/` (except for `/` itself). */
export function normalisePath(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

/** Where each side of a request must be for `direction`. */
function expectedSides(direction: StageDirection): { source: StageSide; destination: StageSide } {
  return direction === 'in'
    ? { source: 'filesystem', destination: 'buffer' }
    : { source: 'buffer', destination: 'filesystem' };
}

function sideProblem(direction: StageDirection, role: 'source' | 'destination'): string {
  return expectedSides(direction)[role] === 'buffer'
    ? `must be in the burst buffer, starting with $${JOB_VARIABLE} or $${PERSISTENT_VARIABLE}<name>`
    : 'must be an absolute path outside the burst buffer';
}

/**
 * Resolve one source/destination pair for `direction`. A `list` request's source (the list
 * file) may be on either side; everything else must point the way of `direction`.
 */
export function resolveRequest(
  request: StageRequest,
  direction: StageDirection,
  roots: BufferRoots,
): ResolvedTransfer {
  const expected = expectedSides(direction);
  const source = resolveStagePath(request.source, roots);
  const destination = resolveStagePath(request.destination, roots);
  if (request.type !== 'list' && source.side !== expected.source) {
    throw new StageError(
      `${directiveName(direction)} source ${request.source} ${sideProblem(direction, 'source')}`,
    );
  }
  if (destination.side !== expected.destination) {
    throw new StageError(
      `${directiveName(direction)} destination ${request.destination} ${sideProblem(direction, 'destination')}`,
    );
  }
  return { request, source: source.path, destination: destination.path, type: request.type };
}

/** Resolve a session's stage requests (`stageIn` for `in`, `stageOut` for `out`). */
export function resolveTransfers(
  requests: readonly StageRequest[],
  direction: StageDirection,
  roots: BufferRoots,
): ResolvedTransfer[] {
  return requests.map((request) => resolveRequest(request, direction, roots));
}

/**
 * Parse a list file (the text of `listWritten`): every line that is not empty and does not
 * start with `#` holds `source destination`, separated by white space (the paths cannot contain
 * white space). Each pair must point the way of `direction`. The entries come back with type
 * `file`; the copier copies an entry whose source is a directory as a directory. Throws
 * StageError naming the list file and the line number for the first bad line.
 */
export function parseStageList(
  text: string,
  listWritten: string,
  direction: StageDirection,
  roots: BufferRoots,
): ResolvedTransfer[] {
  const transfers: ResolvedTransfer[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const where = `${directiveName(direction)} list ${listWritten} line ${index + 1}`;
    const fields = trimmed.split(/\s+/);
    if (fields.length !== 2) {
      throw new StageError(
        `${where}: expected "source destination" (two paths without spaces), found ${fields.length} field${fields.length === 1 ? '' : 's'}`,
      );
    }
    const [source, destination] = fields as [string, string];
    try {
      transfers.push(resolveRequest({ source, destination, type: 'file' }, direction, roots));
    } catch (error) {
      if (error instanceof StageError) {
        throw new StageError(`${where}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
  return transfers;
}
