/** `pools`: the pool table Slurm polls every 30 s. One etcd request, no writes. */
import type { CliContext } from '../context';
import { poolsAnswer } from '../datawarp-json';

export async function poolsCommand(context: CliContext): Promise<string> {
  const reader = await context.slurmReader();
  const { views, hostsWithoutUsage } = await reader.poolTable();
  if (hostsWithoutUsage.length > 0) {
    context.log.warn(
      { hosts: hostsWithoutUsage.slice(0, 20), count: hostsWithoutUsage.length },
      'hosts without a usage record are not counted in the pools; restart their dacd to write one',
    );
  }
  return poolsAnswer(views, (await context.etcdConfig()).endpoints.join(','));
}
