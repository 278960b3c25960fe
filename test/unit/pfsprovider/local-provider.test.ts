/** The local provider on real directories: ownership, modes, links, idempotence, leftovers. */
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { LocalProvider } from '../../../src/pfsprovider/local-provider';
import type {
  BufferRoots,
  OperationContext,
  StageContext,
  TransferProgress,
} from '../../../src/pfsprovider/provider';
import type { SessionRecord } from '../../../src/registry/model';
import { sessionRecord } from '../../support/session-record';

const isRoot = process.getuid?.() === 0;
const NOBODY = { uid: 65534, gid: 65534 };
const owner = isRoot ? NOBODY : { uid: process.getuid!(), gid: process.getgid!() };

let root: string;
let provider: LocalProvider;
let stagerCalls: { direction: string; roots: BufferRoots }[];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'dac-local-'));
  stagerCalls = [];
  provider = new LocalProvider({
    hostName: 'hostA',
    localRoot: join(root, 'bricks'),
    mountRoot: join(root, 'mnt'),
    stager: (_context, direction, roots): Promise<TransferProgress> => {
      stagerCalls.push({ direction, roots });
      return Promise.resolve({ bytes: 1, files: 1 });
    },
  });
  await provider.prepareBricks(['nvme0n1', 'nvme1n1']);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return sessionRecord({
    owner,
    accessMode: 'striped,private',
    bricks: [
      { host: 'hostA', device: 'nvme1n1' },
      { host: 'hostB', device: 'nvme0n1' },
    ],
    reconciler: 'hostA',
    computeHosts: ['cn1', 'cn2'],
    ...overrides,
  });
}

function context(s: SessionRecord): OperationContext {
  return { session: s, signal: new AbortController().signal, log: pino({ enabled: false }) };
}

function stageContext(s: SessionRecord): StageContext {
  return { ...context(s), onProgress: () => undefined };
}

async function ownerAndMode(path: string) {
  const info = await lstat(path);
  return { uid: info.uid, gid: info.gid, mode: info.mode & 0o7777 };
}

