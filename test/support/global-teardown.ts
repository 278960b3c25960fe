/** Jest global tear-down: stop this run's private etcd by pid. Runs also when tests failed. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { stateFile } from './global-setup';
import { stopEtcd, type RunningEtcd } from './etcd-server';

export default async function globalTeardown(): Promise<void> {
  const file = stateFile(process.pid);
  if (!existsSync(file)) return;
  stopEtcd(JSON.parse(readFileSync(file, 'utf8')) as RunningEtcd);
  rmSync(file, { force: true });
}
