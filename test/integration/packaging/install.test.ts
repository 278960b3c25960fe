/**
 * scripts/install.sh, run for real under a scratch directory: the installed wrappers work from
 * their links with the production packages alone, the unit file names the installed dacd and
 * passes systemd-analyze verify, dacd's settings file is written once and never overwritten,
 * a second install replaces the first, and --uninstall removes everything but the settings.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'install.sh');

let dir: string;
let dirs: { prefix: string; sbin: string; units: string; config: string };
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dac-install-'));
  dirs = {
    prefix: join(dir, 'opt', 'dac'),
    sbin: join(dir, 'sbin'),
    units: join(dir, 'units'),
    config: join(dir, 'etc', 'dac'),
  };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function install(...extra: string[]) {
  const args = [
    ...['--prefix', dirs.prefix, '--sbin', dirs.sbin],
    ...['--unit-dir', dirs.units, '--config-dir', dirs.config],
    ...extra,
  ];
  const run = spawnSync(SCRIPT, args, { encoding: 'utf8', env: { PATH: process.env.PATH } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function runInstalled(program: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const run = spawnSync(join(dirs.sbin, program), args, {
    encoding: 'utf8',
    cwd: '/',
    env: { PATH: '/usr/bin:/bin', ...env },
  });
  return { status: run.status, output: run.stdout + run.stderr };
}

it('installs programs that run from their links with the production packages alone', () => {
  const first = install();
  expect(first).toMatchObject({ status: 0, stderr: '' });
  expect(first.stdout).toContain(`wrote ${dirs.config}/dacd.env`);
  for (const program of ['dacctl', 'dw_wlm_cli', 'dwstat', 'dacd']) {
    expect(lstatSync(join(dirs.sbin, program)).isSymbolicLink()).toBe(true);
  }
  const installed = runInstalled('dw_wlm_cli', ['--function', 'show_configurations']);
  expect(installed).toEqual({ status: 0, output: '{"configurations": []}\n' });
  // yargs, for the operators' tree, and pino, which dacd opens before it reads its settings.
  expect(runInstalled('dacctl', ['hosts', '--help']).status).toBe(0);
  expect(runInstalled('dacd', [], { DAC_BRICK_COUNT: 'two', DAC_LOG_FILE: 'none' })).toEqual({
    status: 4,
    output: 'dacd: DAC_BRICK_COUNT="two": must be a whole number\n',
  });
  const modules = readdirSync(join(dirs.prefix, 'node_modules'));
  expect(modules).toEqual(expect.arrayContaining(['pino', 'yargs', 'zod', 'cockatiel']));
  // Packages only the tests use are left out.
  expect(modules).not.toContain('etcd3');
  expect(modules).not.toContain('jest');
});

it('installs a unit file that names the installed dacd and passes systemd-analyze verify', () => {
  const unit = readFileSync(join(dirs.units, 'dacd.service'), 'utf8');
  expect(unit).toContain(`\nExecStart=${dirs.prefix}/bin/dacd\n`);
  const verify = spawnSync('systemd-analyze', ['verify', join(dirs.units, 'dacd.service')], {
    encoding: 'utf8',
  });
  expect({ status: verify.status, output: verify.stdout + verify.stderr }).toEqual({
    status: 0,
    output: '',
  });
});

it('writes dacd.env once, readable by root only, and a second install keeps it', () => {
  const settings = join(dirs.config, 'dacd.env');
  expect(statSync(settings).mode & 0o777).toBe(0o640);
  writeFileSync(settings, 'ETCDCTL_ENDPOINTS=http://etcd1:2379\n');
  writeFileSync(join(dirs.prefix, 'left-by-the-first'), '');
  const second = install();
  expect(second).toMatchObject({ status: 0, stderr: '' });
  expect(second.stdout).not.toContain('wrote');
  expect(readFileSync(settings, 'utf8')).toBe('ETCDCTL_ENDPOINTS=http://etcd1:2379\n');
  // The first install was replaced as a whole, and no staging directory is left.
  expect(existsSync(join(dirs.prefix, 'left-by-the-first'))).toBe(false);
  expect(readdirSync(join(dir, 'opt'))).toEqual(['dac']);
});

it('refuses a prefix it did not make, and a relative one', () => {
  const foreign = join(dir, 'foreign');
  mkdirSync(foreign);
  const refused = spawnSync(SCRIPT, ['--prefix', foreign, '--sbin', dirs.sbin], {
    encoding: 'utf8',
  });
  expect(refused.status).toBe(1);
  expect(refused.stderr).toBe(
    `install.sh: ${foreign} exists and was not made by this script; remove it or give another --prefix\n`,
  );
  const relative = spawnSync(SCRIPT, ['--prefix', 'opt/dac'], { encoding: 'utf8' });
  expect(relative.stderr).toBe('install.sh: --prefix opt/dac: give an absolute path\n');
});

it('--uninstall removes the programs, links and unit, keeps the settings and foreign links', () => {
  rmSync(join(dirs.sbin, 'dwstat'));
  symlinkSync('/usr/bin/true', join(dirs.sbin, 'dwstat'));
  const removed = install('--uninstall');
  expect(removed).toMatchObject({ status: 0, stderr: '' });
  expect(existsSync(dirs.prefix)).toBe(false);
  expect(existsSync(join(dirs.units, 'dacd.service'))).toBe(false);
  expect(readdirSync(dirs.sbin)).toEqual(['dwstat']);
  expect(readFileSync(join(dirs.config, 'dacd.env'), 'utf8')).toContain('etcd1');
  expect(install('--uninstall')).toMatchObject({
    status: 0,
    stdout: `nothing installed in ${dirs.prefix}\n`,
  });
});