describe('LocalProvider', () => {
  it('creates brick directories under <root>/<host>/', async () => {
    expect((await readdir(join(root, 'bricks', 'hostA'))).sort()).toEqual(['nvme0n1', 'nvme1n1']);
  });

  it('creates the volume on the primary brick, owned by the session owner, mode 0700', async () => {
    const s = session();
    await provider.create(context(s));
    const volume = join(root, 'bricks', 'hostA', 'nvme1n1', '4242');
    expect(provider.volumeDir(s)).toBe(volume);
    for (const dir of [volume, join(volume, 'striped'), join(volume, 'private')]) {
      expect(await ownerAndMode(dir)).toEqual({ ...owner, mode: 0o700 });
    }
  });

  it('create is idempotent and repairs ownership and mode', async () => {
    const s = session();
    await provider.create(context(s));
    const striped = join(provider.volumeDir(s)!, 'striped');
    await writeFile(join(striped, 'data'), 'kept');
    await chmod(striped, 0o755);
    await provider.create(context(s));
    expect(await ownerAndMode(striped)).toEqual({ ...owner, mode: 0o700 });
    expect(await readdir(striped)).toEqual(['data']);
  });

  it('mount links the striped and private paths where the CLI says they are', async () => {
    const s = session();
    await provider.create(context(s));
    await provider.mount(context(s), s.computeHosts);
    await provider.mount(context(s), s.computeHosts);
    const volume = provider.volumeDir(s)!;
    const linkDir = join(root, 'mnt', 'job', '4242');
    expect(await readlink(join(linkDir, 'striped'))).toBe(join(volume, 'striped'));
    expect(await readlink(join(linkDir, 'private'))).toBe(join(volume, 'private', 'cn1'));
    for (const host of ['cn1', 'cn2']) {
      expect(await ownerAndMode(join(volume, 'private', host))).toEqual({ ...owner, mode: 0o700 });
    }
    // The path Slurm hands the job (with its trailing slash) reaches the volume.
    await writeFile(join(volume, 'striped', 'x'), 'seen');
    expect((await stat(join(linkDir, 'striped') + '/x')).size).toBe(4);
    expect(await readdir(linkDir)).toEqual(['private', 'striped']);
  });

  it('a striped-only buffer gets no private path', async () => {
    const s = session({ accessMode: 'striped' });
    await provider.create(context(s));
    await provider.mount(context(s), s.computeHosts);
    expect(await readdir(join(root, 'mnt', 'job', '4242'))).toEqual(['striped']);
    expect(await readdir(provider.volumeDir(s)!)).toEqual(['striped']);
  });

  it('unmount removes the links, keeps the data; unmounting twice is fine', async () => {
    const s = session();
    await provider.create(context(s));
    await provider.mount(context(s), s.computeHosts);
    await provider.unmount(context(s), s.computeHosts);
    await provider.unmount(context(s), s.computeHosts);
    expect(await readdir(join(root, 'mnt', 'job'))).toEqual([]);
    expect(await readdir(provider.volumeDir(s)!)).toEqual(['private', 'striped']);
  });

  it('delete removes links and volume without following links inside it', async () => {
    const s = session();
    await provider.create(context(s));
    await provider.mount(context(s), s.computeHosts);
    const outside = join(root, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'precious'), 'keep me');
    await symlink(outside, join(provider.volumeDir(s)!, 'striped', 'trap'));
    await provider.delete(context(s));
    await provider.delete(context(s));
    expect(await readdir(join(root, 'bricks', 'hostA', 'nvme1n1'))).toEqual([]);
    expect(await readdir(join(root, 'mnt', 'job'))).toEqual([]);
    expect(await readdir(outside)).toEqual(['precious']);
  });

  it('a persistent buffer is linked under persistent/<name>/ from creation until delete', async () => {
    const s = session({ token: 'scratchpad', kind: 'persistent', accessMode: 'striped' });
    await provider.create(context(s));
    const link = join(root, 'mnt', 'persistent', 'scratchpad', 'striped');
    expect(await readlink(link)).toBe(join(provider.volumeDir(s)!, 'striped'));
    await provider.delete(context(s));
    expect(await readdir(join(root, 'mnt', 'persistent'))).toEqual([]);
  });

  it('does nothing for a session without bricks on this host', async () => {
    const s = session({ bricks: [{ host: 'hostB', device: 'nvme0n1' }], reconciler: 'hostB' });
    await provider.create(context(s));
    await provider.mount(context(s), ['cn1']);
    await provider.delete(context(s));
    expect(provider.volumeDir(s)).toBeUndefined();
    expect(await readdir(join(root, 'bricks', 'hostA', 'nvme0n1'))).toEqual([]);
  });

  it('stages with the job buffer and attached persistent buffers as roots', async () => {
    const s = session({ persistentAttachments: ['shared'] });
    await provider.stageIn(stageContext(s));
    await provider.stageOut(stageContext(s));
    const roots = {
      DW_JOB_STRIPED: join(provider.volumeDir(s)!, 'striped'),
      DW_PERSISTENT_STRIPED_shared: join(root, 'mnt', 'persistent', 'shared', 'striped'),
    };
    expect(stagerCalls).toEqual([
      { direction: 'in', roots },
      { direction: 'out', roots },
    ]);
  });

  it('finds and removes the leftovers of this host only', async () => {
    const kept = session({ token: '1' });
    const orphan = session({ token: '2' });
    await provider.create(context(kept));
    await provider.create(context(orphan));
    await provider.mount(context(orphan), ['cn1']);
    // Another host's links under the same mount root are not ours.
    await mkdir(join(root, 'mnt', 'job', '3'), { recursive: true });
    await symlink('/elsewhere/hostB/x', join(root, 'mnt', 'job', '3', 'striped'));
    expect([...(await provider.tokensOnDisk())].sort()).toEqual(['1', '2']);
    await provider.removeLeftovers('2');
    expect([...(await provider.tokensOnDisk())]).toEqual(['1']);
    expect((await readdir(join(root, 'mnt', 'job'))).sort()).toEqual(['3']);
  });

  it('wipes the volume of a session torn down by force from the bricks named, and its links', async () => {
    const torn = session({ token: '5' });
    await provider.create(context(torn));
    await provider.mount(context(torn), ['cn1']);
    // A newer session of the same token on another brick keeps its volume and links.
    const newer = session({ token: '6', bricks: [{ host: 'hostA', device: 'nvme0n1' }] });
    await provider.create(context(newer));
    await provider.mount(context(newer), ['cn1']);
    await provider.wipeBricks('6', ['nvme1n1']);
    expect((await readdir(join(root, 'mnt', 'job'))).sort()).toEqual(['5', '6']);
    expect(await readdir(join(root, 'bricks', 'hostA', 'nvme0n1'))).toEqual(['6']);

    await provider.wipeBricks('5', ['nvme1n1']);
    expect(await readdir(join(root, 'bricks', 'hostA', 'nvme1n1'))).toEqual([]);
    expect(await readdir(join(root, 'mnt', 'job'))).toEqual(['6']);
    expect(await readdir(join(root, 'bricks', 'hostA', 'nvme0n1'))).toEqual(['6']);
    // Again: nothing left to wipe is success.
    await provider.wipeBricks('5', ['nvme1n1', 'nvme0n1']);
    expect(await readdir(join(root, 'bricks', 'hostA', 'nvme0n1'))).toEqual(['6']);
  });
});
