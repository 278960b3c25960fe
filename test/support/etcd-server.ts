/**
 * Starts a private etcd server for tests: a free loopback port, its own temporary data dir,
 * fast raft timings (so 1 s leases are honoured), stopped by pid.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningEtcd {
  pid: number;
  endpoint: string;
  dataDir: string;
}

/**
 * Server TLS: etcd requires client certificates signed by `caFile`. Its health is then asked on
 * a plain HTTP metrics port, so that a test may serve a certificate no client would accept.
 */
export interface EtcdTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Ask the kernel for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

async function httpHealth(url: string): Promise<boolean> {
  try {
    const response = await fetch(url);
    const body = (await response.json()) as { health?: string };
    return response.ok && body.health === 'true';
  } catch {
    return false; // not listening yet
  }
}

async function waitHealthy(healthUrl: string, pid: number, logFile: string): Promise<void> {
  const deadline = Date.now() + 20000;
  for (;;) {
    if (await httpHealth(healthUrl)) return;
    try {
      process.kill(pid, 0);
    } catch {
      throw new Error(`etcd exited during start-up; see ${logFile}`);
    }
    if (Date.now() > deadline) throw new Error(`etcd did not become healthy; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Start etcd and wait until it answers /health. */
export async function startEtcd(options: { tls?: EtcdTls } = {}): Promise<RunningEtcd> {
  const binary = process.env.ETCD_BINARY ?? 'etcd';
  const tls = options.tls;
  const dataDir = mkdtempSync(join(tmpdir(), 'dac-test-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `${tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const metrics = tls ? `http://127.0.0.1:${await freePort()}` : undefined;
  const logFile = join(dataDir, 'etcd.log');
  const log = openSync(logFile, 'a');
  const child = spawn(
    binary,
    [
      '--name=test',
      `--data-dir=${join(dataDir, 'data')}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=test=${peer}`,
      '--heartbeat-interval=10',
      '--election-timeout=100',
      '--log-level=warn',
      '--logger=zap',
      ...(tls
        ? [
            `--cert-file=${tls.certFile}`,
            `--key-file=${tls.keyFile}`,
            `--trusted-ca-file=${tls.caFile}`,
            '--client-cert-auth',
            `--listen-metrics-urls=${metrics}`,
          ]
        : []),
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${binary}`);
  try {
    await waitHealthy(`${metrics ?? endpoint}/health`, child.pid, logFile);
  } catch (error) {
    stopEtcd({ pid: child.pid, endpoint, dataDir });
    throw error;
  }
  return { pid: child.pid, endpoint, dataDir };
}

/** Stop etcd by pid (SIGKILL: tests need no graceful shutdown) and remove its data. */
export function stopEtcd(etcd: RunningEtcd): void {
  try {
    process.kill(etcd.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  rmSync(etcd.dataDir, { recursive: true, force: true });
}
