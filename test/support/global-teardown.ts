/** Jest global tear-down: stop the private etcd by pid. Runs also when tests failed. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { STATE_FILE } from './global-setup';
import { stopEtcd, type RunningEtcd } from './etcd-server';

export default async function globalTeardown(): Promise<void> {
  if (!existsSync(STATE_FILE)) return;
  const etcd = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as RunningEtcd;
  stopEtcd(etcd);
  rmSync(STATE_FILE, { force: true });
}
