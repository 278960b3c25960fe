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
 *
 * dacctl comes in two bundles: the early one (`dacctl.early.code.js`, from `early-read.ts`:
 * the settings, the etcd reader and the Slurm reads) is loaded first and sends the one etcd
 * request of a polled call; the main one (`dacctl.code.js`, everything else) is loaded while
 * etcd answers. The main bundle uses the early bundle's modules, so there is one copy of each.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
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

/**
 * What the main bundle requires to reach the modules of the early bundle: the build
 * (`scripts/bundle-cli.js`) replaces each of them, in the main bundle, by an entry of that
 * bundle's `modules`, so both parts share one copy of each module.
 */
export const EARLY_BUNDLE_ID = 'dac:early-bundle';

/** A part of the build is missing: one line for whoever runs the program, as `bin/launch.sh`. */
class IncompleteBuildError extends Error {
  constructor(missing: string) {
    super(`dacctl is not built completely (${missing} is missing); run npm run build`);
  }
}

/** A loaded bundle: its exports, and what became of its code cache. */
interface LoadedBundle {
  exports: Record<string, unknown>;
  status: CodeCacheStatus;
}

/** Run the bundle at `code` and return its exports. `early`: the early bundle, if loaded. */
function loadBundle(code: string, early?: LoadedBundle): LoadedBundle {
  const cachedData = readCache(code);
  const source = readFileSync(code, 'utf8');
  const script = new Script(WRAPPER_HEAD + source + WRAPPER_TAIL, { filename: code, cachedData });
  const bundle = { exports: {} as Record<string, unknown> };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  const load = createRequire(code);
  const requireFn = (id: string): unknown => {
    if (id !== EARLY_BUNDLE_ID) return load(id);
    if (early === undefined) throw new IncompleteBuildError(earlyBundleOf(code));
    return early.exports;
  };
  run.call(bundle.exports, bundle.exports, requireFn, bundle, code, dirname(code));
  const status =
    cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted';
  return { exports: bundle.exports, status };
}

/** The early bundle beside the main bundle at `code` (dacctl has one, dwstat none). */
function earlyBundleOf(code: string): string {
  return `${code.slice(0, -'.code.js'.length)}.early.code.js`;
}

/** What the early bundle exports (`early-read.ts`). */
type StartEarlyRead = (
  args: readonly string[],
  env: NodeJS.ProcessEnv,
) => Promise<unknown> | undefined;

// Only the copies in dist/bundle/ load a bundle: this compiled original has none beside it.
if (__filename.endsWith('.js') && !__filename.endsWith('bundle-loader.js')) {
  const code = `${__filename.slice(0, -'.js'.length)}.code.js`;
  const earlyCode = earlyBundleOf(code);
  const early = existsSync(earlyCode) ? loadBundle(earlyCode) : undefined;
  const start = (read?: unknown): void => {
    let loaded: LoadedBundle;
    try {
      loaded = loadBundle(code, early);
    } catch (error) {
      if (!(error instanceof IncompleteBuildError) || require.main !== module) throw error;
      process.stdout.write(`${error.message}\n`);
      process.exitCode = 127;
      return;
    }
    const { exports, status } = loaded;
    module.exports = { ...exports, codeCacheStatus: status, earlyCodeCacheStatus: early?.status };
    if (require.main === module) (exports.main as (early?: unknown) => void)(read);
  };
  const started =
    require.main === module
      ? (early?.exports.startEarlyRead as StartEarlyRead | undefined)?.(
          process.argv.slice(2),
          process.env,
        )
      : undefined;
  // With an early read, the rest is loaded once its request is on its way, so that etcd works
  // on it meanwhile. It does not fail (the command reports a failed read), but if it did, the
  // command would read for itself.
  if (started === undefined) start();
  else void started.then(start, () => start());
}
