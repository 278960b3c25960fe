/**
 * How long each Slurm step may wait for dacd. Slurm kills the CLI when its own timeout
 * (burst_buffer.conf) expires, and then the partial output becomes the error; so we stop a
 * little earlier and fail with a clear line instead.
 *
 * Set them like burst_buffer.conf (seconds): `DAC_OTHER_TIMEOUT` (default 300),
 * `DAC_STAGE_IN_TIMEOUT` and `DAC_STAGE_OUT_TIMEOUT` (default 86400), and `DAC_PRE_RUN_TIMEOUT`
 * (default 300: Slurm's own pre_run limit is effectively unbounded, so we bound it).
 */
import { ConfigError } from '../errors/errors';

export type TimedStep =
  'setup' | 'data_in' | 'pre_run' | 'post_run' | 'data_out' | 'teardown' | 'create_persistent';

const VARIABLE: Record<TimedStep, string> = {
  setup: 'DAC_OTHER_TIMEOUT',
  post_run: 'DAC_OTHER_TIMEOUT',
  teardown: 'DAC_OTHER_TIMEOUT',
  create_persistent: 'DAC_OTHER_TIMEOUT',
  data_in: 'DAC_STAGE_IN_TIMEOUT',
  data_out: 'DAC_STAGE_OUT_TIMEOUT',
  pre_run: 'DAC_PRE_RUN_TIMEOUT',
};

const DEFAULT_SECONDS: Record<string, number> = {
  DAC_OTHER_TIMEOUT: 300,
  DAC_STAGE_IN_TIMEOUT: 86400,
  DAC_STAGE_OUT_TIMEOUT: 86400,
  DAC_PRE_RUN_TIMEOUT: 300,
};

/**
 * Milliseconds the step may wait: the configured timeout minus a margin of 5 % (at least 2 s,
 * at most 60 s) for Node start-up, etcd round trips and Slurm's own bookkeeping.
 */
export function stepDeadlineMs(step: TimedStep, env: NodeJS.ProcessEnv = process.env): number {
  const variable = VARIABLE[step];
  const text = env[variable];
  let seconds = DEFAULT_SECONDS[variable]!;
  if (text !== undefined) {
    if (!/^[1-9][0-9]{0,7}$/.test(text)) {
      throw new ConfigError(`${variable}="${text}" must be a whole number of seconds`);
    }
    seconds = Number(text);
  }
  const totalMs = seconds * 1000;
  const margin = Math.min(60000, Math.max(2000, totalMs * 0.05));
  return Math.max(500, totalMs - margin);
}
