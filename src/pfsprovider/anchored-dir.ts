/**
 * Directory operations for root on trees that a job user can write, that never follow a link.
 *
 * A job user owns the inside of their buffer, so between root's check of a path and its use
 * the user can swap any component for a symbolic link (to `/etc`, say). Path-based calls
 * (`mkdir -p`, `chown`, `chmod`, `fs.rm`) then act outside the buffer as root. Here every
 * operation is made relative to an open directory, as openat(2) would: a name inside an open
 * directory is reached through `/proc/self/fd/<fd>/<name>`, which the kernel resolves from that
 * directory whatever has been renamed since, and each directory is opened with `O_NOFOLLOW`
 * and `O_DIRECTORY`, so a link or a file in its place is refused instead of followed.
 * Ownership and mode are set on the open descriptor (fchown, fchmod). Removing unlinks names
 * (which never follows a link) and descends only into directories opened this way, so a hard
 * link to an outside file loses one name and keeps its content.
 *
 * Only the first directory is opened by path: it must be one that only root can change
 * (a brick directory, a link directory under the mount root).
 */
import { constants, type Stats } from 'node:fs';
import {
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rmdir,
  stat,
  unlink,
} from 'node:fs/promises';
import { ProviderError } from '../errors/errors';

const OPEN_DIR_FLAGS =
  constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * How deep a removal descends before it moves a deeper directory up to the top of the tree
 * (each level holds one descriptor open, and a user can nest directories without end).
 */
const MAX_OPEN_DEPTH = 32;

/** How often one name is retried when the user keeps changing it during a removal. */
const MAX_ATTEMPTS = 5;

/** The owner a directory is given. */
export interface DirOwner {
  uid: number;
  gid: number;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** A directory held open; names inside it are resolved from it, never from a path. */
export class AnchoredDir {
  private constructor(
    private readonly handle: FileHandle,
    /** The path it had when opened, for messages only. */
    readonly label: string,
  ) {}

  /**
   * Open `path`, a directory only root can change. Undefined when it does not exist. Fails when
   * `/proc/self/fd` does not lead back to it (no /proc), since every other call relies on it.
   */
  static async open(path: string): Promise<AnchoredDir | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
    const dir = new AnchoredDir(handle, path);
    try {
      const [held, viaProc] = await Promise.all([handle.stat(), stat(dir.at('.'))]);
      if (!sameFile(held, viaProc)) throw new Error('different file');
    } catch (error) {
      await handle.close();
      throw new ProviderError(
        `cannot reach ${path} through /proc/self/fd: the local provider needs /proc mounted`,
        { detail: String(error), cause: error },
      );
    }
    return dir;
  }

  /** The path that reaches `name` inside this directory. */
  private at(name: string): string {
    return `/proc/self/fd/${this.handle.fd}/${name}`;
  }

