/**
 * The `local` provider: burst buffers on one machine, for demos, tests and single-node sites.
 *
 * - Bricks are directories `<localRoot>/<host>/<device>/` (created when dacd starts).
 * - A session's volume is the directory `<localRoot>/<host>/<primary device>/<token>/`, owned by
 *   the session's uid/gid with mode 0700, holding `striped/` and, for private access,
 *   `private/<compute host>/`. Its other bricks are accounted in the registry but hold no data.
 * - "Mounting" makes symbolic links (no root-only bind mounts, nothing to leak in the mount
 *   table): `<mountRoot>/job/<token>/striped` → the volume's `striped/`, and
 *   `<mountRoot>/job/<token>/private` → `private/<first compute host>/` (one machine has one
 *   namespace, so every compute host of the job sees the first host's private directory).
 *   A persistent buffer is linked at `<mountRoot>/persistent/<name>/striped` from creation on, so
 *   the jobs that attach it find it wherever they run on this machine.
 * - Staging is delegated to the injected stager, which copies as the session's owner.
 *
 * Every operation is idempotent; nothing here takes a path from user input except validated
 * tokens and host names (see registry/model.ts). The inside of a volume belongs to the job user,
 * who can swap any of its directories for a link at any time: dacd (root) creates, chowns,
 * chmods and removes there only through anchored-dir.ts, never by path.
 */
import { mkdir, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DacError, ProviderError } from '../errors/errors';
import { AnchoredDir } from './anchored-dir';
import type { SessionRecord } from '../registry/model';
import type {
  BufferRoots,
  FilesystemProvider,
  OperationContext,
  StageContext,
  Stager,
  TransferProgress,
} from './provider';

export interface LocalProviderOptions {
  /** This storage host's name (the dacd's `DAC_HOST_NAME`). */
  hostName: string;
  /** `DAC_LOCAL_ROOT`. */
  localRoot: string;
  /** `DAC_MOUNT_ROOT`. */
  mountRoot: string;
  stager: Stager;
}

const PRIVATE_MODE = 0o700;
const PUBLIC_DIR_MODE = 0o755;

export class LocalProvider implements FilesystemProvider {
  readonly name = 'local';

  constructor(private readonly options: LocalProviderOptions) {}

  /** This host's directory under the local root. */
  get hostDir(): string {
    return join(this.options.localRoot, this.options.hostName);
  }

  /** Create the brick directories (idempotent). */
  async prepareBricks(devices: string[]): Promise<void> {
    await guard('preparing the brick directories', async () => {
      for (const device of devices) {
        await mkdir(join(this.hostDir, device), { recursive: true, mode: PUBLIC_DIR_MODE });
      }
    });
  }

  /** The volume directory of a session with bricks on this host; undefined otherwise. */
  volumeDir(session: SessionRecord): string | undefined {
    const primary = session.bricks[0];
    if (!primary || primary.host !== this.options.hostName) return undefined;
    return join(this.hostDir, primary.device, session.token);
  }

  async create({ session }: OperationContext): Promise<void> {
    const volume = this.volumeDir(session);
    if (!volume) return;
    await guard(`creating the buffer of ${session.token}`, async () => {
      await mkdir(join(volume, '..'), { recursive: true, mode: PUBLIC_DIR_MODE });
      await this.inVolume(session, async (dir) => {
        await dir.ownedPath(['striped'], session.owner, PRIVATE_MODE);
        if (session.accessMode.includes('private')) {
          await dir.ownedPath(['private'], session.owner, PRIVATE_MODE);
        }
      });
      if (session.kind === 'persistent') {
        await this.link(this.persistentLinkDir(session.token), 'striped', join(volume, 'striped'));
      }
    });
  }

  async mount({ session }: OperationContext, hosts: string[]): Promise<void> {
    const volume = this.volumeDir(session);
    if (!volume) return;
    await guard(`mounting the buffer of ${session.token}`, async () => {
      if (session.kind === 'persistent') {
        await this.link(this.persistentLinkDir(session.token), 'striped', join(volume, 'striped'));
        return;
      }
      const linkDir = this.jobLinkDir(session.token);
      const privateHosts = session.accessMode.includes('private') ? hosts : [];
      // What the links lead to is checked (and repaired) first: a link the user put in its
      // place is refused rather than handed to the job.
      await this.inVolume(session, async (dir) => {
        await dir.ownedPath(['striped'], session.owner, PRIVATE_MODE);
        for (const host of privateHosts) {
          await dir.ownedPath(['private', host], session.owner, PRIVATE_MODE);
        }
      });
      if (session.accessMode.includes('striped')) {
        await this.link(linkDir, 'striped', join(volume, 'striped'));
      }
      if (privateHosts.length > 0) {
        await this.link(linkDir, 'private', join(volume, 'private', privateHosts[0]!));
      }
    });
  }

  async unmount({ session }: OperationContext, _hosts: string[] = []): Promise<void> {
    if (!this.volumeDir(session)) return;
    await guard(`unmounting the buffer of ${session.token}`, async () => {
      await removeIn(join(this.options.mountRoot, session.kind), session.token);
    });
  }

  stageIn(context: StageContext): Promise<TransferProgress> {
    return this.options.stager(context, 'in', this.bufferRoots(context.session));
  }

  stageOut(context: StageContext): Promise<TransferProgress> {
    return this.options.stager(context, 'out', this.bufferRoots(context.session));
  }

