/**
 * An operator's command run as `nobody`, in this process: the context of `dacctl` on the test
 * etcd with the uid it checks set to nobody's (a fresh clone's bin/ need not be reachable by
 * nobody, so the binary cannot be run as nobody). Closed when `run` has finished.
 */
import { createContext, type CliContext } from '../../src/cli/context';
import { createCliLogger } from '../../src/logging/cli-logger';
import { NOBODY, type DacdCluster } from './dacd-cluster';

export async function asNobodyIn<T>(
  cluster: DacdCluster,
  run: (context: CliContext) => Promise<T>,
): Promise<T> {
  const env = {
    ETCDCTL_ENDPOINTS: process.env.ETCDCTL_ENDPOINTS,
    DAC_ETCD_PREFIX: cluster.prefix,
    DAC_LOG_FILE: 'none',
    DAC_MOUNT_ROOT: cluster.mountRoot,
  };
  const context = { ...createContext(createCliLogger('dacctl', env), env), callerUid: NOBODY.uid };
  try {
    return await run(context);
  } finally {
    await context.close();
  }
}
