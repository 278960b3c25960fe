/**
 * Jest global set-up: build the binaries the tests execute, and start one private etcd for
 * the run. Workers inherit `ETCDCTL_ENDPOINTS`, overriding any developer setting, so a
 * developer's own etcd is never touched.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEtcd, stopEtcd, type RunningEtcd } from './etcd-server';

const ROOT = join(__dirname, '..', '..');
/** One state file per jest run, named by the pid of the jest process that owns the etcd. */
export const STATE_DIR = join(ROOT, 'node_modules', '.cache', 'dac-test-etcd');
export const stateFile = (ownerPid: number) => join(STATE_DIR, `${ownerPid}.json`);

export default async function globalSetup(): Promise<void> {
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(ROOT, 'tsconfig.build.json'),
    ],
    { stdio: 'inherit' },
  );
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'bundle-cli.js')], { stdio: 'inherit' });
  stopLeftoverEtcds();
  const etcd = await startEtcd();
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(stateFile(process.pid), JSON.stringify(etcd));
  process.env.ETCDCTL_ENDPOINTS = etcd.endpoint;
  for (const name of [
    'ETCDCTL_CERT_FILE',
    'ETCDCTL_KEY_FILE',
    'ETCDCTL_CA_FILE',
    'ETCDCTL_CACERT',
    'ETCDCTL_CERT',
    'ETCDCTL_KEY',
    'ETCD_ENDPOINTS',
    'DAC_ETCD_PREFIX',
  ]) {
    delete process.env[name];
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A jest run that was killed before its tear-down leaves its etcd behind. Stop those by pid,
 * but only when the jest process that started them is gone (another run may be in progress)
 * and the pid is still that etcd (pids are reused).
 */
function stopLeftoverEtcds(): void {
  let files: string[];
  try {
    files = readdirSync(STATE_DIR);
  } catch {
    return;
  }
  for (const file of files) {
    const owner = Number(file.replace(/\.json$/, ''));
    if (!Number.isInteger(owner) || isAlive(owner)) continue;
    const path = join(STATE_DIR, file);
    const leftover = JSON.parse(readFileSync(path, 'utf8')) as RunningEtcd;
    try {
      if (readFileSync(`/proc/${leftover.pid}/cmdline`, 'utf8').includes(leftover.dataDir)) {
        stopEtcd(leftover);
      }
    } catch {
      // already gone
    }
    rmSync(path, { force: true });
  }
}
