/**
 * dacd runs on every storage host, so what it loads is memory on every one: not etcd3 and
 * grpc-js (it uses the keystore on node:http2, as the CLI does), not zod (its settings are
 * checked by hand, its records by the generated codecs), and not prom-client unless its
 * metrics are asked for (DAC_METRICS_ADDRESS). Checked in the modules a real dacd has
 * loaded when it stops, after it has started, registered and reconciled.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DacdCluster } from '../../support/dacd-cluster';
import { DacdProcess } from '../../support/dacd-process';

let cluster: DacdCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
});

it('a dacd that started and stopped loaded neither etcd3, grpc-js, zod nor prom-client', async () => {
  const c = (cluster = await DacdCluster.start('lean-dacd', []));
  const hook = join(c.dir, 'hook.js');
  const loaded = join(c.dir, 'loaded.json');
  writeFileSync(
    hook,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(loaded)}, ` +
      'JSON.stringify(Object.keys(require.cache))));\n',
  );
  const dacd = await DacdProcess.start(
    {
      prefix: c.prefix,
      host: 'lean1',
      localRoot: join(c.dir, 'lean-bricks'),
      mountRoot: c.mountRoot,
      logFile: join(c.dir, 'lean.log'),
      env: { NODE_OPTIONS: `--require ${hook}` },
    },
    c.registry,
  );
  expect(await dacd.stop()).toEqual({ code: 0, signal: null });
  const modules = JSON.parse(readFileSync(loaded, 'utf8')) as string[];
  // The hook is loaded; so is pino, its logger: the list is the process's.
  expect(modules.some((path) => path.includes('/node_modules/pino/'))).toBe(true);
  expect(
    modules.filter((path) => /node_modules\/(etcd3|@grpc|protobufjs|zod|prom-client)\//.test(path)),
  ).toEqual([]);
});
