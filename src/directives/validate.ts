/**
 * Checks across the directive lines of one job: a single `jobdw`, stage paths that refer to
 * buffers the job actually has, and (when pools are known) pool names and pool sizes.
 */
import { formatBytes } from '../units/bytes';
import { echo, type DirectiveIssue } from './issues';
import type { ParsedLine } from './parse';
import { roundToGranularity } from './size';
import type { BufferRef, CreatePersistentDirective, Directive, JobBufferDirective } from './types';

/** What the parser needs to know about a pool. */
export interface PoolInfo {
  /** Allocation unit; requests are rounded up to a multiple of it. */
  granularityBytes: bigint;
  /** The pool's whole size; a request larger than this can never run. */
  totalBytes?: bigint;
  /**
   * The most one buffer can have in this pool (etcd's transaction limits bound its number of
   * bricks); a request larger than this can never run either.
   */
  maxBufferBytes?: bigint;
}

/** Options for checks that depend on the system's configuration. */
export interface PoolOptions {
  /** Known pools by name. Without it, pool names and sizes are not checked. */
  pools?: ReadonlyMap<string, PoolInfo>;
  /** The pool used when a directive names none (burst_buffer.conf DefaultPool). */
  defaultPool?: string;
}

/** Typed directives and every problem found. */
export interface DirectiveCheck {
  directives: Directive[];
  issues: DirectiveIssue[];
}

/** Combine parsed lines into the job's directives, adding the checks that span lines. */
export function validateDirectives(
  parsedLines: readonly ParsedLine[],
  options: PoolOptions = {},
): DirectiveCheck {
  const issues: DirectiveIssue[] = parsedLines.flatMap((parsed) => parsed.issues);
  const directives: Directive[] = [];
  const persistentNames = new Set<string>();
  let firstJobdw: number | undefined;
  let jobdwFailed = false;
  let persistentdwFailed = false;

  for (const parsed of parsedLines) {
    const dw = parsed.prefix === 'DW';
    if (dw && parsed.command === 'jobdw') {
      if (firstJobdw !== undefined) {
        issues.push({
          line: parsed.line,
          directive: parsed.label,
          code: 'duplicate_directive',
          message: `only one #DW jobdw is allowed per job; the first is on line ${firstJobdw}`,
        });
        continue;
      }
      firstJobdw = parsed.line;
      jobdwFailed = parsed.directive === undefined;
    }
    if (dw && parsed.command === 'persistentdw' && parsed.directive === undefined) {
      persistentdwFailed = true;
    }
    const directive = parsed.directive;
    if (directive === undefined) continue;
    if (directive.kind === 'persistentdw') {
      if (persistentNames.has(directive.name)) continue; // repeating a persistentdw is harmless
      persistentNames.add(directive.name);
    }
    directives.push(directive);
  }

  const jobdw = directives.find((d): d is JobBufferDirective => d.kind === 'jobdw');
  for (const parsed of parsedLines) {
    const reference = parsed.bufferReference;
    if (reference === undefined) continue;
    const problem = bufferProblem(
      reference.buffer,
      jobdw,
      jobdwFailed,
      persistentNames,
      persistentdwFailed,
    );
    if (problem === undefined) continue;
    issues.push({
      line: parsed.line,
      directive: parsed.label,
      code: 'unknown_buffer',
      message: `${reference.option}: ${problem}`,
    });
  }

  checkStagingSize(directives, issues);
  const checked =
    options.pools === undefined ? directives : applyPools(directives, options, issues);
  issues.sort((a, b) => a.line - b.line);
  return { directives: checked, issues };
}

/**
 * The most the stage requests of one job may take, in bytes of their JSON: they are kept in
 * the job's session record, and every write of that record is one etcd request, which etcd
 * refuses above 1.5 MiB (its default `--max-request-bytes`).
 */
export const MAX_STAGING_BYTES = 1024 * 1024;

