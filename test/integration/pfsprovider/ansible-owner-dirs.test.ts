/**
 * The lustre and beegfs tasks that make directories inside a session's filesystem, run for
 * real by ansible-playbook on this machine (connection local, a directory standing in for the
 * mounted filesystem): they make the owner's directories as the owner, and a link that the job
 * user put in the filesystem changes nothing outside it.
 */
import { execFile } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PLAYBOOKS = resolve(__dirname, '..', '..', '..', 'ansible');
const NOBODY = { uid: 65534, gid: 65534 };
const describeAsRoot = process.getuid?.() === 0 ? describe : describe.skip;

let dir: string;
let fs: string;
let outside: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dac-owner-dirs-'));
  await chmod(dir, 0o755); // the owner reaches the filesystem through it
  // The mounted filesystem: its root given to the owner, as create.yml does.
  fs = join(dir, 'mnt');
  await mkdir(fs, { mode: 0o700 });
  await run('chown', [`${NOBODY.uid}:${NOBODY.gid}`, fs]);
  outside = join(dir, 'srv');
  await mkdir(join(outside, 'x'), { recursive: true, mode: 0o755 });
  await writeFile(join(outside, 'x', 'precious'), 'keep me');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Run `tasks` (a file of tasks/) on host cn1 here; resolves with ansible's exit code. */
async function runTasks(kind: string, tasks: string, vars: Record<string, unknown>) {
  const playbook = join(dir, 'play.yml');
  await writeFile(
    playbook,
    JSON.stringify([
      {
        hosts: 'cn1',
        gather_facts: false,
        tasks: [{ 'ansible.builtin.import_tasks': join(PLAYBOOKS, kind, 'tasks', tasks) }],
      },
    ]),
  );
  const inventory = join(dir, 'inventory.json');
  await writeFile(
    inventory,
    JSON.stringify({
      all: {
        hosts: {
          cn1: { ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3' },
        },
        vars: { dac_owner_uid: NOBODY.uid, dac_owner_gid: NOBODY.gid, ...vars },
      },
    }),
  );
  const env = { ...process.env, ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'), ANSIBLE_NOCOLOR: '1' };
  return run('ansible-playbook', ['-i', inventory, playbook], { env }).then(
    () => 0,
    (error: { code?: number }) => error.code ?? -1,
  );
}

async function ownerAndMode(path: string) {
  const info = await lstat(path);
  return { uid: info.uid, gid: info.gid, mode: info.mode & 0o7777 };
}

function linkVars(): Record<string, unknown> {
  return {
    dac_client_mount: fs,
    dac_paths_dir: join(dir, 'paths'),
    dac_striped_link: join(dir, 'paths', 'striped'),
    dac_private_link: join(dir, 'paths', 'private'),
  };
}

describeAsRoot.each(['lustre', 'beegfs'])('the %s tasks', (kind) => {
  it('make the namespaces as the owner, mode 0700', async () => {
    const owned = [join(fs, 'striped'), join(fs, 'private')];
    expect(await runTasks(kind, 'owner-dirs.yml', { owner_dirs: owned })).toBe(0);
    for (const path of owned) expect(await ownerAndMode(path)).toEqual({ ...NOBODY, mode: 0o700 });
    expect(await runTasks(kind, 'link-paths.yml', linkVars())).toBe(0);
    expect(await ownerAndMode(join(fs, 'private', 'cn1'))).toEqual({ ...NOBODY, mode: 0o700 });
  }, 60000);

  it('do not follow a private/ link of the user to a root directory', async () => {
    await symlink(join(outside, 'x'), join(fs, 'private'));
    expect(await runTasks(kind, 'link-paths.yml', linkVars())).not.toBe(0);
    expect(await readdir(join(outside, 'x'))).toEqual(['precious']);
    expect(await ownerAndMode(join(outside, 'x'))).toEqual({ uid: 0, gid: 0, mode: 0o755 });
  }, 60000);

  it("do not follow a link of the user in a repeated create's namespaces", async () => {
    await symlink(join(outside, 'x'), join(fs, 'striped'));
    const code = await runTasks(kind, 'owner-dirs.yml', { owner_dirs: [join(fs, 'striped')] });
    // mkdir -p as the owner accepts the owner's link to a directory, and changes nothing there.
    expect(code).toBe(0);
    expect(await readdir(join(outside, 'x'))).toEqual(['precious']);
    expect(await ownerAndMode(join(outside, 'x'))).toEqual({ uid: 0, gid: 0, mode: 0o755 });
  }, 60000);
});
