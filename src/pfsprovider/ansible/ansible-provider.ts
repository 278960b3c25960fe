/**
 * The `lustre` and `beegfs` providers, data-acc style: for each step dacd writes the session's
 * inventory (see inventory.ts) to `<workDir>/<token>/inventory.json` and runs the static playbook
 * `<playbookDir>/<step>.yml` with `ansible-playbook` (no shell; output to the log). Ansible
 * connects to the hosts as configured for the user dacd runs as (ansible.cfg, `ANSIBLE_*`); the
 * playbooks need root on the hosts (set `ANSIBLE_BECOME=true` to use sudo). dacd's own host,
 * the reconciler, is reached with the local connection.
 *
 * - create: format and start the servers, mount a client on the reconciler host at
 *   `<stagingRoot>/<token>` (default `<workDir>/_staging/<token>`) and give it to the owner;
 * - mount / unmount: the client at `<mountRoot>/fs/<token>` on the compute hosts and the links
 *   of the buffer's paths (`<mountRoot>/job/<token>/striped` → `<mountRoot>/fs/<token>/striped`);
 * - stage in / out: the injected stager copies on the reconciler host, with `DW_JOB_STRIPED`
 *   (or `DW_PERSISTENT_STRIPED_<name>` for a persistent buffer) at
 *   `<stagingRoot>/<token>/striped`, and each attached persistent buffer at
 *   `<mountRoot>/persistent/<name>/striped`;
 * - delete: unmount everything, stop the servers, wipe the bricks, then remove the inventory
 *   and `<workDir>/<token>`.
 *
 * The staging mount's ancestors must be searchable by job owners (the stager copies as them).
 * Every step is idempotent because every playbook is; a session without bricks has nothing to do.
 */
import { mkdir, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AbortedError, ProviderError } from '../../errors/errors';
import type { Logger } from '../../logging/logger';
import type { SessionRecord } from '../../registry/model';
import type {
  BufferRoots,
  FilesystemProvider,
  OperationContext,
  StageContext,
  Stager,
  TransferProgress,
} from '../provider';
import { runProcessGroup } from '../process-group';
import { buildInventory, renderInventory, type AnsibleFilesystem } from './inventory';

export interface AnsibleProviderOptions {
  /** Where the inventories are written: `<workDir>/<token>/inventory.json`. E.g. `/var/lib/dac/ansible`. */
  workDir: string;
  /** The playbooks. Default: `ansible/<kind>` at the root of this repository. */
  playbookDir?: string;
  /** `DAC_MOUNT_ROOT`. */
  mountRoot: string;
  /**
   * Where the reconciler host mounts filesystems for staging, `<stagingRoot>/<token>`. Default
   * `<workDir>/_staging` (no token starts with `_`, so it is no session's work directory).
   */
  stagingRoot?: string;
  /** Copies the stage requests as the session's owner. */
  stager: Stager;
  /** The ansible-playbook executable. Default `ansible-playbook` (from `PATH`). */
  ansiblePlaybook?: string;
  /** Longest run of one playbook before it is killed. Default 10 minutes. */
  timeoutMs?: number;
}

type Step = 'create' | 'mount' | 'unmount' | 'delete';

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
/** After SIGTERM, how long ansible-playbook gets to stop its workers before SIGKILL. */
const KILL_GRACE_MS = 3000;
/** Output lines kept for the error detail. */
const DETAIL_LINES = 20;
/** Output lines kept to find the failing host and task. */
const KEPT_LINES = 500;

/** The repository's `ansible/` directory, from `src/pfsprovider/ansible` or `dist/pfsprovider/ansible`. */
const REPO_PLAYBOOKS = resolve(__dirname, '..', '..', '..', 'ansible');

/** Tells apart the temporary inventory files of steps written in the same millisecond. */
let temporaryCount = 0;

export class AnsibleProvider implements FilesystemProvider {
  readonly name: AnsibleFilesystem;
  private readonly playbookDir: string;
  private readonly stagingRoot: string;

