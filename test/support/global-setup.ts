/**
 * Jest global set-up: build the binaries the tests execute, and start one private etcd for
 * the run. Workers inherit `ETCDCTL_ENDPOINTS`, overriding any developer setting, so a
 * developer's own etcd is never touched.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEtcd } from './etcd-server';

export const STATE_FILE = join(__dirname, '..', '..', 'node_modules', '.cache-dac-test-etcd.json');

export default async function globalSetup(): Promise<void> {
  const root = join(__dirname, '..', '..');
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
    ],
    {
      stdio: 'inherit',
    },
  );
  const etcd = await startEtcd();
  writeFileSync(STATE_FILE, JSON.stringify(etcd));
  process.env.ETCDCTL_ENDPOINTS = etcd.endpoint;
  for (const name of [
    'ETCDCTL_CERT_FILE',
    'ETCDCTL_KEY_FILE',
    'ETCDCTL_CA_FILE',
    'ETCDCTL_CACERT',
    'ETCDCTL_CERT',
    'ETCDCTL_KEY',
    'ETCD_ENDPOINTS',
  ]) {
    delete process.env[name];
  }
}
