/** `pools`: the pool table Slurm polls every 30 s. One etcd request, no writes. */
import type { CliContext } from '../context';
import { poolsAnswer } from '../datawarp-json';

export async function poolsCommand(context: CliContext): Promise<string> {
  const reader = await context.slurmReader();
  const { views, hostsWithoutUsage, damaged } = await reader.poolTable();
  for (const error of damaged) {
    context.log.error(
      { key: error.key, err: error },
      `${error.message}: left out of the pools (restart the host's dacd to rewrite it)`,
    );
  }
  if (hostsWithoutUsage > 0) {
    context.log.warn(
      { hosts: hostsWithoutUsage },
      'hosts without a usage record are not counted in the pools (dwstat nodes shows them); ' +
        'restart their dacd to write one',
    );
  }
  return poolsAnswer(views, (await context.etcdConfig()).endpoints.join(','));
}
