#!/usr/bin/env node
// Bundles the compiled CLI programs (dist/cli/dacctl.js, dist/cli/dwstat.js) into one file
// each under dist/bundle/, which the bin/ wrappers run. Slurm starts dw_wlm_cli every 30 s and
// inside its scheduler; loading one file instead of some twenty modules saves about a tenth of
// a call. Packages from node_modules (etcd3, zod, pino) stay outside the bundle, loaded only
// by the functions that need them. Run by `npm run build` after tsc.
'use strict';
const { buildSync } = require('esbuild');
const { join } = require('node:path');

const root = join(__dirname, '..');
for (const program of ['dacctl', 'dwstat']) {
  buildSync({
    entryPoints: [join(root, 'dist', 'cli', `${program}.js`)],
    outfile: join(root, 'dist', 'bundle', `${program}.js`),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    logLevel: 'warning',
  });
}