  constructor(
    readonly kind: AnsibleFilesystem,
    private readonly options: AnsibleProviderOptions,
  ) {
    this.name = kind;
    this.playbookDir = options.playbookDir ?? join(REPO_PLAYBOOKS, kind);
    this.stagingRoot = options.stagingRoot ?? join(options.workDir, '_staging');
  }

  /** The session's working directory, holding its inventory. */
  sessionDir(token: string): string {
    return join(this.options.workDir, token);
  }

  async create(context: OperationContext): Promise<void> {
    await this.runStep('create', context, []);
  }

  async mount(context: OperationContext, hosts: string[]): Promise<void> {
    if (hosts.length > 0) await this.runStep('mount', context, hosts);
  }

  async unmount(context: OperationContext, hosts: string[]): Promise<void> {
    if (hosts.length > 0) await this.runStep('unmount', context, hosts);
  }

  stageIn(context: StageContext): Promise<TransferProgress> {
    return this.options.stager(context, 'in', this.bufferRoots(context.session));
  }

  stageOut(context: StageContext): Promise<TransferProgress> {
    return this.options.stager(context, 'out', this.bufferRoots(context.session));
  }

  async delete(context: OperationContext): Promise<void> {
    const { session } = context;
    await this.runStep('delete', context, session.computeHosts);
    try {
      await this.removeSessionDir(session.token, context.log);
    } catch (error) {
      throw new ProviderError(`${this.kind} delete: cannot remove its work directory`, {
        detail: String(error),
        cause: error,
      });
    }
  }

  /** Where the stage paths' buffer variables point on this (the reconciler) host. */
  bufferRoots(session: SessionRecord): BufferRoots {
    const roots: Record<string, string> = {};
    if (session.bricks.length > 0) {
      const striped = join(this.stagingRoot, session.token, 'striped');
      if (session.kind === 'job') roots.DW_JOB_STRIPED = striped;
      else roots[`DW_PERSISTENT_STRIPED_${session.token}`] = striped;
    }
    for (const name of session.persistentAttachments) {
      roots[`DW_PERSISTENT_STRIPED_${name}`] = join(
        this.options.mountRoot,
        'persistent',
        name,
        'striped',
      );
    }
    return roots;
  }

  /** Write the inventory of `step` and run its playbook. */
  private async runStep(step: Step, context: OperationContext, hosts: string[]): Promise<void> {
    const { session, signal, log } = context;
    if (session.bricks.length === 0) return;
    if (signal.aborted) throw new AbortedError(`${this.kind} ${step} was aborted`);
    const inventory = buildInventory(this.kind, session, {
      mountRoot: this.options.mountRoot,
      clientHosts: hosts,
      stagingRoot: this.stagingRoot,
      localHost: session.reconciler ?? undefined,
    });
    const inventoryFile = await this.writeInventory(session.token, renderInventory(inventory));
    const playbook = join(this.playbookDir, `${step}.yml`);
    const args = ['-i', inventoryFile, playbook];
    log.info({ provider: this.kind, step, token: session.token, args }, 'running ansible-playbook');
    const started = Date.now();
    await this.runPlaybook(step, args, context);
    log.info(
      { provider: this.kind, step, token: session.token, ms: Date.now() - started },
      'ansible-playbook finished',
    );
  }

