/**
 * The domain model: what we keep in etcd, as zod schemas with their TypeScript types.
 *
 * Records are JSON. Byte counts are bigint in code and decimal strings in JSON (pools reach
 * beyond 2^53 bytes). Every stored record carries `schemaVersion`, so a record written by
 * another version of this software is recognised and reported, never misread.
 */
import { z } from 'zod';
import {
  BYTES,
  DEVICE_NAME,
  HOST_NAME,
  POOL_NAME,
  TOKEN,
  schemaVersionMessage,
  type Pattern,
} from './record-patterns';

/** The record format this version reads and writes. */
export const SCHEMA_VERSION = 1;

const schemaVersion = z.literal(SCHEMA_VERSION, {
  error: (issue) => schemaVersionMessage(issue.input, SCHEMA_VERSION),
});

const matching = (pattern: Pattern) => z.string().regex(pattern.regex, pattern.message);

/** Byte counts: a decimal string in JSON, a bigint in code. */
export const Bytes = z.codec(matching(BYTES), z.bigint().nonnegative(), {
  decode: (text) => BigInt(text),
  encode: (value) => value.toString(),
});

/** Host names, device names and pool names: safe in etcd keys and in Slurm's JSON. */
export const HostName = matching(HOST_NAME);
export const PoolName = matching(POOL_NAME);
export const DeviceName = matching(DEVICE_NAME);
/** A session token: a Slurm job id, or a persistent buffer's name. */
export const Token = matching(TOKEN);

const Epoch = z.number().int().nonnegative();

export const PoolRecord = z.object({
  schemaVersion,
  name: PoolName,
  /** Bytes per granule; every brick of the pool holds exactly one granule. */
  granularityBytes: Bytes.refine((b) => b > 0n, 'must be positive'),
});
export type PoolRecord = z.output<typeof PoolRecord>;

export const Brick = z.object({
  device: DeviceName,
  capacityBytes: Bytes,
  pool: PoolName,
});
export type Brick = z.output<typeof Brick>;

export const HostRecord = z.object({
  schemaVersion,
  name: HostName,
  /** False when an operator drained the host: it gets no new allocations. */
  enabled: z.boolean(),
  drainReason: z.string().max(500).optional(),
  bricks: z.array(Brick),
  updatedAt: Epoch,
});
export type HostRecord = z.output<typeof HostRecord>;

/** Bricks of one pool on one host, and how many of them are allocated. */
export const PoolUsage = z.object({
  bricks: z.number().int().nonnegative(),
  allocated: z.number().int().nonnegative(),
});
export type PoolUsage = z.output<typeof PoolUsage>;

/**
 * A host's bricks and allocations per pool, and whether it is enabled: all that `pools` and
 * `job_process` need of a host, in a few dozen bytes instead of the host record and one key per
 * allocated brick. The registry writes it in the same transactions as the host record and the
 * allocations, so it always agrees with them.
 */
export const HostUsageRecord = z.object({
  schemaVersion,
  host: HostName,
  enabled: z.boolean(),
  pools: z.record(PoolName, PoolUsage),
});
export type HostUsageRecord = z.output<typeof HostUsageRecord>;

/** Written by dacd on its lease: present while the host is alive. */
export const AliveRecord = z.object({
  schemaVersion,
  host: HostName,
  since: Epoch,
  pid: z.number().int().positive().optional(),
  /** The machine the daemon runs on (`os.hostname()`); absent in records of older versions. */
  machine: z.string().min(1).max(255).optional(),
});
export type AliveRecord = z.output<typeof AliveRecord>;

/** Marks a brick as taken by a session. Its absence means the brick is free. */
export const AllocationRecord = z.object({
  schemaVersion,
  sessionId: z.number().int().positive(),
  token: Token,
  /** Position in the session's volume; 0 is the primary brick. */
  index: z.number().int().nonnegative(),
});
export type AllocationRecord = z.output<typeof AllocationRecord>;

export const BrickRef = z.object({ host: HostName, device: DeviceName });
export type BrickRef = z.output<typeof BrickRef>;

/** The steps of a session's life, in the order Slurm drives them. */
export const Phase = z.enum(['Setup', 'DataIn', 'PreRun', 'PostRun', 'DataOut', 'Teardown']);
export type Phase = z.output<typeof Phase>;

