/**
 * The local provider against a hostile job user: dacd runs as root, and the inside of a volume
 * is the job user's, who can replace any directory in it with a symbolic link or put a hard
 * link to a file of somebody else's there. For every root-side operation inside a buffer
 * (create, chown and chmod of its directories, the directories the links lead to, remove), a
 * component is replaced and nothing outside the buffer may change.
 *
 * The tests run as root (as CI does) and play the job user by planting what that user could.
 */
import { spawn } from 'node:child_process';
import {
  chmod,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ProviderError } from '../../../src/errors/errors';
import { LocalProvider } from '../../../src/pfsprovider/local-provider';
import type { OperationContext } from '../../../src/pfsprovider/provider';
import type { SessionRecord } from '../../../src/registry/model';
import { sessionRecord } from '../../support/session-record';

const isRoot = process.getuid?.() === 0;
const NOBODY = { uid: 65534, gid: 65534 };
const describeAsRoot = isRoot ? describe : describe.skip;

let root: string;
let outside: string;
let provider: LocalProvider;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'dac-hostile-'));
  provider = new LocalProvider({
    hostName: 'hostA',
    localRoot: join(root, 'bricks'),
    mountRoot: join(root, 'mnt'),
    stager: () => Promise.resolve({ bytes: 0, files: 0 }),
  });
  await provider.prepareBricks(['nvme0n1']);
  // What root owns outside every buffer: an open directory with a host's name in it (as in
  // the reported attack), a closed one, and a file.
  outside = join(root, 'srv');
  await mkdir(join(outside, 'x', 'cn1'), { recursive: true, mode: 0o755 });
  await mkdir(join(outside, 'closed'), { mode: 0o700 });
  await writeFile(join(outside, 'x', 'cn1', 'precious'), 'keep me', { mode: 0o600 });
  await writeFile(join(outside, 'shadow'), 'root only', { mode: 0o600 });
  await chmod(join(outside, 'x'), 0o755);
  await chmod(join(outside, 'x', 'cn1'), 0o755);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return sessionRecord({
    owner: NOBODY,
    accessMode: 'striped,private',
    bricks: [{ host: 'hostA', device: 'nvme0n1' }],
    reconciler: 'hostA',
    computeHosts: ['cn1', 'cn2'],
    ...overrides,
  });
}

function context(s: SessionRecord): OperationContext {
  return { session: s, signal: new AbortController().signal, log: pino({ enabled: false }) };
}

/** Every entry under `dir` with its owner, mode, link count, link target and content. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const walk = async (path: string): Promise<void> => {
    const info = await lstat(path);
    let what = `${info.uid}:${info.gid} ${(info.mode & 0o7777).toString(8)} n${info.nlink}`;
    if (info.isSymbolicLink()) what += ` -> ${await readlink(path)}`;
    if (info.isFile()) what += ` "${await readFile(path, 'utf8')}"`;
    result[path.slice(dir.length) || '/'] = what;
    if (info.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
  };
  await walk(dir);
  return result;
}

/**
 * Fill a buffer, then tear it down while another process (the "user") keeps moving each of
 * its directories aside and putting a link to an outside directory in its place, and back.
 * Ends when the buffer is gone.
 */