  /**
   * Remove `<workDir>/<token>`: the files this provider writes there, then the directory if that
   * left it empty (else it stays, with a warning: the filesystem is gone all the same). Never
   * recursive, so nothing mounted can be reached through it.
   */
  private async removeSessionDir(token: string, log: Logger): Promise<void> {
    const dir = this.sessionDir(token);
    const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    for (const name of names) {
      if (name === 'inventory.json' || /^\.inventory\.json\..*\.tmp$/.test(name)) {
        await rm(join(dir, name), { force: true });
      }
    }
    await rmdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOTEMPTY' || error.code === 'EEXIST') {
        log.warn({ provider: this.kind, dir }, 'work directory holds other files; left in place');
      } else if (error.code !== 'ENOENT') {
        throw error;
      }
    });
  }

  /** `<workDir>/<token>/inventory.json`, replaced atomically (temporary file + rename). */
  private async writeInventory(token: string, text: string): Promise<string> {
    const dir = this.sessionDir(token);
    const file = join(dir, 'inventory.json');
    temporaryCount += 1;
    const temporary = join(dir, `.inventory.json.${process.pid}.${temporaryCount}.tmp`);
    try {
      await mkdir(dir, { recursive: true, mode: 0o755 });
      await writeFile(temporary, text, { mode: 0o644 });
      await rename(temporary, file);
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      throw new ProviderError(`${this.kind}: cannot write the inventory ${file}`, {
        detail: String(error),
        cause: error,
      });
    }
    return file;
  }

  /**
   * Run ansible-playbook in its own process group (process-group.ts: stopping it stops its
   * workers too), logging its output line by line. Resolves on exit 0; rejects with
   * AbortedError when the context is aborted, ProviderError on timeout, start failure or a
   * non-zero exit.
   */
  private async runPlaybook(step: Step, args: string[], context: OperationContext): Promise<void> {
    const { signal, log, session } = context;
    const executable = this.options.ansiblePlaybook ?? 'ansible-playbook';
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const result = await runProcessGroup({
      executable,
      args,
      env: {
        ...process.env,
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_FORCE_COLOR: '0',
        ANSIBLE_RETRY_FILES_ENABLED: '0',
        PYTHONUNBUFFERED: '1',
      },
      signal,
      timeoutMs,
      killGraceMs: KILL_GRACE_MS,
      // Both streams: task results come on stdout, ansible-playbook's own errors on stderr.
      onLine: (line) => {
        if (line.trim() === '') return false;
        log.info({ provider: this.kind, step, token: session.token }, line);
        return true;
      },
      tailLines: KEPT_LINES,
      log,
    });
    if (result.kind === 'not-started') {
      throw new ProviderError(
        `${this.kind} ${step}: cannot run ${executable}: ${result.error.message}`,
        { detail: String(result.error), cause: result.error },
      );
    }
    const detail = result.tail.slice(-DETAIL_LINES).join('\n');
    if (result.kind === 'stopped') {
      if (result.reason === 'aborted') {
        throw new AbortedError(`${this.kind} ${step} was aborted`, { detail });
      }
      throw new ProviderError(`${this.kind} ${step} did not finish within ${timeoutMs / 1000} s`, {
        detail,
      });
    }
    if (result.code === 0) return;
    const where = describeFailure(result.tail);
    const status = result.code === null ? `killed by ${result.signal}` : `exit code ${result.code}`;
    throw new ProviderError(`${this.kind} ${step} failed${where} (ansible-playbook ${status})`, {
      detail,
    });
  }
}

/**
 * ` on <host> at task "<task>"` from ansible-playbook's output (`TASK [name] ***`, then
 * `fatal: [host]: FAILED!` or `failed: [host] (item=...)` or `fatal: [host]: UNREACHABLE!`);
 * empty when the output names no failing host.
 */
export function describeFailure(lines: string[]): string {
  let task: string | undefined;
  for (const line of lines) {
    const taskMatch = /^TASK \[(.+)\] \*+/.exec(line);
    if (taskMatch) {
      task = taskMatch[1];
      continue;
    }
    const failed = /^(?:fatal|failed): \[([^\]]+)\]/.exec(line);
    if (failed) {
      const host = failed[1]!.split(' -> ')[0];
      const unreachable = line.includes('UNREACHABLE!') ? ' (unreachable)' : '';
      return ` on ${host}${unreachable}${task ? ` at task "${task}"` : ''}`;
    }
  }
  return '';
}
