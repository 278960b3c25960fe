/**
 * The `--pathfile` that `paths` writes (contract §4.3, §4.4): `NAME=value` lines Slurm appends
 * verbatim to the job's environment, so no quoting, no blank lines, absolute paths only.
 */
import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DacError } from '../errors/errors';
import { jobPrivatePath, jobStripedPath, persistentStripedPath } from '../registry/buffer-paths';
import type { SessionRecord } from '../registry/model';

/** The session fields the path file depends on. */
export type PathFileSession = Pick<
  SessionRecord,
  'token' | 'bricks' | 'accessMode' | 'persistentAttachments'
>;

/** The environment lines for a job, in a fixed order: job striped, job private, persistent. */
export function pathFileLines(session: PathFileSession, mountRoot: string): string[] {
  const lines: string[] = [];
  // A session without bricks has no job buffer (persistentdw only): nothing is mounted there.
  const hasJobBuffer = session.bricks.length > 0;
  const modes = session.accessMode.split(',');
  if (hasJobBuffer && modes.includes('striped')) {
    lines.push(`DW_JOB_STRIPED=${jobStripedPath(mountRoot, session.token)}`);
  }
  if (hasJobBuffer && modes.includes('private')) {
    lines.push(`DW_JOB_PRIVATE=${jobPrivatePath(mountRoot, session.token)}`);
  }
  for (const name of session.persistentAttachments) {
    lines.push(`DW_PERSISTENT_STRIPED_${name}=${persistentStripedPath(mountRoot, name)}`);
  }
  return lines;
}

/** The file's text: each line ends in `\n`; an empty file when there is nothing to set. */
export function pathFileContent(lines: readonly string[]): string {
  return lines.map((line) => `${line}\n`).join('');
}

/** The path file could not be written (permissions, missing directory, full disk). */
export class PathFileError extends DacError {
  readonly code = 'E_PATH_FILE';
  readonly kind = 'fatal';
}

/**
 * Create or replace `path` with `content` and `mode`, atomically: write a temporary file in
 * the same directory, then rename it over `path`, so a reader sees the old file or the whole
 * new one, never a half-written one.
 *
 * With blocking calls: `paths` runs inside slurmctld, and `fs/promises` and `crypto` would add
 * a dozen of Node's modules to load. The temporary name needs to be unlikely, not secret: it is
 * created with `wx`, which never follows or reuses what is already there.
 */
export function writeFileAtomically(path: string, content: string, mode = 0o644): void {
  const unique = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${unique}.tmp`);
  try {
    writeFileSync(temporary, content, { flag: 'wx', mode });
    // The umask applies to the mode given at creation; set it exactly.
    chmodSync(temporary, mode);
    renameSync(temporary, path);
  } catch (error) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // the error that matters is the one below
    }
    throw new PathFileError(
      `cannot write the path file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      { cause: error },
    );
  }
}
