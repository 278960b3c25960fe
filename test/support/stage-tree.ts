/**
 * Real directory trees for the staging tests: a fixture tree with odd modes, set times, empty
 * and 5 MB files and a symbolic link, a comparison of two trees entry by entry, and small
 * tmpfs mounts to fill up.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NOBODY = 65534;
export const NOGROUP = 65534;

export const isRoot = (): boolean => process.getuid?.() === 0;

/** A fresh directory under the system temp dir that every user can traverse. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

export function removeTempDir(dir: string | undefined): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}

/** What a fixture tree holds: what staging it must report. */
export interface TreeSummary {
  /** Regular files and symbolic links. */
  files: number;
  /** Bytes of the regular files. */
  bytes: number;
  /** Relative paths of all regular files. */
  regularFiles: string[];
}

/** `size` random bytes. */
export function randomContent(size: number): Buffer {
  return randomBytes(size);
}

/** Modification time (seconds, with a fraction) of fixture entry `index`. */
export const fixtureMtime = (index: number): number => 1_600_000_000 + index * 61 + 0.123456;
/** Access time (seconds) of fixture entry `index`. */
export const fixtureAtime = (index: number): number => 1_500_000_000 + index * 17;

/**
 * Build a tree of `count` files (one of them a symbolic link) under `root` (created): nested
 * directories up to four deep, sizes from 0 bytes to 5 MiB, modes 0600/0640/0644/0755 for files
 * and 0700/0711/0750/0755 for directories, and set access and modification times.
 */
export function buildTree(root: string, count = 1000): TreeSummary {
  const directories = new Set<string>();
  const regularFiles: string[] = [];
  let bytes = 0;
  mkdirSync(root, { recursive: true });
  const dirOf = (index: number): string => {
    const top = `d${index % 10}`;
    const sub = `s${Math.floor(index / 10) % 4}`;
    return index % 97 === 5 ? join(top, sub, 'deep', 'er') : join(top, sub);
  };
  for (let index = 0; index < count; index += 1) {
    const dir = dirOf(index);
    mkdirSync(join(root, dir), { recursive: true });
    for (let part = dir; part !== '.'; part = join(part, '..')) directories.add(part);
    const rel = join(dir, `f${index}`);
    const path = join(root, rel);
    if (index === 0) {
      symlinkSync(`../s1/f10`, path);
      lutimesSync(path, fixtureAtime(index), fixtureMtime(index));
      continue;
    }
    const size = index === 1 ? 5 * 1024 * 1024 + 7 : index % 50 === 2 ? 0 : (index * 7919) % 70_000;
    writeFileSync(path, randomContent(size));
    chmodSync(path, [0o640, 0o600, 0o644, 0o755][index % 4]!);
    utimesSync(path, fixtureAtime(index), fixtureMtime(index));
    regularFiles.push(rel);
    bytes += size;
  }
  const empty = join('d0', 'empty');
  mkdirSync(join(root, empty));
  directories.add(empty);
  // Deepest first, so setting a directory's times is not undone by work inside it.
  const ordered = [...directories].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const [index, dir] of ordered.entries()) {
    const mode =
      dir === empty ? 0o711 : dir.endsWith('s3') ? 0o700 : /^d[13579]$/.test(dir) ? 0o750 : 0o755;
    chmodSync(join(root, dir), mode);
    utimesSync(join(root, dir), fixtureAtime(index), fixtureMtime(2000 + index));
  }
  return { files: count, bytes, regularFiles };
}

/** chown -R without following links. */
export function chownTree(path: string, uid: number, gid: number): void {
  lchownSync(path, uid, gid);
  if (!lstatSync(path).isDirectory()) return;
  for (const name of readdirSync(path)) chownTree(join(path, name), uid, gid);
}

/** One entry of a tree as the comparisons see it. */
export interface EntryInfo {
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  atimeMs: number;
  ino: number;
  ctimeMs: number;
  target?: string;
}

