#!/usr/bin/env node
// Bundles the compiled CLI programs (dist/cli/dacctl.js, dist/cli/dwstat.js) into one file
// each, dist/bundle/<program>.code.js, with V8's code cache of it beside it, and puts the
// loader (dist/cli/bundle-loader.js) at dist/bundle/<program>.js, which the bin/ wrappers run.
// Slurm starts dw_wlm_cli every 30 s and inside its scheduler: loading one file instead of some
// twenty modules saves about a tenth of a call, and not compiling it another few milliseconds.
//
// dacctl also gets an early bundle, dist/bundle/dacctl.early.code.js: dist/cli/early-read.js
// and every module it uses, which the loader runs first to send the etcd request of a polled
// call before the rest is loaded (see src/cli/early-read.ts). The main bundle does not get its
// own copies of those modules: each import of one becomes an entry of the early bundle's
// `modules`, so that both parts share the same classes and state.
//
// Packages from node_modules (zod, pino, yargs) stay outside the bundles, loaded only by the
// functions that need them, but for cockatiel: every call that writes uses it (the registry's
// retry loop), and loading its 28 files cost a step call about 15 ms of CPU, bundled next to
// nothing. Run by `npm run build` after tsc.
'use strict';
const { build } = require('esbuild');
const {
  copyFileSync,
  existsSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} = require('node:fs');
const { join, relative, resolve } = require('node:path');
const { setFlagsFromString } = require('node:v8');
const { Script } = require('node:vm');

const root = join(__dirname, '..');
const out = join(root, 'dist', 'bundle');
const loader = join(root, 'dist', 'cli', 'bundle-loader.js');
const { EARLY_BUNDLE_ID, WRAPPER_HEAD, WRAPPER_TAIL, cacheFileName } = require(loader);

/** The packages bundled with our code; every other one is loaded from node_modules. */
const BUNDLED_PACKAGES = new Set(['cockatiel']);

/** An esbuild plugin: imports of packages stay imports, but of those in BUNDLED_PACKAGES. */
const externalPackages = {
  name: 'external-packages',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:') || args.path.startsWith('dac:')) return undefined;
      const parts = args.path.split('/');
      const name = args.path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
      return BUNDLED_PACKAGES.has(name) ? undefined : { path: args.path, external: true };
    });
  },
};

/** The options every bundle is built with. */
const COMMON = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
};

/** Write V8's code cache of the bundle at `code` beside it (see bundle-loader.ts). */
function writeCodeCache(code) {
  // The cache holds the bytecode of every function, compiled eagerly for it; V8 checks its
  // flags when it reads a cache, so lazy compilation is switched back on before writing it.
  const source = readFileSync(code, 'utf8');
  setFlagsFromString('--no-lazy');
  const script = new Script(WRAPPER_HEAD + source + WRAPPER_TAIL, { filename: code });
  setFlagsFromString('--lazy');
  const { size, mtimeMs } = statSync(code);
  writeFileSync(cacheFileName(code, size, mtimeMs), script.createCachedData());
}

/** The file a relative `require` of the compiled code names (`./x` is `./x.js` or `./x/index.js`). */
function resolveCompiled(resolveDir, path) {
  const base = resolve(resolveDir, path);
  for (const candidate of [base, `${base}.js`, join(base, 'index.js')]) {
    if (candidate.endsWith('.js') && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Build the early bundle of `entry` at `outfile`: it exports `startEarlyRead` and `modules`,
 * every module it holds by its path from the root. Returns those paths.
 */
async function buildEarlyBundle(entry, outfile) {
  const probe = await build({
    ...COMMON,
    entryPoints: [entry],
    write: false,
    metafile: true,
    plugins: [externalPackages],
  });
  const paths = Object.keys(probe.metafile.inputs).sort();
  // Getters, so that each module is run when first used, as in a bundle of its own: a call that
  // reads nothing early (show_configurations, setup) must not pay for loading `net`.
  const lines = paths.map(
    (path) =>
      `  get ${JSON.stringify(path)}() { return require(${JSON.stringify(`./${path}`)}); },`,
  );
  await build({
    ...COMMON,
    stdin: {
      contents: [
        `exports.startEarlyRead = (...args) => require(${JSON.stringify(`./${relative(root, entry)}`)}).startEarlyRead(...args);`,
        'exports.modules = {',
        ...lines,
        '};',
      ].join('\n'),
      resolveDir: root,
      sourcefile: 'early-bundle-entry.js',
    },
    outfile,
    plugins: [externalPackages],
  });
  return new Set(paths);
}

/** An esbuild plugin: imports of the modules in `early` come from the early bundle. */
function fromEarlyBundle(early) {
  return {
    name: 'from-early-bundle',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^\.\.?\// }, (args) => {
        const file = resolveCompiled(args.resolveDir, args.path);
        const path = file && relative(root, file);
        return path !== undefined && early.has(path) ? { path, namespace: 'early' } : undefined;
      });
      pluginBuild.onLoad({ filter: /.*/, namespace: 'early' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(EARLY_BUNDLE_ID)}).modules[${JSON.stringify(args.path)}];`,
        loader: 'js',
      }));
      pluginBuild.onResolve({ filter: /^dac:early-bundle$/ }, (args) => ({
        path: args.path,
        external: true,
      }));
    },
  };
}

async function main() {
  // Caches of earlier builds are stale: their names no longer match any bundle.
  try {
    for (const name of readdirSync(out)) if (name.endsWith('.cache')) rmSync(join(out, name));
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  const programs = [
    { name: 'dacctl', early: join(root, 'dist', 'cli', 'early-read.js') },
    { name: 'dwstat' },
  ];
  for (const program of programs) {
    const code = join(out, `${program.name}.code.js`);
    const plugins = [];
    if (program.early) {
      const earlyCode = join(out, `${program.name}.early.code.js`);
      plugins.push(fromEarlyBundle(await buildEarlyBundle(program.early, earlyCode)));
      writeCodeCache(earlyCode);
    }
    await build({
      ...COMMON,
      entryPoints: [join(root, 'dist', 'cli', `${program.name}.js`)],
      outfile: code,
      plugins: [...plugins, externalPackages],
    });
    copyFileSync(loader, join(out, `${program.name}.js`));
    writeCodeCache(code);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
