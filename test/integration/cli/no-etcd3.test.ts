/**
 * The CLI never loads etcd3 or grpc-js (100-145 ms a process): every call, reads and writes
 * alike, uses the keystore on node:http2. Checked in the bundles the binaries run, and in
 * the modules a process running a polled call and a step has loaded when it exits.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBinary } from '../../support/cli';
import { uniquePrefix } from '../../support/test-etcd';

const BUNDLES = join(__dirname, '..', '..', '..', 'dist', 'bundle');
const GRPC_PACKAGES = /node_modules\/(etcd3|@grpc|protobufjs)\//;

describe('the CLI and etcd3', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'dac-no-etcd3-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has no require of etcd3 or @grpc in its bundles', () => {
    const bundles = readdirSync(BUNDLES).filter((name) => name.endsWith('.js'));
    expect(bundles).toEqual(expect.arrayContaining(['dacctl.code.js', 'dacctl.early.code.js']));
    for (const name of bundles) {
      expect(readFileSync(join(BUNDLES, name), 'utf8')).not.toMatch(/require\("(etcd3|@grpc\/)/);
    }
  });

  it('has no require of zod in its bundles: the records are read by generated codecs', () => {
    for (const name of readdirSync(BUNDLES).filter((file) => file.endsWith('.js'))) {
      expect(readFileSync(join(BUNDLES, name), 'utf8')).not.toMatch(/require\("zod/);
    }
  });

  it('bundles cockatiel, which every call that writes uses, instead of loading its files', () => {
    const code = readFileSync(join(BUNDLES, 'dacctl.code.js'), 'utf8');
    expect(code).not.toMatch(/require\("cockatiel/);
    expect(code).toContain('node_modules/cockatiel/dist/RetryPolicy.js');
  });

  it.each([
    ['show_sessions', ['--function', 'show_sessions']],
    ['a teardown step', ['--function', 'teardown', '--token', '4242', '--job', '/dev/null']],
  ])('loads neither when it runs %s', async (_name, args) => {
    const hook = join(dir, 'hook.js');
    const loaded = join(dir, `loaded-${args[1]}.json`);
    writeFileSync(
      hook,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(loaded)}, ` +
        'JSON.stringify(Object.keys(require.cache))));\n',
    );
    const run = await runBinary('dw_wlm_cli', args, {
      prefix: uniquePrefix('no-etcd3'),
      env: { NODE_OPTIONS: `--require ${hook}` },
    });
    expect(run.code).toBe(0);
    const modules = JSON.parse(readFileSync(loaded, 'utf8')) as string[];
    expect(modules.filter((path) => GRPC_PACKAGES.test(path))).toEqual([]);
  });
});
