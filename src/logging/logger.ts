/**
 * Logging. Slurm reads the CLI's stdout and stderr as its answer, so logs never go there:
 * they go to a file (pino, JSON lines) or nowhere.
 *
 * - `DAC_LOG_FILE`: the log file; `none` disables logging; `stdout`, for a daemon only, writes
 *   to standard output (the journal, under systemd). Default: `/var/log/dac/<program>.log`
 *   when that directory is writable (it is for root and for a SlurmUser the site grants it),
 *   else `<tmpdir>/dac-<uid>/<program>.log`, so a default that works without root.
 * - `DAC_LOG_LEVEL`: `trace`..`fatal`, default `info`.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { ConfigError } from '../errors/errors';
import { checkLogLevel, isKnownLogLevel } from './log-level';

export type { Logger };

/** Where `program` logs by default. */
export function defaultLogFile(program: string): string {
  const systemDir = '/var/log/dac';
  try {
    accessSync(systemDir, constants.W_OK);
    return join(systemDir, `${program}.log`);
  } catch {
    const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
    return join(tmpdir(), `dac-${uid}`, `${program}.log`);
  }
}

/**
 * A logger writing synchronously to the log file (a short-lived CLI must not lose lines at
 * exit). If the file cannot be opened, logging is off: a log problem must never become the
 * CLI's answer. A daemon passes `mustOpen`: then a bad `DAC_LOG_LEVEL` or a log file that
 * cannot be opened is a ConfigError naming the variable, so it never runs without its logs.
 */
export function createLogger(
  program: string,
  env: NodeJS.ProcessEnv = process.env,
  options: { mustOpen?: boolean } = {},
): Logger {
  if (options.mustOpen) checkLogLevel(env);
  const level =
    env.DAC_LOG_LEVEL && isKnownLogLevel(env.DAC_LOG_LEVEL) ? env.DAC_LOG_LEVEL : 'info';
  const file = env.DAC_LOG_FILE ?? defaultLogFile(program);
  if (file === 'none' || file === '') return pino({ enabled: false });
  if (file === 'stdout') {
    // The CLI's stdout is its answer to Slurm: only a daemon may log there.
    if (!options.mustOpen) return pino({ enabled: false });
    return pino(
      { level, base: { program, pid: process.pid } },
      pino.destination({ dest: 1, sync: true }),
    );
  }
  try {
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o750 });
    const destination = pino.destination({ dest: file, sync: true, mkdir: true });
    return pino({ level, base: { program, pid: process.pid } }, destination);
  } catch (error) {
    if (options.mustOpen) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new ConfigError(
        `DAC_LOG_FILE=${JSON.stringify(file)} cannot be opened for writing (${code}); ` +
          'name a writable file, or none for no log',
      );
    }
    return pino({ enabled: false });
  }
}
