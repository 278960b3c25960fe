/**
 * The lustre and beegfs providers: the real ansible-playbook checks the syntax of every playbook
 * with a generated inventory, and a stand-in ansible-playbook (a shell script that records its
 * argv and inventory and then succeeds, fails or hangs as told) shows how the provider runs it.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { AbortedError, ProviderError } from '../../../src/errors/errors';
import { AnsibleProvider } from '../../../src/pfsprovider/ansible/ansible-provider';
import {
  buildInventory,
  renderInventory,
  type AnsibleFilesystem,
} from '../../../src/pfsprovider/ansible/inventory';
import type {
  BufferRoots,
  OperationContext,
  StageContext,
  TransferProgress,
} from '../../../src/pfsprovider/provider';
import type { SessionRecord } from '../../../src/registry/model';
import { running } from '../../support/processes';
import { sessionRecord } from '../../support/session-record';

const run = promisify(execFile);
const PLAYBOOKS = resolve(__dirname, '..', '..', '..', 'ansible');
const KINDS: AnsibleFilesystem[] = ['lustre', 'beegfs'];
const STEPS = ['create', 'mount', 'unmount', 'delete'] as const;

function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return sessionRecord({
    accessMode: 'striped,private',
    bricks: [
      { host: 'storage1', device: 'nvme0n1' },
      { host: 'storage2', device: 'nvme0n1' },
      { host: 'storage1', device: 'nvme1n1' },
    ],
    computeHosts: ['nid001', 'nid002'],
    ...overrides,
  });
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dac-ansible-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the playbooks', () => {
  it.each(KINDS)(
    'of %s pass ansible-playbook --syntax-check',
    async (kind) => {
      for (const step of STEPS) {
        const hosts = step === 'create' ? [] : ['nid001', 'nid002'];
        const inventory = join(dir, `${kind}-${step}.json`);
        const text = renderInventory(
          buildInventory(kind, session(), {
            mountRoot: '/mnt/dac',
            clientHosts: hosts,
            localHost: 'storage1',
          }),
        );
        await writeFile(inventory, text);
        const playbook = join(PLAYBOOKS, kind, `${step}.yml`);
        const { stdout } = await run(
          'ansible-playbook',
          ['--syntax-check', '-i', inventory, playbook],
          { env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: join(dir, 'tmp') } },
        ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
          throw new Error(
            `${kind}/${step}.yml: ${error.message}\n${error.stdout}\n${error.stderr}`,
          );
        });
        expect(stdout).toContain(`playbook: ${playbook}`);
      }
    },
    120000,
  );

  it('use only ansible.builtin modules, with argv lists instead of shell strings', () => {
    for (const kind of KINDS) {
      const files = [
        ...STEPS.map((s) => join(PLAYBOOKS, kind, `${s}.yml`)),
        ...listYaml(join(PLAYBOOKS, kind, 'tasks')),
      ];
      for (const file of files) {
        const text = readFileSync(file, 'utf8');
        const modules = [...text.matchAll(/^\s*-?\s*([a-z_]+\.[a-z_]+\.[a-z_]+):/gm)].map(
          (m) => m[1],
        );
        expect(modules.length).toBeGreaterThan(0);
        for (const module of modules) expect(`${file}: ${module}`).toMatch(/ansible\.builtin\./);
        expect(text).not.toMatch(/ansible\.builtin\.shell|^\s*(shell|raw):/m);
        expect(text).not.toMatch(/ansible\.builtin\.command:[ \t]*\S/);
      }
    }
  });
});

function listYaml(folder: string): string[] {
  return existsSync(folder)
    ? readdirSync(folder)
        .filter((f) => f.endsWith('.yml'))
        .map((f) => join(folder, f))
    : [];
}

/** A stand-in ansible-playbook driven by `<dir>/mode`: ok, fail or hang. */
async function fakeAnsible(): Promise<string> {
  const script = join(dir, 'ansible-playbook');
  await mkdir(join(dir, 'calls'));
  await writeFile(join(dir, 'mode'), 'ok');
  await writeFile(
    script,
    `#!/bin/sh
d='${dir}'
n=$(ls "$d/calls" | grep -c argv)
printf '%s\\n' "$@" > "$d/calls/$n.argv"
while [ $# -gt 0 ]; do
  [ "$1" = -i ] && cp "$2" "$d/calls/$n.inventory"
  shift
done
echo $$ > "$d/pid"
case $(cat "$d/mode") in
  ok) echo 'PLAY RECAP ***'; exit 0 ;;
  fail)
    i=1
    while [ $i -le 30 ]; do echo "line $i"; i=$((i + 1)); done
    echo 'TASK [Format the OSTs] *********'
    echo 'fatal: [storage2]: FAILED! => {"msg": "mkfs.lustre: /dev/nvme0n1 is busy"}'
    echo 'PLAY RECAP ***' >&2
    exit 2 ;;
  hang) sleep 60 & echo $! > "$d/sleep.pid"; wait; exit 0 ;;
esac
`,
  );
  await chmod(script, 0o755);
  return script;
}

