/**
 * docker-slurm/, the docker-compose demo. There is no Docker engine here, so this checks what
 * can be checked without one: docker-compose accepts the compose file, the services share the
 * volumes the local provider needs (bricks and job links at the same paths in every dacd, slurmd
 * and slurmctld), the Slurm configuration names only keys Slurm 22.05 accepts and points at what
 * the Dockerfile installs, the scripts parse, and the Dockerfile copies files that exist.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const DIR = join(ROOT, 'docker-slurm');
const COMPOSE_FILE = join(DIR, 'docker-compose.yml');

const SLURM_SERVICES = ['slurmctld', 'c1', 'c2'];
const DACD_SERVICES = ['dac1', 'dac2', 'dac3'];
/** Every container built from our image: all see the bricks, the job links and /data. */
const NODE_SERVICES = [...SLURM_SERVICES, ...DACD_SERVICES];

/** burst_buffer.conf keys Slurm 22.05 accepts (contract §6); any other key is fatal. */
const ACCEPTED_BB_KEYS = [
  'GetSysState',
  'GetSysStatus',
  'DefaultPool',
  'AllowUsers',
  'DenyUsers',
  'Flags',
  'ValidateTimeout',
  'OtherTimeout',
  'StageInTimeout',
  'StageOutTimeout',
  'Directive',
  'Granularity',
  'Pools',
  'CreateBuffer',
  'DestroyBuffer',
  'StartStageIn',
  'StartStageOut',
  'StopStageIn',
  'StopStageOut',
].map((k) => k.toLowerCase());
const KNOWN_FLAGS = [
  'EnablePersistent',
  'DisablePersistent',
  'TeardownFailure',
  'PrivateData',
  'EmulateCray',
];

interface Mount {
  source: string;
  target: string;
}

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  hostname?: string;
  environment?: Record<string, string>;
  volumes?: (string | { type?: string; source: string; target: string })[];
  depends_on?: Record<string, unknown> | string[];
}

interface ComposeConfig {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

let config: ComposeConfig;

beforeAll(async () => {
  const { stdout } = await run('docker-compose', ['-f', COMPOSE_FILE, 'config'], {
    cwd: DIR,
  }).catch((error: NodeJS.ErrnoException & { stderr?: string }) => {
    const hint =
      error.code === 'ENOENT' ? " (install Debian's docker-compose; scripts/test.sh does)" : '';
    throw new Error(`docker-compose config failed${hint}: ${error.message}\n${error.stderr ?? ''}`);
  });
  // docker-compose 1.29 prints YAML only. It is a Python program that depends on PyYAML
  // (Debian's python3-yaml), so its own interpreter turns the YAML into JSON.
  const toJson = spawnSync(
    composePython(),
    ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    { input: stdout, encoding: 'utf8' },
  );
  if (toJson.status !== 0) throw new Error(`YAML to JSON failed: ${toJson.stderr}`);
  config = JSON.parse(toJson.stdout) as ComposeConfig;
}, 60000);

/** The interpreter of the docker-compose script found on PATH (python3 if none is named). */
function composePython(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const file = join(dir, 'docker-compose');
    if (!dir || !existsSync(file)) continue;
    const shebang = /^#!\s*(\S+)/.exec(readFileSync(file).subarray(0, 200).toString('latin1'));
    return shebang?.[1] && /python/.test(shebang[1]) ? shebang[1] : 'python3';
  }
  return 'python3';
}

function service(name: string): Service {
  const found = config.services[name];
  if (!found) throw new Error(`no service ${name}`);
  return found;
}

function env(name: string): Record<string, string> {
  return service(name).environment ?? {};
}

function mounts(name: string): Mount[] {
  return (service(name).volumes ?? []).map((volume) => {
    if (typeof volume !== 'string') return { source: volume.source, target: volume.target };
    const [source = '', target = ''] = volume.split(':');
    return { source, target };
  });
}

/** The named volume mounted at `target` in `name`, or undefined. */
function volumeAt(name: string, target: string): string | undefined {
  return mounts(name).find((m) => m.target === target)?.source;
}