async function teardownWhileSwapping(s: SessionRecord): Promise<void> {
  await provider.create(context(s));
  const striped = join(provider.volumeDir(s)!, 'striped');
  const victims = 300;
  for (let i = 0; i < victims; i++) {
    await mkdir(join(striped, `d${i}`, 'sub'), { recursive: true });
    for (let f = 0; f < 5; f++) await writeFile(join(striped, `d${i}`, 'sub', `f${f}`), 'x');
  }
  const swapper = spawn(
    process.execPath,
    [
      '-e',
      `const fs = require('node:fs');
       const [striped, target, count] = process.argv.slice(1);
       for (let round = 0; round < 400; round++) {
         for (let i = 0; i < Number(count); i++) {
           const p = striped + '/d' + i;
           if (round % 2 === 0) {
             try { fs.renameSync(p, p + '.aside'); fs.symlinkSync(target, p); } catch {}
           } else {
             try { fs.unlinkSync(p); fs.renameSync(p + '.aside', p); } catch {}
           }
         }
       }`,
      striped,
      join(outside, 'x', 'cn1'),
      String(victims),
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => swapper.on('exit', resolve));
  try {
    // A removal that meets a directory changing under it fails; dacd retries it.
    for (let attempt = 0; attempt < 50; attempt++) {
      const done = await provider.delete(context(s)).then(
        () => true,
        (error: unknown) => {
          expect((error as Error).message).toMatch(/kept changing/);
          return false;
        },
      );
      if (done) break;
    }
  } finally {
    swapper.kill('SIGKILL');
    await exited;
  }
  await provider.delete(context(s));
}

async function expectRefused(step: Promise<void>, pattern: RegExp): Promise<void> {
  const error = await step.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  expect((error as Error).message).toMatch(pattern);
}

describeAsRoot('LocalProvider against a hostile job user', () => {
  it('pre_run does not follow a private/ link to a root directory (the reported attack)', async () => {
    const s = session();
    await provider.create(context(s));
    const volume = provider.volumeDir(s)!;
    const before = await snapshot(outside);
    await rename(join(volume, 'private'), join(volume, 'p'));
    await symlink(join(outside, 'x'), join(volume, 'private'));

    await expectRefused(provider.mount(context(s), s.computeHosts), /private is a symbolic link/);
    expect(await snapshot(outside)).toEqual(before);
    await provider.delete(context(s));
    expect(await snapshot(outside)).toEqual(before);
    expect(await readdir(join(root, 'bricks', 'hostA', 'nvme0n1'))).toEqual([]);
  });

  it('pre_run does not create a directory inside a closed root directory', async () => {
    const s = session();
    await provider.create(context(s));
    const volume = provider.volumeDir(s)!;
    const before = await snapshot(outside);
    await rm(join(volume, 'private'), { recursive: true });
    await symlink(join(outside, 'closed'), join(volume, 'private'));

    await expectRefused(provider.mount(context(s), s.computeHosts), /symbolic link/);
    expect(await readdir(join(outside, 'closed'))).toEqual([]);
    expect(await snapshot(outside)).toEqual(before);
  });

  it("pre_run does not chown or chmod what a host's private directory links to", async () => {
    const s = session();
    await provider.create(context(s));
    const volume = provider.volumeDir(s)!;
    const before = await snapshot(outside);
    await symlink(join(outside, 'x', 'cn1'), join(volume, 'private', 'cn1'));

    await expectRefused(provider.mount(context(s), ['cn1']), /private\/cn1 is a symbolic link/);
    expect(await snapshot(outside)).toEqual(before);
  });

  it('pre_run refuses a striped/ that the user replaced with a link, and links nothing', async () => {
    const s = session();
    await provider.create(context(s));
    const volume = provider.volumeDir(s)!;
    const before = await snapshot(outside);
    await rm(join(volume, 'striped'), { recursive: true });
    await symlink(join(outside, 'x'), join(volume, 'striped'));

    await expectRefused(provider.mount(context(s), s.computeHosts), /striped is a symbolic link/);
    expect(await snapshot(outside)).toEqual(before);
    expect(await readdir(join(root, 'mnt', 'job')).catch(() => [])).toEqual([]);
  });

  it.each(['striped', 'private'])(
    'a repeated setup does not chown or chmod what %s/ links to',
    async (name) => {
      const s = session();
      await provider.create(context(s));
      const volume = provider.volumeDir(s)!;
      const before = await snapshot(outside);
      await rm(join(volume, name), { recursive: true });
      await symlink(join(outside, 'x'), join(volume, name));

      await expectRefused(provider.create(context(s)), new RegExp(`${name} is a symbolic link`));
      expect(await snapshot(outside)).toEqual(before);
    },
  );

  it('a repeated setup does not chown or chmod a file hard-linked in place of striped/', async () => {
    const s = session();
    await provider.create(context(s));
    const volume = provider.volumeDir(s)!;
    await rm(join(volume, 'striped'), { recursive: true });
    await link(join(outside, 'shadow'), join(volume, 'striped'));
    const before = await snapshot(outside);

    await expectRefused(provider.create(context(s)), /striped exists and is not a directory/);
    expect(await snapshot(outside)).toEqual(before);
  });

  it('teardown removes links and hard links inside the buffer, never what they lead to', async () => {
    const s = session();
    await provider.create(context(s));
    await provider.mount(context(s), s.computeHosts);
    const volume = provider.volumeDir(s)!;
    await mkdir(join(volume, 'striped', 'a', 'b'), { recursive: true });
    await symlink(join(outside, 'x'), join(volume, 'striped', 'to-dir'));
    await symlink(join(outside, 'x'), join(volume, 'striped', 'a', 'b', 'deep-to-dir'));
    await symlink(join(outside, 'shadow'), join(volume, 'striped', 'a', 'to-file'));
    await link(join(outside, 'shadow'), join(volume, 'striped', 'a', 'b', 'hard'));
    await symlink(join(outside, 'x'), join(volume, 'private', 'cn2-swapped'));
    const before = await snapshot(outside);
    // The hard link is one more name of the file; removing it gives the count back.
    delete before['/shadow'];

    await provider.delete(context(s));
    expect(await readdir(join(root, 'bricks', 'hostA', 'nvme0n1'))).toEqual([]);
    const after = await snapshot(outside);
    expect(after['/shadow']).toBe('0:0 600 n1 "root only"');
    delete after['/shadow'];
    expect(after).toEqual(before);
  });

  it('removing leftovers of a gone session follows no link either', async () => {
    const s = session({ token: '77' });
    await provider.create(context(s));
    await provider.mount(context(s), ['cn1']);
    const volume = provider.volumeDir(s)!;
    await symlink(join(outside, 'x'), join(volume, 'striped', 'trap'));
    await rename(join(volume, 'private'), join(volume, 'p'));
    await symlink(join(outside, 'x'), join(volume, 'private'));
    const before = await snapshot(outside);

    await provider.removeLeftovers('77');
    expect([...(await provider.tokensOnDisk())]).toEqual([]);
    expect(await snapshot(outside)).toEqual(before);
  });

  it('teardown removes a tree nested deeper than it keeps directories open', async () => {
    const s = session();
    await provider.create(context(s));
    const volume = provider.volumeDir(s)!;
    let path = join(volume, 'striped');
    for (let depth = 0; depth < 150; depth++) {
      path = join(path, 'd');
      await mkdir(path);
      if (depth % 10 === 0) await writeFile(join(path, 'f'), String(depth));
      if (depth % 40 === 0) await symlink(join(outside, 'x'), join(path, 'trap'));
    }
    await chmod(path, 0o000); // a directory the user closed to themselves is removed too
    const before = await snapshot(outside);

    await provider.delete(context(s));
    expect(await readdir(join(root, 'bricks', 'hostA', 'nvme0n1'))).toEqual([]);
    expect(await snapshot(outside)).toEqual(before);
  });

  it('teardown follows no link while the user swaps directories for links during it', async () => {
    // A bait file in every outside directory a swapped link could lead the removal into.
    for (let f = 0; f < 5; f++) await writeFile(join(outside, 'x', 'cn1', `f${f}`), 'bait');
    await mkdir(join(outside, 'x', 'cn1', 'sub'));
    for (let f = 0; f < 5; f++) await writeFile(join(outside, 'x', 'cn1', 'sub', `f${f}`), 'bait');
    const before = await snapshot(outside);
    // The race is won or lost by chance: a few rounds make losing it (if the removal could
    // be led outside) all but certain.
    for (let round = 0; round < 4; round++) {
      await teardownWhileSwapping(session({ token: String(100 + round) }));
      expect(await snapshot(outside)).toEqual(before);
    }
    expect(await readdir(join(root, 'bricks', 'hostA', 'nvme0n1'))).toEqual([]);
  });

  it('the volume stays the owner’s and closed after every refused step', async () => {
    const s = session();
    await provider.create(context(s));
    const volume = provider.volumeDir(s)!;
    await rm(join(volume, 'striped'), { recursive: true });
    await symlink(join(outside, 'x'), join(volume, 'striped'));
    await expectRefused(provider.create(context(s)), /symbolic link/);
    const info = await stat(volume);
    expect({ uid: info.uid, gid: info.gid, mode: info.mode & 0o7777 }).toEqual({
      ...NOBODY,
      mode: 0o700,
    });
  });
});