  async delete(context: OperationContext): Promise<void> {
    const volume = this.volumeDir(context.session);
    if (!volume) return;
    await this.unmount(context);
    await guard(`removing the buffer of ${context.session.token}`, async () => {
      await removeIn(join(volume, '..'), context.session.token);
    });
  }

  /**
   * Tokens with a volume or a link of this host on disk. dacd compares them with the sessions
   * it serves after a restart and removes what belongs to no session.
   */
  async tokensOnDisk(): Promise<Set<string>> {
    const tokens = new Set<string>();
    for (const device of await listDir(this.hostDir)) {
      for (const token of await listDir(join(this.hostDir, device))) tokens.add(token);
    }
    for (const kind of ['job', 'persistent']) {
      for (const token of await listDir(join(this.options.mountRoot, kind))) {
        if (await this.linksIntoThisHost(join(this.options.mountRoot, kind, token))) {
          tokens.add(token);
        }
      }
    }
    return tokens;
  }

  /** Remove every trace of `token` on this host (volume and links), for a session that is gone. */
  async removeLeftovers(token: string): Promise<void> {
    await guard(`removing leftovers of ${token}`, async () => {
      for (const kind of ['job', 'persistent']) {
        const linkDir = join(this.options.mountRoot, kind, token);
        if (await this.linksIntoThisHost(linkDir)) {
          await removeIn(join(this.options.mountRoot, kind), token);
        }
      }
      for (const device of await listDir(this.hostDir)) {
        await removeIn(join(this.hostDir, device), token);
      }
    });
  }

  /**
   * Wipe the bricks `devices` of a session torn down by force, whose record is gone: its volume
   * on each of them, and its links if they lead into one of those volumes (a newer session of
   * the same token elsewhere keeps its own). Idempotent.
   */
  async wipeBricks(token: string, devices: readonly string[]): Promise<void> {
    const volumes = devices.map((device) => `${join(this.hostDir, device, token)}/`);
    await guard(`wiping the bricks of ${token}`, async () => {
      for (const kind of ['job', 'persistent']) {
        const linkDir = join(this.options.mountRoot, kind, token);
        if (await this.linksInto(linkDir, volumes)) {
          await removeIn(join(this.options.mountRoot, kind), token);
        }
      }
      for (const device of devices) await removeIn(join(this.hostDir, device), token);
    });
  }

  private bufferRoots(session: SessionRecord): BufferRoots {
    const roots: Record<string, string> = {};
    const volume = this.volumeDir(session);
    if (volume && session.kind === 'job') roots.DW_JOB_STRIPED = join(volume, 'striped');
    if (volume && session.kind === 'persistent') {
      roots[`DW_PERSISTENT_STRIPED_${session.token}`] = join(volume, 'striped');
    }
    for (const name of session.persistentAttachments) {
      roots[`DW_PERSISTENT_STRIPED_${name}`] = join(this.persistentLinkDir(name), 'striped');
    }
    return roots;
  }

  private jobLinkDir(token: string): string {
    return join(this.options.mountRoot, 'job', token);
  }

  private persistentLinkDir(name: string): string {
    return join(this.options.mountRoot, 'persistent', name);
  }

  /**
   * Run `step` on the session's volume directory, opened from its brick directory (which only
   * root can change) and made the owner's with mode 0700. Everything inside the volume is the
   * job user's to change, so `step` works through the open directory and never by path.
   */
  private async inVolume(
    session: SessionRecord,
    step: (volume: AnchoredDir) => Promise<void>,
  ): Promise<void> {
    const brickDir = join(this.volumeDir(session)!, '..');
    const brick = await AnchoredDir.open(brickDir);
    if (!brick) throw new ProviderError(`the brick directory ${brickDir} does not exist`);
    try {
      const volume = await brick.ownedDir(session.token, session.owner, PRIVATE_MODE);
      try {
        await step(volume);
      } finally {
        await volume.close();
      }
    } finally {
      await brick.close();
    }
  }

  /** Make `<dir>/<name>` a symbolic link to `target`, replacing a wrong one atomically. */
  private async link(dir: string, name: string, target: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: PUBLIC_DIR_MODE });
    const path = join(dir, name);
    const current = await readlink(path).catch(() => undefined);
    if (current === target) return;
    const temporary = `${path}.${process.pid}.tmp`;
    await rm(temporary, { force: true });
    await symlink(target, temporary);
    await rename(temporary, path);
  }

  private linksIntoThisHost(linkDir: string): Promise<boolean> {
    return this.linksInto(linkDir, [`${this.hostDir}/`]);
  }

  /** Whether a link in `linkDir` leads below one of `prefixes` (each ending with `/`). */
  private async linksInto(linkDir: string, prefixes: readonly string[]): Promise<boolean> {
    for (const name of await listDir(linkDir)) {
      const target = await readlink(join(linkDir, name)).catch(() => undefined);
      if (target !== undefined && prefixes.some((prefix) => `${target}/`.startsWith(prefix))) {
        return true;
      }
    }
    return false;
  }
}

/** Remove `name` in the directory `parent` (one only root can change) and all below it. */
async function removeIn(parent: string, name: string): Promise<void> {
  const dir = await AnchoredDir.open(parent);
  if (!dir) return;
  try {
    await dir.remove(name);
  } finally {
    await dir.close();
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Run a file-system step; turn an OS error into a ProviderError that says what failed. */
async function guard(what: string, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (error) {
    if (error instanceof DacError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    const space = code === 'ENOSPC' ? ' (no space left on the brick)' : '';
    throw new ProviderError(`local provider: ${what} failed: ${code}${space}`, {
      detail: String(error),
      cause: error,
    });
  }
}
