/**
 * dacd, the brick host manager: one per storage host. It claims the host (its liveness key, on
 * an etcd lease: a second dacd for a served host is refused), registers the host's bricks,
 * reconciles the sessions it serves through its filesystem provider (see reconciler.ts), and
 * wipes and frees the bricks that sessions torn down by force left on it (brick-wiper.ts).
 * Under systemd (`Type=notify`) it says READY=1 once it serves the host, pings the watchdog and
 * says STOPPING=1 (service-notify.ts). Exit codes: 0 after SIGTERM/SIGINT, 1 when another dacd
 * serves the host, 4 on bad configuration, 3 if etcd cannot be reached.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { etcdConfigFromEnv } from '../config/etcd-config';
import { ConfigError, DacError, type HostOwnedError } from '../errors/errors';
import { exitCodeFor } from '../errors/exit-codes';
import { Http2EtcdKeystore } from '../keystore/etcd-http2/keystore';
import { createLogger, type Logger } from '../logging/logger';
import { KeyLayout } from '../registry/keys';
import { Registry } from '../registry/registry';
import { BrickWiper } from './brick-wiper';
import { dacdConfigFromEnv } from './config';
import { EventTrim } from './event-trim';
import { HostLiveness } from './liveness';
import { LateMetrics, startMetrics, type DacdMetrics } from './metrics';
import { createProvider } from './provider-factory';
import { Reconciler } from './reconciler';
import { ServiceNotifier } from './service-notify';
import { SummaryRepair } from './summary-repair';

/** The keystore's requests, timed for the metrics: every method that makes one. */
const TIMED = new Set([
  'get',
  'range',
  'snapshot',
  'txn',
  'txnAndSnapshot',
  'put',
  'delete',
  'watchPrefix',
  'grantLease',
]);

function timed(store: Http2EtcdKeystore, metrics: DacdMetrics): Http2EtcdKeystore {
  return new Proxy(store, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof name !== 'string' || !TIMED.has(name) || typeof value !== 'function') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (...args: unknown[]) => {
        const started = process.hrtime.bigint();
        const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
        try {
          const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(
            target,
            args,
          );
          metrics.etcdRequest(name, seconds(), false);
          return result;
        } catch (error) {
          metrics.etcdRequest(name, seconds(), true);
          throw error;
        }
      };
    },
  });
}

/** dacd's version, from the package.json beside dist/. */
function version(): string {
  try {
    const text = readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8');
    return String((JSON.parse(text) as { version?: unknown }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  let log: Logger | undefined;
  let store: Http2EtcdKeystore | undefined;
  let liveness: HostLiveness | undefined;
  const metrics = new LateMetrics();
  const notifier = new ServiceNotifier({
    onError: (error) => log?.warn({ err: error }, 'systemd notification not sent'),
  });
  try {
    log = createLogger('dacd', process.env, { mustOpen: true });
    const config = dacdConfigFromEnv();
    const etcd = etcdConfigFromEnv();
    store = timed(new Http2EtcdKeystore(etcd), metrics);
    const registry = new Registry(store, new KeyLayout(etcd.prefix), {
      onEventLost: (error, events) =>
        log?.warn({ err: error, events }, 'history entries not written'),
    });
    const hostLog = log.child({ host: config.hostName });
    const setup = createProvider(config);
    let reconciler: Reconciler | undefined = undefined; // set once started
    let summaryRepair: SummaryRepair | undefined = undefined;
    let eventTrim: EventTrim | undefined = undefined;
    let wiper: BrickWiper | undefined = undefined;
    let stopping = false;
    const stop = async (signal: string, error?: HostOwnedError): Promise<void> => {
      if (stopping) return;
      stopping = true;
      hostLog.info({ signal }, 'stopping: no new work; running steps are left for the next start');
      await notifier.stopping(`stopping (${signal})`);
      await reconciler?.stop();
      await wiper?.stop();
      await summaryRepair?.stop();
      eventTrim?.stop();
      await liveness?.stop().catch((e: unknown) => hostLog.warn({ err: e }, 'lease revoke failed'));
      await store?.close();
      await metrics.close();
      if (error) {
        process.stderr.write(`dacd: ${error.message}\n`);
        process.exitCode = exitCodeFor(error);
      }
      hostLog.info('stopped');
    };
    liveness = new HostLiveness(registry, config.hostName, {
      ttlSeconds: config.leaseTtlSeconds,
      log: hostLog,
      onTaken: (error) => void stop('host taken over', error),
      metrics,
    });
    // First of all: a second dacd for a served host stops here, having changed nothing.
    await liveness.start();
    if (config.metricsAddress !== undefined) {
      const address = config.metricsAddress;
      const served = await startMetrics(address, {
        host: config.hostName,
        pool: config.pool,
        bricks: config.devices.length,
        version: version(),
      }).catch((error: unknown) => {
        throw new ConfigError(
          `DAC_METRICS_ADDRESS=${JSON.stringify(address)} cannot be served: ` +
            `${error instanceof Error ? error.message : String(error)}`,
        );
      });
      metrics.use(served);
    }
    await registry.ensurePool(config.pool, config.brickCapacityBytes);
    const changed = await registry.registerHost({
      name: config.hostName,
      enabled: config.hostEnabled,
      bricks: config.devices.map((device) => ({
        device,
        capacityBytes: config.brickCapacityBytes,
        pool: config.pool,
      })),
    });
    // Sessions recorded by a version without summary buckets would be missing from show_sessions.
    const summarised = await registry.writeMissingSummaries();
    if (summarised.length > 0) {
      hostLog.info(
        { sessions: summarised.slice(0, 20), count: summarised.length },
        'summaries written',
      );
    }
    await setup.prepare();
    hostLog.info(
      {
        changed,
        bricks: config.devices.length,
        pool: config.pool,
        provider: setup.provider.name,
      },
      'registered',
    );
    reconciler = new Reconciler(registry, setup.provider, config.hostName, hostLog, {
      ...(setup.leftovers ? { leftovers: setup.leftovers } : {}),
      metrics,
    });
    if (stopping) return; // taken over while starting
    await reconciler.start();
    const steps = reconciler;
    // After the reconciler's start, which removed what sessions that are gone left on disk.
    wiper = new BrickWiper(registry, config.hostName, hostLog, {
      provider: setup.provider.name,
      ...(setup.wipe ? { wipe: setup.wipe } : {}),
      settled: (token) => steps.settled(token),
    });
    await wiper.start();
    summaryRepair = new SummaryRepair(registry, hostLog);
    await summaryRepair.start();
    eventTrim = new EventTrim(registry.history, config.eventRetentionHours, hostLog);
    await eventTrim.start();
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
    if (stopping) return;
    await notifier.ready(
      `serving ${config.hostName}: ${config.devices.length} bricks in pool ${config.pool}`,
    );
  } catch (error) {
    log?.fatal({ err: error }, 'cannot start');
    // A daemon may speak on stderr: it is not run by Slurm.
    process.stderr.write(`dacd: ${error instanceof DacError ? error.message : String(error)}\n`);
    process.exitCode = exitCodeFor(error);
    await liveness?.stop().catch(() => undefined);
    await store?.close();
    await metrics.close();
  }
}

void main();