/** `key=value` settings of a Slurm configuration file; several keys may share one line. */
function slurmSettings(file: string): [string, string][] {
  const settings: [string, string][] = [];
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    for (const word of line.split(/\s+/)) {
      const equals = word.indexOf('=');
      if (equals <= 0) throw new Error(`${file}: not key=value: ${word}`);
      settings.push([word.slice(0, equals), word.slice(equals + 1)]);
    }
  }
  return settings;
}

/** The first value of `key` (case-insensitive, as Slurm reads it). */
function setting(settings: [string, string][], key: string): string | undefined {
  return settings.find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
}

/** Expand the simple Slurm host lists used here: `c[1-2]`, `c1,c2`. */
function expandHostList(list: string): string[] {
  return list.split(',').flatMap((part) => {
    const range = /^(.*)\[(\d+)-(\d+)\]$/.exec(part);
    if (!range) return [part];
    const [, prefix, from, to] = range;
    return Array.from({ length: Number(to) - Number(from) + 1 }, (_, i) => {
      return `${prefix}${Number(from) + i}`;
    });
  });
}

/** Dockerfile instructions, continuation lines joined and comments dropped. */
function dockerfileInstructions(): string[] {
  const lines = readFileSync(join(DIR, 'Dockerfile'), 'utf8')
    .split('\n')
    .filter((l) => !/^\s*#/.test(l));
  const instructions: string[] = [];
  let current = '';
  for (const line of lines) {
    current += line.replace(/\\$/, ' ');
    if (line.endsWith('\\')) continue;
    if (current.trim() !== '') instructions.push(current.trim().replace(/\s+/g, ' '));
    current = '';
  }
  return instructions;
}

describe('docker-compose.yml', () => {
  it('runs etcd, slurmctld, two slurmd and three dacd', () => {
    expect(Object.keys(config.services).sort()).toEqual(['etcd', ...NODE_SERVICES].sort());
    expect(service('slurmctld').command).toEqual(['slurmctld']);
    for (const name of ['c1', 'c2']) expect(service(name).command).toEqual(['slurmd']);
    for (const name of DACD_SERVICES) expect(service(name).command).toEqual(['dacd']);
  });

  it('builds one image from the repository root with docker-slurm/Dockerfile', () => {
    const images = new Set(NODE_SERVICES.map((name) => service(name).image));
    expect(images.size).toBe(1);
    for (const name of NODE_SERVICES) {
      const build = service(name).build;
      expect(build && resolve(DIR, build.context)).toBe(ROOT);
      expect(build?.dockerfile).toBe('docker-slurm/Dockerfile');
    }
    expect(existsSync(join(ROOT, 'docker-slurm', 'Dockerfile'))).toBe(true);
  });

  it('serves etcd on every interface and advertises it as http://etcd:2379', () => {
    const command = (service('etcd').command ?? []).join(' ');
    expect(command).toContain('--listen-client-urls=http://0.0.0.0:2379');
    expect(command).toContain('--advertise-client-urls=http://etcd:2379');
    expect(service('etcd').image).toMatch(/etcd:v3\.5\./);
    for (const name of NODE_SERVICES) {
      expect(`${name}: ${env(name).ETCDCTL_ENDPOINTS}`).toBe(`${name}: http://etcd:2379`);
    }
  });

  it('gives every dacd its own host name, 4 bricks of 100 GiB and the local provider', () => {
    const hostNames = DACD_SERVICES.map((name) => env(name).DAC_HOST_NAME);
    expect(hostNames).toEqual(DACD_SERVICES);
    expect(new Set(hostNames).size).toBe(DACD_SERVICES.length);
    for (const name of DACD_SERVICES) {
      expect(service(name).hostname).toBe(name);
      expect(env(name)).toMatchObject({
        DAC_POOL_NAME: 'default',
        DAC_BRICK_COUNT: '4',
        DAC_BRICK_CAPACITY_GB: '100',
        DAC_FS_PROVIDER: 'local',
      });
    }
  });

  it('mounts the same bricks, job links and /data volumes at the same paths everywhere', () => {
    const localRoot = env('dac1').DAC_LOCAL_ROOT;
    const mountRoot = env('dac1').DAC_MOUNT_ROOT;
    expect(localRoot).toBe('/var/lib/dac/bricks');
    expect(mountRoot).toBe('/mnt/dac');
    const declared = Object.keys(config.volumes ?? {});
    for (const target of [localRoot!, mountRoot!, '/data']) {
      const dacdVolume = volumeAt('dac1', target);
      for (const name of NODE_SERVICES) {
        expect(`${name} ${target}: ${volumeAt(name, target)}`).toBe(
          `${name} ${target}: ${dacdVolume}`,
        );
      }
      // A named volume, not a host directory.
      expect(declared).toContain(dacdVolume);
    }
    // The CLI (in slurmctld) and the jobs (in c1, c2) use the roots the dacd use.
    for (const name of NODE_SERVICES) {
      expect(`${name}: ${env(name).DAC_LOCAL_ROOT} ${env(name).DAC_MOUNT_ROOT}`).toBe(
        `${name}: ${localRoot} ${mountRoot}`,
      );
    }
  });

  it('shares the munge key volume between the Slurm containers, where the entrypoint looks', () => {
    const entrypoint = readFileSync(join(DIR, 'entrypoint.sh'), 'utf8');
    const keyDir = /^shared_key=(\/\S+)\/munge\.key$/m.exec(entrypoint)?.[1];
    expect(keyDir).toBeDefined();
    const sources = SLURM_SERVICES.map((name) => volumeAt(name, keyDir!));
    expect(sources[0]).toBeDefined();
    expect(sources).toEqual(Array(SLURM_SERVICES.length).fill(sources[0]));
    for (const name of DACD_SERVICES) expect(volumeAt(name, keyDir!)).toBeUndefined();
  });

  it('names the hosts as slurm.conf does, and keeps the controller state in a volume', () => {
    const settings = slurmSettings(join(DIR, 'slurm.conf'));
    expect(service('slurmctld').hostname).toBe(setting(settings, 'SlurmctldHost'));
    const nodes = expandHostList(setting(settings, 'NodeName') ?? '');
    expect(nodes).toEqual(['c1', 'c2']);
    for (const node of nodes) {
      expect(service(node).hostname).toBe(node);
      expect(env(node).SLURMD_NODENAME).toBe(node);
    }
    const stateDir = setting(settings, 'StateSaveLocation');
    expect(stateDir).toBeDefined();
    expect(volumeAt('slurmctld', stateDir!)).toBeDefined();
  });
});

describe('the Slurm configuration', () => {
  const slurm = () => slurmSettings(join(DIR, 'slurm.conf'));
  const burstBuffer = () => slurmSettings(join(DIR, 'burst_buffer.conf'));

  it('slurm.conf uses the datawarp plugin, munge and no cgroups', () => {
    const settings = slurm();
    expect(setting(settings, 'BurstBufferType')).toBe('burst_buffer/datawarp');
    expect(setting(settings, 'AuthType')).toBe('auth/munge');
    expect(setting(settings, 'ProctrackType')).toBe('proctrack/linuxproc');
    expect(setting(settings, 'TaskPlugin')).toBe('task/none');
    expect(setting(settings, 'SelectType')).toBe('select/cons_tres');
    expect(setting(settings, 'DebugFlags')).toContain('BurstBuffer');
    expect(expandHostList(setting(settings, 'Nodes') ?? '')).toEqual(['c1', 'c2']);
  });

  it('burst_buffer.conf has only keys Slurm 22.05 accepts, each once', () => {
    const keys = burstBuffer().map(([key]) => key);
    for (const key of keys) expect(ACCEPTED_BB_KEYS).toContain(key.toLowerCase());
    expect(new Set(keys.map((k) => k.toLowerCase())).size).toBe(keys.length);
    const flags = setting(burstBuffer(), 'Flags')?.split(',') ?? [];
    for (const flag of flags) expect(KNOWN_FLAGS).toContain(flag);
    expect(flags).toEqual(expect.arrayContaining(['EnablePersistent', 'TeardownFailure']));
    expect(setting(burstBuffer(), 'DefaultPool')).toBe(env('dac1').DAC_POOL_NAME);
  });

  it('has whole-second timeouts, ValidateTimeout below MessageTimeout', () => {
    for (const key of ['ValidateTimeout', 'OtherTimeout', 'StageInTimeout', 'StageOutTimeout']) {
      expect(`${key}=${setting(burstBuffer(), key)}`).toMatch(new RegExp(`^${key}=[1-9]\\d*$`));
    }
    const message = Number(setting(slurm(), 'MessageTimeout') ?? 10);
    expect(Number(setting(burstBuffer(), 'ValidateTimeout'))).toBeLessThan(message);
  });

  it('points GetSysState and GetSysStatus at the links the Dockerfile makes', () => {
    const instructions = dockerfileInstructions();
    const links = new Map<string, string>();
    for (const instruction of instructions) {
      for (const m of instruction.matchAll(/ln -s (\S+) (\S+)/g)) links.set(m[2]!, m[1]!);
    }
    const expected: [string, string][] = [
      ['GetSysState', 'dw_wlm_cli'],
      ['GetSysStatus', 'dwstat'],
    ];
    for (const [key, program] of expected) {
      const path = setting(burstBuffer(), key);
      expect(path).toBe(`/usr/local/sbin/${program}`);
      const target = links.get(path!);
      expect(target).toBe(`/opt/dac/bin/${program}`);
      // /opt/dac is the repository as the build stage left it.
      expect(existsSync(join(ROOT, 'bin', program))).toBe(true);
    }
    expect(instructions).toContain('COPY --from=build /opt/dac /opt/dac');
    expect(instructions).toContain(
      'COPY docker-slurm/slurm.conf docker-slurm/burst_buffer.conf /etc/slurm/',
    );
  });
});

describe('the Dockerfile and the scripts', () => {
  it('builds on node:20-bookworm-slim with Debian Slurm and munge', () => {
    const instructions = dockerfileInstructions();
    const bases = instructions.filter((i) => i.startsWith('FROM '));
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) expect(base).toMatch(/^FROM node:20-bookworm-slim( AS \w+)?$/);
    const install = instructions.find((i) => i.includes('apt-get install')) ?? '';
    for (const pkg of [
      'munge',
      'slurmctld',
      'slurmd',
      'slurm-client',
      'slurm-wlm-basic-plugins',
      'etcd-client',
    ]) {
      expect(install.split(' ')).toContain(pkg);
    }
    const build = instructions.find((i) => i.includes('npm run build')) ?? '';
    expect(build).toContain('npm prune --omit=dev');
  });

  it('copies only files that exist, and that Dockerfile.dockerignore lets through', () => {
    const allowed = readFileSync(join(DIR, 'Dockerfile.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).trim());
    const copies = dockerfileInstructions().filter(
      (i) => i.startsWith('COPY ') && !i.includes('--from='),
    );
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = copy.split(' ').slice(1, -1);
      for (const source of sources) {
        expect(`${source}: ${existsSync(join(ROOT, source))}`).toBe(`${source}: true`);
        expect(allowed).toContain(source);
      }
    }
  });

  it.each(['demo.sh', 'entrypoint.sh'])('%s is executable and passes bash -n', async (name) => {
    const file = join(DIR, name);
    expect(statSync(file).mode & 0o111).toBe(0o111);
    await run('bash', ['-n', file]);
  });

  it('demo.sh submits the burst-buffer job of the native demo as an ordinary user', () => {
    const demo = readFileSync(join(DIR, 'demo.sh'), 'utf8');
    expect(demo).toContain('#DW jobdw capacity=100GiB access_mode=striped type=scratch');
    expect(demo).toContain(
      '#DW stage_in source=/data/in destination=$DW_JOB_STRIPED/in type=directory',
    );
    expect(demo).toContain(
      '#DW stage_out source=$DW_JOB_STRIPED/out destination=/data/out type=directory',
    );
    expect(demo).toMatch(/exec -T -u demo slurmctld/);
    expect(demo).toMatch(/down --volumes/);
  });
});