export const PhaseStatus = z.enum(['InProgress', 'Completed', 'Error']);
export type PhaseStatus = z.output<typeof PhaseStatus>;

export const StageRequest = z.object({
  source: z.string().min(1),
  destination: z.string().min(1),
  type: z.enum(['file', 'directory', 'list']),
});
export type StageRequest = z.output<typeof StageRequest>;

export const AccessMode = z.enum(['striped', 'private', 'striped,private']);
export type AccessMode = z.output<typeof AccessMode>;

export const SessionRecord = z.object({
  schemaVersion,
  /** Integer id shown to Slurm (it ignores string ids); unique across the system. */
  id: z.number().int().positive(),
  token: Token,
  kind: z.enum(['job', 'persistent']),
  owner: z.object({ uid: z.number().int().nonnegative(), gid: z.number().int().nonnegative() }),
  /** Epoch seconds. */
  createdAt: Epoch,
  pool: PoolName,
  requestedBytes: Bytes,
  /** The pool's granularity when the bricks were chosen. */
  granularityBytes: Bytes,
  accessMode: AccessMode,
  type: z.enum(['scratch', 'cache']),
  stageIn: z.array(StageRequest),
  stageOut: z.array(StageRequest),
  /** Names of persistent buffers this job uses. */
  persistentAttachments: z.array(Token),
  /** Allocated bricks, primary first. Empty for a zero-capacity session. */
  bricks: z.array(BrickRef),
  /**
   * The storage host whose dacd carries out this session's steps: the primary brick's host, or
   * for a session without bricks the primary host of its first persistent buffer; null when no
   * daemon has anything to do (the CLI then completes each step itself).
   */
  reconciler: HostName.nullable(),
  /** Slurm node names the buffer is mounted on (from pre_run). */
  computeHosts: z.array(HostName),
  /** What the CLI wants. */
  desired: Phase,
  /** What dacd last reported. */
  observed: z
    .object({
      phase: Phase,
      status: PhaseStatus,
      message: z.string().optional(),
      updatedAt: Epoch,
    })
    .nullable(),
  /** Milliseconds since the epoch at which each phase started and finished. */
  timings: z.partialRecord(
    Phase,
    z.object({ startedAt: Epoch.optional(), finishedAt: Epoch.optional() }),
  ),
  lastError: z.object({ message: z.string(), detail: z.string().optional(), at: Epoch }).nullable(),
  /** Teardown was requested with --hurry: skip stage-out. */
  hurry: z.boolean(),
  /**
   * Counts of the current or last stage-in/out, written by dacd while it copies; `done`: no
   * more counts come for it (it finished, or failed with what it had written by then).
   */
  transfer: z
    .object({
      phase: z.enum(['DataIn', 'DataOut']),
      bytes: Bytes,
      files: z.number().int().nonnegative(),
      done: z.boolean(),
      updatedAt: Epoch,
    })
    .optional(),
});
export type SessionRecord = z.output<typeof SessionRecord>;

/**
 * What `show_sessions` and `show_instances` report of a session, in about 100 bytes instead of
 * the whole record (see `session-summary.ts`). Stored in a `SummaryBucketRecord`.
 */
export const SessionSummary = z.object({
  id: z.number().int().positive(),
  token: Token,
  /** The owner's uid. */
  uid: z.number().int().nonnegative(),
  createdAt: Epoch,
  /** Bytes allocated: whole bricks, each one granule. */
  bytes: Bytes,
  /** Compute hosts the buffer is mounted on. */
  nodes: z.number().int().nonnegative(),
});
export type SessionSummary = z.output<typeof SessionSummary>;

/**
 * The summaries of the sessions whose tokens fall in one bucket (`summaryBucketOf`), sorted
 * by token: written by the registry in the same transaction as every write of a session that
 * changes its summary, guarded by the bucket's revision. A few dozen buckets instead of a key
 * per session: etcd answers `show_sessions` three times as fast, and there is less to decode.
 */
export const SummaryBucketRecord = z.object({
  schemaVersion,
  summaries: z.array(SessionSummary),
});
export type SummaryBucketRecord = z.output<typeof SummaryBucketRecord>;
