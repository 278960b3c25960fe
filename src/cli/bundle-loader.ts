/**
 * The start of a bundled CLI program. `scripts/bundle-cli.js` copies this file to
 * `dist/bundle/<program>.js`, beside the program's bundle (`<program>.code.js`) and V8's code
 * cache of it (`<program>.code.<size>-<mtime>.cache`), which it builds at the same time.
 *
 * Why: Slurm starts `dw_wlm_cli` every 30 s and inside its scheduler, and compiling the bundle's
 * code is a tenth of a `pools` call. With the cache V8 deserializes bytecode instead. The cache
 * is used only if it was built for this very file (its size and modification time are in the
 * cache's name) and V8 accepts it (same V8 version and flags); otherwise the code is compiled
 * as usual, so a stale or missing cache costs time, never correctness.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/**
 * CommonJS's module wrapper, on the bundle's first line so that line numbers stay right. The
 * build compiles the same text to make the cache: `scripts/bundle-cli.js` reads it from here.
 */
export const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
export const WRAPPER_TAIL = '\n})';

/** What became of the code cache, for the tests: used, rejected by V8, or not found. */
export type CodeCacheStatus = 'accepted' | 'rejected' | 'missing';

/** The name of the cache of the bundle at `code` with this size and modification time. */
export function cacheFileName(code: string, size: number, mtimeMs: number): string {
  return `${code.slice(0, -'.js'.length)}.${size}-${Math.trunc(mtimeMs)}.cache`;
}

function readCache(code: string): Buffer | undefined {
  try {
    const { size, mtimeMs } = statSync(code);
    return readFileSync(cacheFileName(code, size, mtimeMs));
  } catch {
    return undefined;
  }
}

/** Run the bundle beside this file and return its exports, with the cache's status. */
function loadBundle(): { exports: Record<string, unknown>; status: CodeCacheStatus } {
  const code = `${__filename.slice(0, -'.js'.length)}.code.js`;
  const cachedData = readCache(code);
  const source = readFileSync(code, 'utf8');
  const script = new Script(WRAPPER_HEAD + source + WRAPPER_TAIL, { filename: code, cachedData });
  const bundle = { exports: {} as Record<string, unknown> };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(bundle.exports, bundle.exports, createRequire(code), bundle, code, dirname(code));
  const status =
    cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted';
  return { exports: bundle.exports, status };
}

// Only the copies in dist/bundle/ load a bundle: this compiled original has none beside it.
if (__filename.endsWith('.js') && !__filename.endsWith('bundle-loader.js')) {
  const { exports, status } = loadBundle();
  module.exports = { ...exports, codeCacheStatus: status };
  if (require.main === module) (exports.main as () => void)();
}
