/**
 * The bundled programs start through `dist/bundle/<program>.js`, which runs the bundle with the
 * V8 code cache built beside it. The cache must be the one V8 accepts for the build, and a
 * cache that does not fit (copied files, another Node) must only cost time.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheFileName } from '../../../src/cli/bundle-loader';

const BUNDLE = join(__dirname, '..', '..', '..', 'dist', 'bundle');

/** The loader's report of the cache, from a fresh Node process that loads `loader`. */
function cacheStatus(loader: string, of = 'codeCacheStatus'): string {
  return execFileSync(
    process.execPath,
    ['-e', `process.stdout.write(require(${JSON.stringify(loader)}).${of})`],
    { encoding: 'utf8' },
  );
}

/** `show_configurations` through the loader at `loader`, as the bin wrappers run it. */
function showConfigurations(loader: string): string {
  return execFileSync(
    process.execPath,
    ['--no-warnings', loader, '--function', 'show_configurations'],
    {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', DAC_LOG_FILE: 'none' },
    },
  );
}

describe('the bundle loader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dac-bundle-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['dacctl', 'dwstat'])('runs %s with a code cache V8 accepts', (program) => {
    expect(cacheStatus(join(BUNDLE, `${program}.js`))).toBe('accepted');
    const caches = readdirSync(BUNDLE).filter(
      (name) => name.startsWith(`${program}.code.`) && name.endsWith('.cache'),
    );
    expect(caches).toHaveLength(1);
  });

  it('runs the early part of dacctl with a code cache V8 accepts too', () => {
    expect(cacheStatus(join(BUNDLE, 'dacctl.js'), 'earlyCodeCacheStatus')).toBe('accepted');
    const caches = readdirSync(BUNDLE).filter(
      (name) => name.startsWith('dacctl.early.code.') && name.endsWith('.cache'),
    );
    expect(caches).toHaveLength(1);
  });

  it('says in one line what is missing when the early part of dacctl is', () => {
    copyFileSync(join(BUNDLE, 'dacctl.js'), join(dir, 'dacctl.js'));
    copyFileSync(join(BUNDLE, 'dacctl.code.js'), join(dir, 'dacctl.code.js'));
    const run = spawnSync(process.execPath, [join(dir, 'dacctl.js'), 'show_configurations'], {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', DAC_LOG_FILE: 'none' },
    });
    expect(run.status).toBe(127);
    expect(run.stdout + run.stderr).toBe(
      `dacctl is not built completely (${join(dir, 'dacctl.early.code.js')} is missing); ` +
        'run npm run build\n',
    );
  });

  it('names the cache after the size and modification time of the bundle', () => {
    const code = join(BUNDLE, 'dacctl.code.js');
    const { size, mtimeMs } = statSync(code);
    expect(readdirSync(BUNDLE)).toContain(
      cacheFileName(code, size, mtimeMs).slice(BUNDLE.length + 1),
    );
  });

  it('ignores the cache of a bundle that has changed since, and still answers', () => {
    copyFileSync(join(BUNDLE, 'dacctl.js'), join(dir, 'dacctl.js'));
    copyFileSync(join(BUNDLE, 'dacctl.early.code.js'), join(dir, 'dacctl.early.code.js'));
    copyFileSync(join(BUNDLE, 'dacctl.code.js'), join(dir, 'dacctl.code.js'));
    // The copy has a new modification time: the old cache's name no longer matches it.
    for (const name of readdirSync(BUNDLE).filter((n) => n.startsWith('dacctl.code.'))) {
      if (name.endsWith('.cache')) copyFileSync(join(BUNDLE, name), join(dir, name));
    }
    expect(cacheStatus(join(dir, 'dacctl.js'))).toBe('missing');
    expect(showConfigurations(join(dir, 'dacctl.js'))).toBe('{"configurations": []}\n');
  });

  it('compiles as usual when V8 refuses the cache', () => {
    copyFileSync(join(BUNDLE, 'dacctl.js'), join(dir, 'dacctl.js'));
    copyFileSync(join(BUNDLE, 'dacctl.early.code.js'), join(dir, 'dacctl.early.code.js'));
    const code = join(dir, 'dacctl.code.js');
    copyFileSync(join(BUNDLE, 'dacctl.code.js'), code);
    const { size, mtimeMs } = statSync(code);
    writeFileSync(cacheFileName(code, size, mtimeMs), Buffer.alloc(4096, 7));
    expect(cacheStatus(join(dir, 'dacctl.js'))).toBe('rejected');
    expect(showConfigurations(join(dir, 'dacctl.js'))).toBe('{"configurations": []}\n');
  });
});
