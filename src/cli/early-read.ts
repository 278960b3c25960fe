/**
 * The early read of the calls Slurm polls (`pools`, `show_sessions`, `show_instances`) and of
 * `job_process`: their one etcd request, sent before the rest of the program is loaded.
 *
 * Why: a `pools` call waits about 4 ms for etcd to range over a thousand usage records and
 * liveness keys, and loading the rest of dacctl (the command parser, the directives, the
 * commands) takes about as long. The bundle loader loads this part first (its own small
 * bundle), calls `startEarlyRead`, waits until the request has left, and only then loads the
 * rest, while etcd answers. The command's `snapshot` later takes the answer instead of asking
 * again: still one request per call.
 *
 * It only starts a read; every decision stays with the command. If the command line or the
 * settings are not what the command will accept, nothing starts here and the command reports
 * the problem as always. If the read fails, the command reports that, exactly as if it had
 * sent the request itself.
 */
import { etcdConfigFromEnv, type EtcdConfig } from '../config/etcd-config';
import type { Http2EtcdKeystore } from '../keystore/etcd-http2/keystore';
import type { RangeSpec } from '../keystore/keystore';
import { KeyLayout } from '../registry/keys';
import { poolCapacityRanges, poolTableRanges } from '../registry/pool-table';
import { SlurmReader, sessionSummaryRanges } from '../registry/slurm-reader';
import { normaliseArgv } from './argv';
import { INLINE_ETCD_TIMEOUT_MS } from './inline-timeout';

/** What the command's context uses instead of making its own (see `createContext`). */
export interface EarlyRead {
  /** The function it was started for. */
  function: string;
  /** The settings, as the context would read them from the same environment. */
  config: EtcdConfig;
  /** The process's keystore, as the context would make it. */
  store: Http2EtcdKeystore;
  /** The keystore the read uses, with the deadline the command would give it (a view of `store`). */
  keyReader: Http2EtcdKeystore;
  /** The reader, with the request in flight. */
  slurmReader: SlurmReader;
}

/** The functions that read early: the ranges they read, and their deadline's cap. */
const EARLY_READS: Record<string, { ranges(keys: KeyLayout): RangeSpec[]; maxTimeoutMs?: number }> =
  {
    pools: { ranges: poolTableRanges },
    show_sessions: { ranges: sessionSummaryRanges },
    show_instances: { ranges: sessionSummaryRanges },
    job_process: { ranges: poolCapacityRanges, maxTimeoutMs: INLINE_ETCD_TIMEOUT_MS },
  };

/**
 * Start the read of the function on this command line, if it has one: the promise settles
 * once its request has left (or could not be sent) with the read for the context, or with
 * undefined if the TLS files cannot be read. Undefined, having started nothing, for any other
 * function, for stray arguments to a polled one, and for settings that do not pass.
 */
export function startEarlyRead(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<EarlyRead | undefined> | undefined {
  const [name, ...flags] = normaliseArgv(args);
  if (name === undefined || !Object.hasOwn(EARLY_READS, name)) return undefined;
  // `job_process` always has flags (its script); the polled calls take none.
  if (name !== 'job_process' && flags.length > 0) return undefined;
  let config: EtcdConfig;
  try {
    config = etcdConfigFromEnv(env);
  } catch {
    return undefined; // the command says what is wrong with the settings
  }
  return send(name, config);
}

async function send(name: string, config: EtcdConfig): Promise<EarlyRead | undefined> {
  const { ranges, maxTimeoutMs = Infinity } = EARLY_READS[name]!;
  // Loaded here, not with this module: it loads `node:http2`, which a call that reads nothing
  // early (show_configurations) must not pay for.
  const { Http2EtcdKeystore: StoreClass } = await import('../keystore/etcd-http2/keystore');
  let store: Http2EtcdKeystore;
  try {
    store = new StoreClass(config);
  } catch {
    return undefined; // unreadable TLS files: the command says which
  }
  const keyReader = maxTimeoutMs < config.timeoutMs ? store.withTimeout(maxTimeoutMs) : store;
  const keys = new KeyLayout(config.prefix);
  await keyReader.prefetchSnapshot(ranges(keys));
  return {
    function: name,
    config,
    store,
    keyReader,
    slurmReader: new SlurmReader(keyReader, keys),
  };
}
