/**
 * The CLI's logger: pino, loaded only when a line is written at an enabled level.
 *
 * Slurm runs `pools`, `show_sessions` and `show_instances` every 30 s and `job_process` and
 * `paths` inline in its scheduler; loading pino (about 30 ms) on every one of those calls would
 * cost more than the rest of the call. They log their success at `debug`, so with the default
 * level (`info`) a successful call never loads it; a warning or an error always does.
 * Settings as in `createLogger` (`DAC_LOG_FILE`, `DAC_LOG_LEVEL`).
 */
import { LEVELS, isKnownLogLevel, type LogLevel } from './log-level';
import type { Logger } from './logger';

type LogMethod = (fields: object, message: string) => void;

/** What CLI code logs with: pino's `(fields, message)` calls. */
export interface CliLogger {
  trace: LogMethod;
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  fatal: LogMethod;
  /** Log at a level chosen at run time. */
  at(level: LogLevel, fields: object, message: string): void;
}

/** A logger for `program` that loads pino on the first line it really writes. */
export function createCliLogger(program: string, env: NodeJS.ProcessEnv = process.env): CliLogger {
  const file = env.DAC_LOG_FILE;
  const configured = env.DAC_LOG_LEVEL;
  const threshold =
    file === 'none' || file === ''
      ? Infinity
      : (LEVELS[configured !== undefined && isKnownLogLevel(configured) ? configured : 'info'] ??
        30);
  let pino: Logger | undefined;
  const at = (level: LogLevel, fields: object, message: string): void => {
    if ((LEVELS[level] ?? 0) < threshold) return;
    if (!pino) {
      // Loaded synchronously: a log line must be written before the process exits.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { createLogger } = require('./logger') as typeof import('./logger');
      pino = createLogger(program, env);
    }
    pino[level](fields, message);
  };
  const method =
    (level: LogLevel): LogMethod =>
    (fields, message) =>
      at(level, fields, message);
  return {
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
    at,
  };
}
