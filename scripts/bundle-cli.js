#!/usr/bin/env node
// Bundles the compiled CLI programs (dist/cli/dacctl.js, dist/cli/dwstat.js) into one file
// each, dist/bundle/<program>.code.js, with V8's code cache of it beside it, and puts the
// loader (dist/cli/bundle-loader.js) at dist/bundle/<program>.js, which the bin/ wrappers run.
// Slurm starts dw_wlm_cli every 30 s and inside its scheduler: loading one file instead of some
// twenty modules saves about a tenth of a call, and not compiling it another few milliseconds.
// Packages from node_modules (etcd3, zod, pino) stay outside the bundle, loaded only by the
// functions that need them. Run by `npm run build` after tsc.
'use strict';
const { buildSync } = require('esbuild');
const {
  copyFileSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} = require('node:fs');
const { join } = require('node:path');
const { setFlagsFromString } = require('node:v8');
const { Script } = require('node:vm');

const root = join(__dirname, '..');
const out = join(root, 'dist', 'bundle');
const loader = join(root, 'dist', 'cli', 'bundle-loader.js');
const { WRAPPER_HEAD, WRAPPER_TAIL, cacheFileName } = require(loader);

// Caches of earlier builds are stale: their names no longer match any bundle.
try {
  for (const name of readdirSync(out)) if (name.endsWith('.cache')) rmSync(join(out, name));
} catch (error) {
  if (error.code !== 'ENOENT') throw error;
}

for (const program of ['dacctl', 'dwstat']) {
  const code = join(out, `${program}.code.js`);
  buildSync({
    entryPoints: [join(root, 'dist', 'cli', `${program}.js`)],
    outfile: code,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    logLevel: 'warning',
  });
  copyFileSync(loader, join(out, `${program}.js`));

  // The cache holds the bytecode of every function, compiled eagerly for it; V8 checks its
  // flags when it reads a cache, so lazy compilation is switched back on before writing it.
  const source = readFileSync(code, 'utf8');
  setFlagsFromString('--no-lazy');
  const script = new Script(WRAPPER_HEAD + source + WRAPPER_TAIL, { filename: code });
  setFlagsFromString('--lazy');
  const { size, mtimeMs } = statSync(code);
  writeFileSync(cacheFileName(code, size, mtimeMs), script.createCachedData());
}
