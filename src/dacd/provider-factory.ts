/** The filesystem provider dacd uses, from its configuration. */
import { AnsibleProvider } from '../pfsprovider/ansible/ansible-provider';
import { FaultInjectingProvider } from '../pfsprovider/fault-provider';
import { LocalProvider } from '../pfsprovider/local-provider';
import type { FilesystemProvider } from '../pfsprovider/provider';
import { makeStager } from '../pfsprovider/stage/run-stager';
import type { DacdConfig } from './config';
import type { ReconcilerOptions } from './reconciler';

export interface ProviderSetup {
  provider: FilesystemProvider;
  /** Prepare the host's bricks before work starts. */
  prepare(): Promise<void>;
  /** How to find and remove what sessions that no longer exist left on this host. */
  leftovers?: ReconcilerOptions['leftovers'];
}

export function createProvider(config: DacdConfig): ProviderSetup {
  const stager = makeStager();
  let setup: ProviderSetup;
  if (config.provider === 'local') {
    const local = new LocalProvider({
      hostName: config.hostName,
      localRoot: config.localRoot,
      mountRoot: config.mountRoot,
      stager,
    });
    setup = {
      provider: local,
      prepare: () => local.prepareBricks(config.devices),
      leftovers: { list: () => local.tokensOnDisk(), remove: (t) => local.removeLeftovers(t) },
    };
  } else {
    const provider = new AnsibleProvider(config.provider, {
      workDir: config.ansibleDir,
      mountRoot: config.mountRoot,
      stager,
    });
    setup = { provider, prepare: () => Promise.resolve() };
  }
  if (config.faults.length > 0) {
    setup = { ...setup, provider: new FaultInjectingProvider(setup.provider, config.faults) };
  }
  return setup;
}
