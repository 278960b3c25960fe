/** EtcdKeystore against the real etcd server: the same conformance suite as MemoryKeystore. */
import { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import { describeKeystoreConformance } from '../../support/keystore-conformance';
import { testEtcdConfig } from '../../support/test-etcd';

describeKeystoreConformance('EtcdKeystore', async () => {
  const config = testEtcdConfig('conformance');
  const store = new EtcdKeystore(config);
  return {
    store,
    prefix: config.prefix,
    cleanup: async () => {
      // A second client removes the keys: the suite may have closed `store` itself.
      const janitor = new EtcdKeystore(config);
      try {
        await janitor.txn([], [{ type: 'deletePrefix', prefix: config.prefix }]);
      } finally {
        await janitor.close();
        await store.close();
      }
    },
  };
});
