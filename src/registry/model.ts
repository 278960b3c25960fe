/**
 * The domain model: what we keep in etcd, as zod schemas with their TypeScript types.
 *
 * Records are JSON. Byte counts are bigint in code and decimal strings in JSON (pools reach
 * beyond 2^53 bytes). Every stored record carries `schemaVersion`, so a record written by
 * another version of this software is recognised and reported, never misread.
 */
import { z } from 'zod';

/** The record format this version reads and writes. */
export const SCHEMA_VERSION = 1;

const schemaVersion = z.literal(SCHEMA_VERSION, {
  error: (issue) =>
    issue.input === undefined
      ? 'schemaVersion is missing (record from an older version?)'
      : `schemaVersion ${String(issue.input)} is not understood by this version (expects ${SCHEMA_VERSION})`,
});

/** Byte counts: a decimal string in JSON, a bigint in code. */
export const Bytes = z.codec(
  z.string().regex(/^(0|[1-9][0-9]*)$/, 'must be a whole number of bytes as a decimal string'),
  z.bigint().nonnegative(),
  { decode: (text) => BigInt(text), encode: (value) => value.toString() },
);

/** Host names, device names and pool names: safe in etcd keys and in Slurm's JSON. */
export const HostName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/, 'must be letters, digits, . _ - (max 253)');
export const PoolName = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_-]{0,63}$/,
    'must start with a letter; letters, digits, _ - (max 64)',
  );
export const DeviceName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be letters, digits, . _ - (e.g. nvme0n1)');
/** A session token: a Slurm job id, or a persistent buffer's name. */
export const Token = z
  .string()
  .regex(/^([1-9][0-9]{0,19}|[A-Za-z][A-Za-z0-9_]{0,63})$/, 'must be a job id or a buffer name');

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

/** Written by dacd on its lease: present while the host is alive. */
export const AliveRecord = z.object({
  schemaVersion,
  host: HostName,
  since: Epoch,
  pid: z.number().int().positive().optional(),
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
  /** Counts of the current or last stage-in/out, written by dacd while it copies. */
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