interface Call {
  argv: string[];
  inventory: unknown;
}

async function calls(): Promise<Call[]> {
  const names = (await readdir(join(dir, 'calls'))).filter((f) => f.endsWith('.argv')).sort();
  return Promise.all(
    names.map(async (name) => {
      const n = name.replace('.argv', '');
      const argv = (await readFile(join(dir, 'calls', name), 'utf8')).trimEnd().split('\n');
      const inventoryFile = join(dir, 'calls', `${n}.inventory`);
      const inventory = existsSync(inventoryFile)
        ? JSON.parse(await readFile(inventoryFile, 'utf8'))
        : undefined;
      return { argv, inventory };
    }),
  );
}

async function waitFor(file: string): Promise<number> {
  for (let i = 0; i < 200; i += 1) {
    if (existsSync(file)) {
      const text = (await readFile(file, 'utf8')).trim();
      if (text !== '') return Number(text);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${file} never appeared`);
}

describe('AnsibleProvider', () => {
  let logLines: string[];
  let stagerCalls: { direction: string; roots: BufferRoots }[];

  function provider(kind: AnsibleFilesystem, script: string, timeoutMs?: number) {
    return new AnsibleProvider(kind, {
      workDir: join(dir, 'work'),
      mountRoot: '/mnt/dac',
      ansiblePlaybook: script,
      timeoutMs,
      stager: (_context, direction, roots): Promise<TransferProgress> => {
        stagerCalls.push({ direction, roots });
        return Promise.resolve({ bytes: 3, files: 1 });
      },
    });
  }

  function context(record: SessionRecord, signal = new AbortController().signal) {
    const log = pino({ level: 'info' }, { write: (line: string) => logLines.push(line) });
    return { session: record, signal, log } satisfies OperationContext;
  }

  beforeEach(() => {
    logLines = [];
    stagerCalls = [];
  });

  it('runs the playbook of each step with the session inventory', async () => {
    const script = await fakeAnsible();
    const lustre = provider('lustre', script);
    const record = session();
    await lustre.create(context(record));
    await lustre.mount(context(record), ['nid001', 'nid002']);
    await lustre.unmount(context(record), ['nid002']);
    await lustre.delete(context(record));

    const recorded = await calls();
    const inventoryFile = join(dir, 'work', '4242', 'inventory.json');
    expect(recorded.map((c) => c.argv)).toEqual(
      STEPS.map((step) => ['-i', inventoryFile, join(PLAYBOOKS, 'lustre', `${step}.yml`)]),
    );
    for (const step of STEPS)
      expect(existsSync(join(PLAYBOOKS, 'lustre', `${step}.yml`))).toBe(true);

    const computeOf = (c: Call) =>
      Object.keys(
        (c.inventory as ReturnType<typeof buildInventory>).all.children.dac_4242!.children.clients
          .children.compute.hosts,
      );
    expect(recorded.map(computeOf)).toEqual([
      [],
      ['nid001', 'nid002'],
      ['nid002'],
      ['nid001', 'nid002'],
    ]);
    expect(recorded[0]!.inventory).toEqual(
      buildInventory('lustre', record, {
        mountRoot: '/mnt/dac',
        clientHosts: [],
        stagingRoot: join(dir, 'work', '_staging'),
        localHost: 'storage1',
      }),
    );
    expect(logLines.join('')).toContain('PLAY RECAP');
  });

  it('writes the beegfs inventory for the beegfs playbooks', async () => {
    const script = await fakeAnsible();
    await provider('beegfs', script).create(context(session()));
    const [call] = await calls();
    expect(call!.argv[2]).toBe(join(PLAYBOOKS, 'beegfs', 'create.yml'));
    const written = readFileSync(join(dir, 'work', '4242', 'inventory.json'), 'utf8');
    expect(JSON.parse(written)).toEqual(call!.inventory);
    expect(written).toContain('"beegfs_mgmtd": "/dev/nvme0n1"');
    expect(readdirNames(join(dir, 'work', '4242'))).toEqual(['inventory.json']);
  });

  it('does nothing for a session without bricks or a mount without hosts', async () => {
    const script = await fakeAnsible();
    const lustre = provider('lustre', script);
    const empty = session({ bricks: [], reconciler: null });
    await lustre.create(context(empty));
    await lustre.mount(context(empty), ['nid001']);
    await lustre.delete(context(empty));
    await lustre.mount(context(session()), []);
    await lustre.unmount(context(session()), []);
    expect(await calls()).toEqual([]);
  });

  it('reports a failed playbook with the host, the task and the end of the output', async () => {
    const script = await fakeAnsible();
    await writeFile(join(dir, 'mode'), 'fail');
    const error = await provider('lustre', script)
      .create(context(session()))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    const failure = error as ProviderError;
    expect(failure.message).toBe(
      'lustre create failed on storage2 at task "Format the OSTs" (ansible-playbook exit code 2)',
    );
    const detail = failure.detail!.split('\n');
    expect(detail).toHaveLength(20);
    expect(detail).toContain(
      'fatal: [storage2]: FAILED! => {"msg": "mkfs.lustre: /dev/nvme0n1 is busy"}',
    );
    expect(detail).not.toContain('line 1');
  });

  it('keeps the work directory when delete fails and removes it when delete succeeds', async () => {
    const script = await fakeAnsible();
    const beegfs = provider('beegfs', script);
    const record = session();
    await beegfs.create(context(record));
    await writeFile(join(dir, 'mode'), 'fail');
    await expect(beegfs.delete(context(record))).rejects.toThrow(ProviderError);
    expect(existsSync(join(dir, 'work', '4242', 'inventory.json'))).toBe(true);
    await writeFile(join(dir, 'mode'), 'ok');
    await beegfs.delete(context(record));
    expect(existsSync(join(dir, 'work', '4242'))).toBe(false);
    await beegfs.delete(context(record));
    expect(existsSync(join(dir, 'work', '4242'))).toBe(false);
  });

  it('never removes what it did not write in the work directory, and still succeeds', async () => {
    const script = await fakeAnsible();
    const lustre = provider('lustre', script);
    await lustre.create(context(session()));
    await mkdir(join(dir, 'work', '4242', 'not-ours'));
    await writeFile(join(dir, 'work', '4242', 'not-ours', 'data'), 'x');
    await lustre.delete(context(session()));
    expect(readdirNames(join(dir, 'work', '4242'))).toEqual(['not-ours']);
    expect(logLines.join('')).toContain('left in place');
  });

  it('kills ansible-playbook and its children when the step is aborted', async () => {
    const script = await fakeAnsible();
    await writeFile(join(dir, 'mode'), 'hang');
    const controller = new AbortController();
    const step = provider('lustre', script).create(context(session(), controller.signal));
    const pid = await waitFor(join(dir, 'pid'));
    const sleepPid = await waitFor(join(dir, 'sleep.pid'));
    const started = Date.now();
    controller.abort();
    await expect(step).rejects.toThrow(AbortedError);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(running(pid)).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(running(sleepPid)).toBe(false);
  });

  it('refuses to start when already aborted', async () => {
    const script = await fakeAnsible();
    const controller = new AbortController();
    controller.abort();
    await expect(
      provider('lustre', script).create(context(session(), controller.signal)),
    ).rejects.toThrow(AbortedError);
    expect(await calls()).toEqual([]);
  });

  it('kills ansible-playbook at the timeout', async () => {
    const script = await fakeAnsible();
    await writeFile(join(dir, 'mode'), 'hang');
    const step = provider('beegfs', script, 300).mount(context(session()), ['nid001']);
    await expect(step).rejects.toThrow(
      new ProviderError('beegfs mount did not finish within 0.3 s'),
    );
    expect(running(await waitFor(join(dir, 'pid')))).toBe(false);
  });

  it('reports an ansible-playbook that cannot be started', async () => {
    await expect(
      provider('lustre', join(dir, 'no-such-ansible')).create(context(session())),
    ).rejects.toThrow(/lustre create: cannot run .*no-such-ansible/);
  });

  it('stages with the staging mount as the job buffer and attached buffers where jobs run', async () => {
    const lustre = provider('lustre', 'unused');
    const record = session({ persistentAttachments: ['scratch1', 'scratch2'] });
    const stage = { ...context(record), onProgress: () => undefined } satisfies StageContext;
    await expect(lustre.stageIn(stage)).resolves.toEqual({ bytes: 3, files: 1 });
    await lustre.stageOut(stage);
    const roots = {
      DW_JOB_STRIPED: join(dir, 'work', '_staging', '4242', 'striped'),
      DW_PERSISTENT_STRIPED_scratch1: '/mnt/dac/persistent/scratch1/striped',
      DW_PERSISTENT_STRIPED_scratch2: '/mnt/dac/persistent/scratch2/striped',
    };
    expect(stagerCalls).toEqual([
      { direction: 'in', roots },
      { direction: 'out', roots },
    ]);
  });

  it('stages a persistent buffer under its own variable', async () => {
    const beegfs = provider('beegfs', 'unused');
    const record = session({ kind: 'persistent', token: 'scratch1' });
    await beegfs.stageIn({ ...context(record), onProgress: () => undefined });
    expect(stagerCalls[0]!.roots).toEqual({
      DW_PERSISTENT_STRIPED_scratch1: join(dir, 'work', '_staging', 'scratch1', 'striped'),
    });
  });
});

function readdirNames(folder: string): string[] {
  return readdirSync(folder).sort();
}
