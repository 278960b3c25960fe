/**
 * `dacctl metrics`: the whole system's totals in Prometheus's text format, from one read of the
 * registry, so that a site watches capacity and sessions from one place instead of summing
 * every dacd's metrics: printed once (for node_exporter's textfile collector, or a look), or
 * served on `--listen host:port` and read again at every scrape. Each dacd serves its own host's
 * metrics (src/dacd/metrics.ts); docs/metrics.md names them all.
 */
import type { Registry as MetricsRegistry } from 'prom-client';
import { stepState } from '../../lifecycle/phases';
import { serveMetrics, splitAddress } from '../../metrics/endpoint';
import { ValidationError } from '../../errors/errors';
import type { Inventory } from '../../registry/inventory';
import type { SessionRecord } from '../../registry/model';
import type { CliContext } from '../context';
import type { AdminCommand, AdminArgs } from './command';
import { brickRows } from './inventory-view';
import { poolRows } from './pools';

/** A host's state for a label: one of four, never its drain reason (which is free text). */
function hostState(alive: boolean, drained: boolean): string {
  if (drained) return alive ? 'drained' : 'down_drained';
  return alive ? 'up' : 'down';
}

/** The metrics of one read: `inventory` and `sessions`, in a registry of their own. */
export async function clusterMetrics(
  inventory: Inventory,
  sessions: readonly SessionRecord[],
): Promise<MetricsRegistry> {
  // Loaded here only: an operator's command, never one of Slurm's.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const client = require('prom-client') as typeof import('prom-client');
  const registry = new client.Registry();
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new client.Gauge({ name, help, labelNames, registers: [registry] });

  const bricks = gauge('dac_pool_bricks', 'Bricks of each pool, by state.', ['pool', 'state']);
  const bytes = gauge('dac_pool_bytes', 'Capacity of each pool, by state.', ['pool', 'state']);
  const granularity = gauge('dac_pool_granularity_bytes', 'Size of one brick.', ['pool']);
  for (const pool of poolRows(inventory, brickRows(inventory))) {
    granularity.set({ pool: pool.name }, Number(pool.granularityBytes));
    for (const [state, count, size] of [
      ['allocated', pool.allocated, pool.allocatedBytes],
      ['free', pool.free, pool.freeBytes],
      ['unavailable', pool.unavailable, pool.unavailableBytes],
    ] as const) {
      bricks.set({ pool: pool.name, state }, count);
      bytes.set({ pool: pool.name, state }, Number(size));
    }
  }
  const hosts = gauge('dac_hosts', 'Storage hosts, by state (up, down, drained).', ['state']);
  for (const state of ['up', 'down', 'drained', 'down_drained']) hosts.set({ state }, 0);
  for (const host of inventory.hosts.values()) {
    hosts.inc({
      state: hostState(host.aliveCreateRevision !== undefined, !host.record.enabled),
    });
  }
  const byStep = gauge('dac_cluster_sessions', 'Sessions, by kind, step asked for and its state.', [
    'kind',
    'phase',
    'state',
  ]);
  for (const session of sessions) {
    byStep.inc({ kind: session.kind, phase: session.desired, state: stepState(session) });
  }
  gauge(
    'dac_damaged_records',
    'Records in etcd that cannot be read (dacctl df names them).',
    [],
  ).set(inventory.damaged.length);
  return registry;
}

async function read(context: CliContext): Promise<MetricsRegistry> {
  const reader = await context.reader();
  const [inventory, sessions] = await Promise.all([reader.readInventory(), reader.sessions()]);
  return clusterMetrics(inventory, sessions);
}

async function metrics(context: CliContext, args: AdminArgs): Promise<string | undefined> {
  if (args.json) throw new ValidationError('metrics are Prometheus text: --json does not apply');
  const listen = args.listen as string | undefined;
  if (listen === undefined) return (await (await read(context)).metrics()).trimEnd();
  try {
    splitAddress(listen);
  } catch {
    throw new ValidationError(`--listen ${listen}: give host:port, e.g. 127.0.0.1:9465`);
  }
  const server = await serveMetrics(
    listen,
    async () => {
      const registry = await read(context);
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
    {
      failureStatus: 503,
      onError: (error) => context.log.warn({ err: error }, 'metrics not read'),
    },
  ).catch((error: unknown) => {
    throw new ValidationError(`--listen ${listen}: ${(error as Error).message}`);
  });
  // Served until the process is stopped (SIGTERM or SIGINT).
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return undefined;
}

export const METRICS: AdminCommand = {
  name: 'metrics',
  command: 'metrics',
  describe: 'the whole system in Prometheus format: pools, hosts, sessions',
  options: {
    listen: {
      type: 'string',
      describe: 'serve GET /metrics on host:port, reading the registry at each scrape',
    },
  },
  examples: [
    ['dacctl metrics > /var/lib/node_exporter/textfile/dac.prom', 'for the textfile collector'],
    ['dacctl metrics --listen 127.0.0.1:9465', 'for Prometheus to scrape'],
  ],
  run: metrics,
};
