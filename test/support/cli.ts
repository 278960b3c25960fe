/**
 * Runs the built CLI binaries as Slurm does: a separate process, stdin closed, argv as separate
 * words, and stdout and stderr read together (`output`, in arrival order).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(__dirname, '..', '..', 'bin');

export interface CliRun {
  /** stdout and stderr together, as Slurm reads them. */
  output: string;
  stdout: string;
  stderr: string;
  code: number | null;
}

/**
 * Run `bin/<program> ...args` with the test etcd and `prefix`. The environment is minimal, like
 * slurmctld's: no HOME, PATH of system directories only, the cwd `/`.
 */
export function runBinary(
  program: 'dacctl' | 'dw_wlm_cli' | 'dwstat' | 'dacd',
  args: string[],
  options: { prefix: string; env?: NodeJS.ProcessEnv; logFile?: string; killAfterMs?: number },
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(BIN, program), args, {
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
        ETCDCTL_ENDPOINTS: process.env.ETCDCTL_ENDPOINTS,
        DAC_ETCD_PREFIX: options.prefix,
        // DAC_TEST_LOG_FILE keeps the binaries' logs when debugging a test.
        DAC_LOG_FILE: options.logFile ?? process.env.DAC_TEST_LOG_FILE ?? 'none',
        DAC_LOG_LEVEL: process.env.DAC_TEST_LOG_LEVEL ?? 'info',
        ...options.env,
      },
    });
    let output = '';
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      output += chunk.toString();
    });
    // As Slurm kills a call that runs past its timeout (the code is then null).
    const killer =
      options.killAfterMs !== undefined
        ? setTimeout(() => child.kill('SIGKILL'), options.killAfterMs)
        : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ output, stdout, stderr, code });
    });
  });
}
