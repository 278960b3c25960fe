/**
 * dacd's Prometheus metrics (prom-client), served at `http://<DAC_METRICS_ADDRESS>/metrics`.
 * Off unless DAC_METRICS_ADDRESS is set: prom-client costs a daemon about 11 MiB and 35 ms of
 * CPU to load (docs/performance.md), so without the setting it is never loaded and every hook
 * below is a no-op. The names, and what each counts, are in docs/metrics.md.
 *
 * Every label has a bounded set of values (phases, outcomes, error codes, etcd methods, pools):
 * nothing per session or per job.
 */
import { stepState } from '../lifecycle/phases';
import { serveMetrics } from '../metrics/endpoint';
import type { Phase, SessionRecord } from '../registry/model';

/** What dacd reports as it works. */
export interface DacdMetrics {
  /** A step ended: completed, or failed with `code` (a DacError code). */
  stepFinished(phase: Phase, outcome: 'completed' | 'failed', seconds: number, code?: string): void;
  /** A stage copied `bytes` in `files`. */
  staged(phase: 'DataIn' | 'DataOut', bytes: number, files: number): void;
  /** The liveness lease was renewed, or found lost. */
  leaseRenewed(): void;
  leaseLost(): void;
  /** One etcd request of `method` took `seconds`; `failed` if it was refused or unanswered. */
  etcdRequest(method: string, seconds: number, failed: boolean): void;
  /** A session as the watch shows it now; `undefined`: the session of `token` is gone. */
  session(token: string, session: SessionRecord | undefined): void;
  /** Stop serving. */
  close(): Promise<void>;
}

/** The hooks when metrics are off. */
export const NO_METRICS: DacdMetrics = {
  stepFinished: () => undefined,
  staged: () => undefined,
  leaseRenewed: () => undefined,
  leaseLost: () => undefined,
  etcdRequest: () => undefined,
  session: () => undefined,
  close: async () => undefined,
};

/**
 * The hooks of metrics that start later: no-ops until `use` gives the real ones. dacd serves
 * its metrics only once it holds its host, so that a second dacd for a served host is refused
 * for that, and not for the metrics port its owner listens on.
 */
export class LateMetrics implements DacdMetrics {
  private current: DacdMetrics = NO_METRICS;

  use(metrics: DacdMetrics): void {
    this.current = metrics;
  }

  stepFinished(phase: Phase, outcome: 'completed' | 'failed', seconds: number, code?: string) {
    this.current.stepFinished(phase, outcome, seconds, code);
  }
  staged(phase: 'DataIn' | 'DataOut', bytes: number, files: number) {
    this.current.staged(phase, bytes, files);
  }
  leaseRenewed() {
    this.current.leaseRenewed();
  }
  leaseLost() {
    this.current.leaseLost();
  }
  etcdRequest(method: string, seconds: number, failed: boolean) {
    this.current.etcdRequest(method, seconds, failed);
  }
  session(token: string, session: SessionRecord | undefined) {
    this.current.session(token, session);
  }
  close(): Promise<void> {
    return this.current.close();
  }
}

export interface MetricsHost {
  host: string;
  pool: string;
  /** This host's brick count. */
  bricks: number;
  /** The program's version (package.json). */
  version: string;
}

/** What one session contributes to the gauges: its step, if this host serves it, and bricks. */
interface Tally {
  served?: { phase: Phase; state: string };
  bricksHere: number;
}

/**
 * Serve the metrics on `address` (`host:port`). Resolves once it listens; rejects (a
 * ConfigError from the caller's point of view) if it cannot.
 */