/** Report the first stage line past MAX_STAGING_BYTES: the job could never be set up. */
function checkStagingSize(directives: readonly Directive[], issues: DirectiveIssue[]): void {
  const encoder = new TextEncoder();
  let bytes = 0;
  for (const directive of directives) {
    if (directive.kind !== 'stage_in' && directive.kind !== 'stage_out') continue;
    const { source, destination, type } = directive;
    bytes += encoder.encode(JSON.stringify({ source, destination, type })).length + 1;
    if (bytes > MAX_STAGING_BYTES) {
      issues.push({
        line: directive.line,
        directive: `#DW ${directive.kind}`,
        code: 'too_much_staging',
        message:
          `the stage_in and stage_out lines up to here take more than ` +
          `${formatBytes(MAX_STAGING_BYTES)}, the most one job's record can hold; ` +
          'stage a directory or a type=list file instead of many single files',
      });
      return;
    }
  }
}

/** Why a referenced buffer is not available to the job, if it is not. */
function bufferProblem(
  buffer: BufferRef,
  jobdw: JobBufferDirective | undefined,
  jobdwFailed: boolean,
  persistentNames: ReadonlySet<string>,
  persistentdwFailed: boolean,
): string | undefined {
  if (buffer.kind === 'job') {
    // A jobdw line with its own errors has been reported already; do not pile on.
    if (jobdw === undefined)
      return jobdwFailed ? undefined : '$DW_JOB_STRIPED needs a #DW jobdw line';
    if (jobdw.accessMode === 'private') {
      return `$DW_JOB_STRIPED needs access_mode=striped or striped,private on the #DW jobdw line (line ${jobdw.line})`;
    }
    return undefined;
  }
  const name = buffer.name;
  if (persistentNames.has(name) || persistentdwFailed) return undefined;
  return `$DW_PERSISTENT_STRIPED_${echo(name)} needs a #DW persistentdw name=${echo(name)} line`;
}

/** Check pool names and sizes, and record each request's size rounded to its pool's granules. */
function applyPools(
  directives: readonly Directive[],
  options: PoolOptions,
  issues: DirectiveIssue[],
): Directive[] {
  const pools = options.pools ?? new Map<string, PoolInfo>();
  return directives.map((directive) => {
    if (directive.kind !== 'jobdw' && directive.kind !== 'create_persistent') return directive;
    const poolName = directive.pool ?? options.defaultPool;
    if (poolName === undefined) return directive;
    const label = directive.kind === 'jobdw' ? '#DW jobdw' : '#BB create_persistent';
    const report = (code: DirectiveIssue['code'], message: string): void => {
      issues.push({ line: directive.line, directive: label, code, message });
    };
    const pool = pools.get(poolName);
    if (pool === undefined) {
      const known = [...pools.keys()].map(echo).join(', ') || 'none';
      const what =
        directive.pool === undefined
          ? `the default pool "${echo(poolName)}" does not exist`
          : `pool=${echo(poolName)}: unknown pool`;
      report('unknown_pool', `${what}; known pools: ${known}`);
      return directive;
    }
    return withRoundedCapacity(directive, poolName, pool, report);
  });
}

/** A copy of the directive with its rounded capacity, reporting a request the pool cannot hold. */
function withRoundedCapacity<T extends JobBufferDirective | CreatePersistentDirective>(
  directive: T,
  poolName: string,
  pool: PoolInfo,
  report: (code: DirectiveIssue['code'], message: string) => void,
): T {
  const rounded =
    pool.granularityBytes > 0n
      ? roundToGranularity(directive.capacityBytes, pool.granularityBytes)
      : directive.capacityBytes;
  const asked = formatBytes(directive.capacityBytes);
  // Mention rounding only when it shows in the numbers.
  const roundedText = formatBytes(rounded);
  const note = roundedText === asked ? '' : ` (${roundedText} in whole granules)`;
  if (pool.totalBytes !== undefined && rounded > pool.totalBytes) {
    report(
      'exceeds_pool',
      `capacity ${asked}${note} is more than pool ${echo(poolName)} holds in total (${formatBytes(pool.totalBytes)})`,
    );
  } else if (pool.maxBufferBytes !== undefined && rounded > pool.maxBufferBytes) {
    report(
      'exceeds_buffer_limit',
      `capacity ${asked}${note} is more than one buffer of pool ${echo(poolName)} can have ` +
        `(${formatBytes(pool.maxBufferBytes)}: a buffer is one etcd transaction, which bounds ` +
        `its number of bricks); ask for at most that`,
    );
  }
  return { ...directive, roundedCapacityBytes: rounded };
}
