/**
 * `DAC_LOG_LEVEL`: the levels it may name and its check, shared by the daemon's logger
 * (`logger.ts`) and the CLI's (`cli-logger.ts`), which loads the former only when it writes.
 */
import { ConfigError } from '../errors/errors';

/** The levels, by pino's numbers. */
export const LEVELS: Record<string, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** True for a level `DAC_LOG_LEVEL` may name (pino's levels, and `silent`). */
export function isKnownLogLevel(name: string): boolean {
  return Object.hasOwn(LEVELS, name);
}

/** Refuse a `DAC_LOG_LEVEL` that names no level, naming the variable and the levels. */
export function checkLogLevel(env: NodeJS.ProcessEnv): void {
  const configured = env.DAC_LOG_LEVEL;
  if (configured !== undefined && !isKnownLogLevel(configured)) {
    throw new ConfigError(
      `DAC_LOG_LEVEL="${configured}" is not a log level; use one of ${Object.keys(LEVELS).join(', ')}`,
    );
  }
}