export async function startMetrics(address: string, about: MetricsHost): Promise<DacdMetrics> {
  // Loaded here only: see the header.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const client = require('prom-client') as typeof import('prom-client');
  const registry = new client.Registry();
  const tallies = new Map<string, Tally>();

  new client.Gauge({
    name: 'dac_build_info',
    help: 'Always 1: the version of dacd and of node.',
    labelNames: ['version', 'node'],
    registers: [registry],
  }).set({ version: about.version, node: process.version }, 1);
  new client.Gauge({
    name: 'dac_bricks',
    help: "This host's bricks, by pool and state (allocated to a session, or free).",
    labelNames: ['pool', 'state'],
    registers: [registry],
    collect() {
      let allocated = 0;
      for (const tally of tallies.values()) allocated += tally.bricksHere;
      this.set({ pool: about.pool, state: 'allocated' }, allocated);
      this.set({ pool: about.pool, state: 'free' }, Math.max(0, about.bricks - allocated));
    },
  });
  new client.Gauge({
    name: 'dac_sessions',
    help: 'Sessions this host serves, by the step asked for and its state.',
    labelNames: ['phase', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const tally of tallies.values()) {
        if (tally.served) this.inc(tally.served);
      }
    },
  });
  const steps = new client.Counter({
    name: 'dac_steps_total',
    help: 'Steps this host carried out, by phase and outcome.',
    labelNames: ['phase', 'outcome'],
    registers: [registry],
  });
  const durations = new client.Histogram({
    name: 'dac_step_duration_seconds',
    help: 'How long the steps this host carried out took, by phase.',
    labelNames: ['phase'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600, 21600],
    registers: [registry],
  });
  const errors = new client.Counter({
    name: 'dac_step_errors_total',
    help: 'Failed steps by error code.',
    labelNames: ['code'],
    registers: [registry],
  });
  const stagedBytes = new client.Counter({
    name: 'dac_staged_bytes_total',
    help: 'Bytes copied by stage-in and stage-out.',
    labelNames: ['direction'],
    registers: [registry],
  });
  const stagedFiles = new client.Counter({
    name: 'dac_staged_files_total',
    help: 'Files copied by stage-in and stage-out.',
    labelNames: ['direction'],
    registers: [registry],
  });
  const renewals = new client.Counter({
    name: 'dac_lease_renewals_total',
    help: 'Renewals of the liveness lease.',
    registers: [registry],
  });
  const losses = new client.Counter({
    name: 'dac_lease_losses_total',
    help: 'Liveness leases found expired (etcd unreachable for longer than the lease).',
    registers: [registry],
  });
  const etcdSeconds = new client.Histogram({
    name: 'dac_etcd_request_duration_seconds',
    help: 'etcd requests of this dacd, by method.',
    labelNames: ['method'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3],
    registers: [registry],
  });
  const etcdFailures = new client.Counter({
    name: 'dac_etcd_request_failures_total',
    help: 'etcd requests of this dacd refused or unanswered, by method.',
    labelNames: ['method'],
    registers: [registry],
  });

  const server = await serveMetrics(
    address,
    async () => ({ contentType: registry.contentType, text: await registry.metrics() }),
    { failureStatus: 500 },
  );
  server.unref();

  return {
    stepFinished(phase, outcome, seconds, code) {
      steps.inc({ phase, outcome });
      durations.observe({ phase }, seconds);
      if (outcome === 'failed') errors.inc({ code: code ?? 'E_UNKNOWN' });
    },
    staged(phase, bytes, files) {
      const direction = phase === 'DataIn' ? 'in' : 'out';
      stagedBytes.inc({ direction }, bytes);
      stagedFiles.inc({ direction }, files);
    },
    leaseRenewed: () => renewals.inc(),
    leaseLost: () => losses.inc(),
    etcdRequest(method, seconds, failed) {
      etcdSeconds.observe({ method }, seconds);
      if (failed) etcdFailures.inc({ method });
    },
    session(token, session) {
      if (!session) {
        tallies.delete(token);
        return;
      }
      const bricksHere = session.bricks.filter((brick) => brick.host === about.host).length;
      const served =
        session.reconciler === about.host
          ? { phase: session.desired, state: stepState(session) }
          : undefined;
      if (bricksHere === 0 && !served) tallies.delete(token);
      else tallies.set(token, { bricksHere, ...(served ? { served } : {}) });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
