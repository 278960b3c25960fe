/**
 * `job_process --job S`: validate a job's directives at submission. It runs inside slurmctld's
 * submit RPC (contract §1.3: 200 ms budget), so it reads the pools with at most one etcd read
 * and never fails a submission because etcd is down: Slurm checks pool names itself.
 */
import {
  formatIssues,
  parseJobScript,
  type ParseJobScriptOptions,
  type PoolInfo,
} from '../../directives';
import { StoreUnavailableError, ValidationError } from '../../errors/errors';
import type { PoolCapacity } from '../../registry/pool-table';
import type { CliContext } from '../context';
import { INLINE_ETCD_TIMEOUT_MS } from '../inline-timeout';
import type { FunctionArgs } from '../flags';
import type { CommandResult } from '../run';
import { readJobScript } from '../slurm-args';

/**
 * The pool options for a pool table: DAC_DEFAULT_POOL (burst_buffer.conf DefaultPool) if set,
 * else the first pool, as Slurm picks it. Without pools, no pool checks at all.
 */
export function poolChecks(
  views: readonly PoolCapacity[] | undefined,
  env: NodeJS.ProcessEnv,
): ParseJobScriptOptions {
  const configured = env.DAC_DEFAULT_POOL === '' ? undefined : env.DAC_DEFAULT_POOL;
  // An empty table means etcd has no pools yet (the plugin would be down): checking against
  // it would reject every job, so leave the pool checks to Slurm, as when etcd is down.
  if (views === undefined || views.length === 0) {
    return configured === undefined ? {} : { defaultPool: configured };
  }
  const pools = new Map<string, PoolInfo>(
    views.map((view) => [
      view.name,
      {
        granularityBytes: view.granularityBytes,
        totalBytes: BigInt(view.quantity) * view.granularityBytes,
        maxBufferBytes: BigInt(view.largestSessionBricks) * view.granularityBytes,
      },
    ]),
  );
  const defaultPool = configured ?? views[0]?.name;
  return defaultPool === undefined ? { pools } : { pools, defaultPool };
}

/** Validate the script; prints nothing on success, one line of every problem otherwise. */
export async function jobProcessCommand(
  context: CliContext,
  args: FunctionArgs,
): Promise<CommandResult> {
  const path = args.job ?? '';
  const script = await readJobScript(path);
  const views = await readPools(context);
  const { issues } = parseJobScript(script, poolChecks(views, context.env));
  if (issues.length > 0) throw new ValidationError(formatIssues(issues));
  return undefined;
}

/** The pools from one read, or undefined (logged) when etcd cannot be reached in time. */
async function readPools(context: CliContext): Promise<PoolCapacity[] | undefined> {
  try {
    const reader = await context.slurmReader({ maxTimeoutMs: INLINE_ETCD_TIMEOUT_MS });
    return await reader.poolCapacities();
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    context.log.warn({ err: error }, 'etcd unavailable: validating without pool checks');
    return undefined;
  }
}
