// A separate OS process that requests many sessions at once, for the concurrency test.
// argv: <json: {endpoints, prefix, requests: [{token, bytes}]}>; prints JSON results on stdout.
'use strict';
const { EtcdKeystore } = require('../../dist/keystore/etcd-keystore');
const { KeyLayout } = require('../../dist/registry/keys');
const { Registry } = require('../../dist/registry/registry');

async function main() {
  const job = JSON.parse(process.argv[2]);
  const store = new EtcdKeystore({
    endpoints: job.endpoints,
    prefix: job.prefix,
    timeoutMs: 10000,
  });
  const registry = new Registry(store, new KeyLayout(job.prefix));
  const results = await Promise.all(
    job.requests.map(async (request) => {
      try {
        const { session } = await registry.createSession({
          token: request.token,
          kind: 'job',
          owner: { uid: 1000, gid: 1000 },
          pool: 'default',
          requestedBytes: BigInt(request.bytes),
        });
        return { token: request.token, ok: true, bricks: session.bricks };
      } catch (error) {
        return { token: request.token, ok: false, code: error.code, message: error.message };
      }
    }),
  );
  await store.close();
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ fatal: String(error) }));
  process.exitCode = 1;
});
