/** The filesystem provider dacd uses, from its configuration. */
import { AnsibleProvider } from '../pfsprovider/ansible/ansible-provider';
import { FaultInjectingProvider } from '../pfsprovider/fault-provider';
import { LocalProvider } from '../pfsprovider/local-provider';
import type { FilesystemProvider } from '../pfsprovider/provider';
import { makeStager } from '../pfsprovider/stage/run-stager';
import type { DacdConfig } from './config';
import type { BrickWipe } from './brick-wiper';
import type { ReconcilerOptions } from './reconciler';

export interface ProviderSetup {
  provider: FilesystemProvider;
  /** Prepare the host's bricks before work starts. */
  prepare(): Promise<void>;
  /** How to find and remove what sessions that no longer exist left on this host. */
  leftovers?: ReconcilerOptions['leftovers'];
  /**
   * Wipe bricks of a session torn down by force (its record is gone: only its token and the
   * devices are known). Absent for providers that cannot: their bricks wait for an operator.
   */
  wipe?: BrickWipe;
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
      wipe: (token, devices) => local.wipeBricks(token, devices),
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