  private labelOf(name: string): string {
    return `${this.label}/${name}`;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /**
   * Open the directory `name` in this one; a link, a file or nothing there is refused, naming
   * the path.
   */
  async openChild(name: string): Promise<AnchoredDir> {
    try {
      return new AnchoredDir(await open(this.at(name), OPEN_DIR_FLAGS), this.labelOf(name));
    } catch (error) {
      throw await refusal(this.labelOf(name), this.at(name), error);
    }
  }

  /**
   * Make `name` in this directory a directory owned by `owner` with `mode`, new or not, and
   * return it open. A link or a file in its place is refused, and nothing it points to changes.
   */
  async ownedDir(name: string, owner: DirOwner, mode: number): Promise<AnchoredDir> {
    try {
      await mkdir(this.at(name), { mode });
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
    const dir = await this.openChild(name);
    try {
      const info = await dir.handle.stat();
      if (info.uid !== owner.uid || info.gid !== owner.gid) {
        await dir.handle.chown(owner.uid, owner.gid);
      }
      if ((info.mode & 0o7777) !== mode) await dir.handle.chmod(mode);
    } catch (error) {
      await dir.close();
      throw error;
    }
    return dir;
  }

  /** `ownedDir` for a chain of names, each inside the previous one; closes what it opens. */
  async ownedPath(names: string[], owner: DirOwner, mode: number): Promise<void> {
    const opened: AnchoredDir[] = [];
    try {
      for (const name of names) {
        opened.push(await (opened.at(-1) ?? this).ownedDir(name, owner, mode));
      }
    } finally {
      for (const dir of opened) await dir.close();
    }
  }

  /**
   * Remove `name` from this directory and, if it is a directory, everything in it, without
   * following a link. Removing what is not there succeeds.
   */
  async remove(name: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const removed = await this.tryRemove(name, async (top) => {
        // A directory nested deeper than MAX_OPEN_DEPTH is moved up to `top` and removed by
        // the next pass; a pass that moves nothing leaves `top` empty.
        while ((await top.emptyOut(top, 0)) > 0);
      });
      if (removed) return;
    }
    throw changing(this.labelOf(name));
  }

  /**
   * One try at removing `name`: unlink it, or empty it with `empty` and remove it. False when
   * the user changed it meanwhile (a directory where a file was, new entries).
   */
  private async tryRemove(name: string, empty: (dir: AnchoredDir) => Promise<void>) {
    let dir: AnchoredDir;
    try {
      dir = new AnchoredDir(await open(this.at(name), OPEN_DIR_FLAGS), this.labelOf(name));
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT') return true;
      if (code !== 'ENOTDIR' && code !== 'ELOOP') throw error;
      return this.unlinkEntry(name);
    }
    try {
      await empty(dir);
    } finally {
      await dir.close();
    }
    try {
      await rmdir(this.at(name));
      return true;
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT') return true;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') return false;
      throw error;
    }
  }

  /** Unlink a name that is not a directory; false when it has become one. */
  private async unlinkEntry(name: string): Promise<boolean> {
    try {
      await unlink(this.at(name));
      return true;
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT') return true;
      if (code === 'EISDIR' || code === 'EPERM') return false;
      throw error;
    }
  }

  /**
   * Remove everything in this directory, `depth` levels below `top`; directories at
   * MAX_OPEN_DEPTH are moved into `top` instead. Returns how many were moved.
   */
  private async emptyOut(top: AnchoredDir, depth: number): Promise<number> {
    let moved = 0;
    for (const entry of await readdir(this.at('.'), { withFileTypes: true })) {
      const name = entry.name;
      let done = false;
      for (let attempt = 0; attempt < MAX_ATTEMPTS && !done; attempt++) {
        if (!entry.isDirectory() && attempt === 0) {
          done = await this.unlinkEntry(name);
        } else if (depth + 1 >= MAX_OPEN_DEPTH) {
          done = await this.moveInto(top, name);
          if (done) moved++;
        } else {
          done = await this.tryRemove(name, async (dir) => {
            moved += await dir.emptyOut(top, depth + 1);
          });
        }
      }
      if (!done) throw changing(this.labelOf(name));
    }
    return moved;
  }

  /** Move `name` into `top` under a new name (rename never follows a link). */
  private async moveInto(top: AnchoredDir, name: string): Promise<boolean> {
    let info: Stats;
    try {
      info = await lstat(this.at(name));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return true;
      throw error;
    }
    if (!info.isDirectory()) return this.unlinkEntry(name);
    for (let n = 0; ; n++) {
      try {
        await rename(this.at(name), top.at(`.dac-removing-${info.ino}-${n}`));
        return true;
      } catch (error) {
        const code = errorCode(error);
        if (code === 'ENOENT') return true;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      }
    }
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** The error for a name that could not be opened as a directory: a link, a file or other. */
async function refusal(path: string, at: string, error: unknown): Promise<Error> {
  const code = errorCode(error);
  if (code !== 'ELOOP' && code !== 'ENOTDIR') return error as Error;
  // With O_DIRECTORY, Linux reports a link as ENOTDIR too: look at what is there.
  const info = await lstat(at).catch(() => undefined);
  if (code === 'ELOOP' || info?.isSymbolicLink()) {
    return new ProviderError(`${path} is a symbolic link: refused, nothing it points to changed`);
  }
  return new ProviderError(`${path} exists and is not a directory`);
}

function changing(path: string): ProviderError {
  return new ProviderError(`${path} kept changing while it was removed; try again`);
}
