/**
 * Reading the values Slurm passes: tokens, numeric ids, the job script and the node list.
 * Each failure names the flag or file, in one line.
 *
 * Files are read with the blocking calls of `node:fs`, which every call has loaded already:
 * `node:fs/promises` and `node:child_process` would load a dozen more of Node's modules (about
 * 1.5 ms) in `job_process`, `real_size` and `paths`, which run inside slurmctld.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { NotFoundError, ValidationError } from '../errors/errors';

const JOB_ID = /^[1-9][0-9]{0,19}$/;
const NAME_OR_JOB_ID = /^([1-9][0-9]{0,19}|[A-Za-z][A-Za-z0-9_]{0,63})$/;
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** `--token`: a job id, or (where `allowName`) a persistent buffer's name. */
export function tokenArg(value: string | undefined, allowName: boolean): string {
  const text = value ?? '';
  if ((allowName ? NAME_OR_JOB_ID : JOB_ID).test(text)) return text;
  throw new ValidationError(
    `--token "${text}" is not a ${allowName ? 'job id or burst buffer name' : 'job id'}`,
  );
}

/** A numeric uid or gid flag. */
export function idArg(flag: string, value: string | undefined): number {
  const text = value ?? '';
  if (!/^(0|[1-9][0-9]{0,9})$/.test(text) || Number(text) > 4294967294) {
    throw new ValidationError(`--${flag} "${text}" is not a numeric id`);
  }
  return Number(text);
}

/** The job script, as text. Slurm's batch scripts end with NUL bytes; the parser strips them. */
export async function readJobScript(path: string): Promise<string> {
  return readRegularFile(path, 'the job script');
}

/**
 * A regular file's text. Anything else (a FIFO, a device such as /dev/zero, a directory) is
 * refused without reading: opened non-blocking, so a FIFO with no writer cannot hang the call.
 */
function readRegularFile(path: string, what: string): string {
  const unreadable = (error: unknown) =>
    new NotFoundError(
      `cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw unreadable(error);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new ValidationError(`${what} ${path} is not a regular file`);
    return readFileSync(fd, 'utf8');
  } catch (error) {
    throw error instanceof ValidationError ? error : unreadable(error);
  } finally {
    closeSync(fd);
  }
}

/** `--nodehostnamefile`: Slurm node names, one per line. An empty file means no nodes. */
export async function readNodeNames(path: string): Promise<string[]> {
  const text = readRegularFile(path, 'the node list');
  const names = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const bad = names.find((name) => !NODE_NAME.test(name));
  if (bad !== undefined)
    throw new ValidationError(`node list ${path} has an invalid node name "${bad.slice(0, 60)}"`);
  return [...new Set(names)];
}

/**
 * The primary gid of a uid, from the system's user database (`getent passwd`, so LDAP and sssd
 * users are found too). No shell is involved.
 */
export async function primaryGid(uid: number): Promise<number> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile('getent', ['passwd', String(uid)], { timeout: 2000 }, (error, stdout) => {
      const gid = stdout.split(':')[3];
      if (error || gid === undefined || !/^[0-9]+$/.test(gid)) {
        reject(
          new NotFoundError(
            `uid ${uid} has no entry in the user database, so its group is unknown`,
          ),
        );
      } else {
        resolve(Number(gid));
      }
    });
  });
}
