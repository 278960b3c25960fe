/** `pools`: the pool table Slurm polls every 30 s. One range read, no writes. */
import type { CliContext } from '../context';
import { poolsAnswer } from '../datawarp-json';

export async function poolsCommand(context: CliContext): Promise<string> {
  const registry = await context.reader();
  return poolsAnswer(await registry.pools(), (await context.etcdConfig()).endpoints.join(','));
}