/** Every entry below `root` (not `root` itself), by relative path. */
export function listTree(root: string): Map<string, EntryInfo> {
  const entries = new Map<string, EntryInfo>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const childRel = rel === '' ? name : join(rel, name);
      const path = join(root, childRel);
      const stats = lstatSync(path);
      const type = stats.isFile()
        ? 'file'
        : stats.isDirectory()
          ? 'directory'
          : stats.isSymbolicLink()
            ? 'symlink'
            : 'other';
      entries.set(childRel, {
        type,
        mode: stats.mode & 0o7777,
        uid: stats.uid,
        gid: stats.gid,
        size: stats.size,
        mtimeMs: stats.mtimeMs,
        atimeMs: stats.atimeMs,
        ino: stats.ino,
        ctimeMs: stats.ctimeMs,
        ...(type === 'symlink' ? { target: readlinkSync(path) } : {}),
      });
      if (type === 'directory') walk(childRel);
    }
  };
  walk('');
  return entries;
}

/** Differences between two trees (contents, types, modes, mtimes, link targets); [] if equal. */
export function treeDifferences(source: string, destination: string): string[] {
  const from = listTree(source);
  const to = listTree(destination);
  const problems: string[] = [];
  for (const [rel, entry] of from) {
    const copy = to.get(rel);
    if (copy === undefined) {
      problems.push(`${rel}: missing`);
      continue;
    }
    if (copy.type !== entry.type) problems.push(`${rel}: ${copy.type}, expected ${entry.type}`);
    if (entry.type !== 'symlink' && copy.mode !== entry.mode) {
      problems.push(`${rel}: mode ${copy.mode.toString(8)}, expected ${entry.mode.toString(8)}`);
    }
    // utimes takes seconds as a double (about 0.25 µs apart): allow 2 µs.
    if (Math.abs(copy.mtimeMs - entry.mtimeMs) >= 0.002) {
      problems.push(`${rel}: mtime ${copy.mtimeMs}, expected ${entry.mtimeMs}`);
    }
    if (entry.type === 'symlink' && copy.target !== entry.target) {
      problems.push(`${rel}: link to ${copy.target}, expected ${entry.target}`);
    }
    if (
      entry.type === 'file' &&
      !readFileSync(join(source, rel)).equals(readFileSync(join(destination, rel)))
    ) {
      problems.push(`${rel}: contents differ`);
    }
  }
  for (const rel of to.keys()) if (!from.has(rel)) problems.push(`${rel}: not in the source`);
  return problems;
}

/** Whether this process may mount a tmpfs (root, with the capability: not in every container). */
export function canMountTmpfs(): boolean {
  if (!isRoot()) return false;
  const probe = makeTempDir('dac-mount-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    removeTempDir(probe);
  }
}

/** Mount a tmpfs of `size` (`8m`) on `dir`, its root owned by `owner` (default root) mode 0700. */
export function mountTmpfs(dir: string, size: string, owner = { uid: 0, gid: 0 }): void {
  const options = `size=${size},mode=0700,uid=${owner.uid},gid=${owner.gid}`;
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
}

/** Unmount `dir`; lazily if something (a stager killed late) still holds it. */
export function unmountTmpfs(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  }
}

/**
 * What a (partial) copy of `source` holds at `destination`, as the stager counts it: `files`,
 * the regular files identical to their source, and `bytes`, the sizes of all regular files
 * there, complete or not.
 */
export function stagedCounts(
  source: string,
  destination: string,
): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const [rel, entry] of listTree(destination)) {
    if (entry.type !== 'file') continue;
    bytes += entry.size;
    if (readFileSync(join(destination, rel)).equals(readFileSync(join(source, rel)))) files += 1;
  }
  return { files, bytes };
}

/**
 * A tree of `large` files of 3 MiB and eight small ones (2 bytes to 20 KiB), some in a
 * subdirectory: `large` times 3 MiB and a little more.
 */
export function buildSpaceTree(root: string, large: number): TreeSummary {
  mkdirSync(join(root, 'sub'), { recursive: true });
  const regularFiles: string[] = [];
  let bytes = 0;
  const add = (rel: string, size: number): void => {
    writeFileSync(join(root, rel), randomContent(size));
    regularFiles.push(rel);
    bytes += size;
  };
  add('a-tiny', 2);
  for (let index = 0; index < large; index += 1) {
    add(index % 2 === 0 ? `big${index}` : join('sub', `big${index}`), 3 * 1024 * 1024);
  }
  for (let index = 0; index < 7; index += 1) {
    add(index % 2 === 0 ? `small${index}` : join('sub', `small${index}`), 1000 + index * 3000);
  }
  return { files: regularFiles.length, bytes, regularFiles };
}
