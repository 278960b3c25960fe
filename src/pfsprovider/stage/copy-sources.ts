/**
 * The sources of the three kinds of transfer as the copy engine takes them, for the copy
 * (copy.ts) and for its measuring (copy-measure.ts) alike, so that both see the same files and
 * refuse the same sources: a `file` transfer's source is a regular file (a link given as the
 * source is followed), a `directory` transfer's a directory, and a `list` transfer's a regular
 * file whose lines are all checked before any entry is looked at; each entry of a list is a
 * `directory` transfer when its source is a directory, else a `file` transfer.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { StageError } from '../../errors/errors';
import type { BufferRoots, ResolvedTransfer } from '../provider';
import type { CopyErrors } from './copy-errors';
import { trimSlashes, Where } from './copy-where';
import { parseStageList, type StageDirection } from './resolve';

/** A `file` transfer's source (stat'ed, a link followed, unless `known`): a regular file. */
export function fileSource(where: Where, errors: CopyErrors, known?: Stats): Stats {
  const source = known ?? errors.onSource(where, () => statSync(where.source));
  const subject = `${errors.directive} source ${where.sourceWritten}`;
  if (source.isDirectory()) {
    throw new StageError(`${subject} is a directory; use type=directory to copy a directory`);
  }
  if (!source.isFile()) throw new StageError(`${subject} is not a regular file`);
  return source;
}

/** The paths of a `directory` transfer: messages name them without trailing slashes. */
export function directoryWhere(transfer: ResolvedTransfer): Where {
  const where = Where.of(transfer);
  where.sourceWritten = trimSlashes(where.sourceWritten);
  where.destinationWritten = trimSlashes(where.destinationWritten);
  return where;
}

/** A `directory` transfer's source (stat'ed, a link followed, unless `known`): a directory. */
export function directorySource(where: Where, errors: CopyErrors, known?: Stats): Stats {
  const source = known ?? errors.onSource(where, () => statSync(where.source));
  if (!source.isDirectory()) {
    throw new StageError(`${errors.directive} source ${where.sourceWritten} is not a directory`);
  }
  return source;
}

/** The entries of a `list` transfer: its list file read, every line checked. */
export function listEntries(
  transfer: ResolvedTransfer,
  errors: CopyErrors,
  direction: StageDirection,
  roots: BufferRoots,
): ResolvedTransfer[] {
  const where = Where.of(transfer);
  // Only a regular file: reading a named pipe would wait for a writer.
  if (!errors.onSource(where, () => statSync(transfer.source)).isFile()) {
    throw new StageError(`${errors.directive} list ${where.sourceWritten} is not a regular file`);
  }
  const text = errors.onSource(where, () => readFileSync(transfer.source, 'utf8'));
  return parseStageList(text, transfer.request.source, direction, roots);
}

/** A list entry's source, stat'ed (a link followed): a directory is copied as one. */
export function listEntrySource(entry: ResolvedTransfer, errors: CopyErrors): Stats {
  return errors.onSource(Where.of(entry), () => statSync(entry.source));
}
