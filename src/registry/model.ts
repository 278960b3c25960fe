/**
 * The domain model: what we keep in etcd, as zod schemas with their TypeScript types.
 *
 * Records are JSON. Byte counts are bigint in code and decimal strings in JSON (pools reach
 * beyond 2^53 bytes). Every stored record carries `schemaVersion`, so a record written by
 * another version of this software is recognised and reported, never misread.
 *
 * These schemas are the one definition of the records; the registry reads and writes records
 * with the zod-free codecs that scripts/gen-record-decoders.js generates from them
 * (record-codecs.ts), so that no CLI call loads zod. Only dacd's settings use zod at run time.
 */
import { z } from 'zod';
import {
  BYTES,
  DEVICE_NAME,
  HOST_NAME,
  POOL_NAME,
  POSITIVE_BYTES,
  TOKEN,
  schemaVersionMessage,
  type Pattern,
} from './record-patterns';

/** The record format this version reads and writes. */
export const SCHEMA_VERSION = 1;

const schemaVersion = z.literal(SCHEMA_VERSION, {
  error: (issue) => schemaVersionMessage(issue.input, SCHEMA_VERSION),
});

// Every check carries its own message: the generated zod-free codecs (record-codecs.ts) give
// the same one, and refuse to be generated from a check without one.
const string = () => z.string({ error: 'must be a string' });

const matching = (pattern: Pattern) => string().regex(pattern.regex, pattern.message);

/** Free text of at most `max` characters (code points, as zod counts them). */
const textOf = (max: number) => string().max(max, { error: `must be at most ${max} characters` });

/** Text of 1 to `max` characters. */
const nonEmpty = (max?: number) => {
  const text = string().min(1, { error: 'must not be empty' });
  return max === undefined ? text : text.max(max, { error: `must be at most ${max} characters` });
};

function integer(minimum: 0 | 1) {
  const error = minimum === 1 ? 'must be a positive integer' : 'must be a non-negative integer';
  return z.number({ error }).int({ error }).min(minimum, { error });
}

const object = <Shape extends z.ZodRawShape>(shape: Shape) =>
  z.object(shape, { error: 'must be an object' });

const listOf = <Item extends z.ZodType>(item: Item) => z.array(item, { error: 'must be an array' });

const oneOf = <const Values extends readonly [string, ...string[]]>(values: Values) =>
  z.enum(values, { error: `must be one of ${values.map((v) => `"${v}"`).join(', ')}` });

const flag = z.boolean({ error: 'must be a boolean' });

/** A decimal string in JSON that `pattern` admits, a bigint in code. */
const byteCount = (pattern: Pattern) =>
  z.codec(matching(pattern), z.bigint(), {
    decode: (text) => BigInt(text),
    encode: (value) => value.toString(),
  });

/** Byte counts: a decimal string in JSON, a bigint in code. */
export const Bytes = byteCount(BYTES);
/** A byte count above zero (a granularity). */
export const PositiveBytes = byteCount(POSITIVE_BYTES);

/** Host names, device names and pool names: safe in etcd keys and in Slurm's JSON. */
export const HostName = matching(HOST_NAME);
export const PoolName = matching(POOL_NAME);
export const DeviceName = matching(DEVICE_NAME);
/** A session token: a Slurm job id, or a persistent buffer's name. */
export const Token = matching(TOKEN);

const Epoch = integer(0);
const Count = integer(0);
const Id = integer(1);

export const PoolRecord = object({
  schemaVersion,
  name: PoolName,
  /** Bytes per granule; every brick of the pool holds exactly one granule. */
  granularityBytes: PositiveBytes,
});
export type PoolRecord = z.output<typeof PoolRecord>;

/** What `pools` and `job_process` read of a pool (their codec reads only these fields). */
export const SlurmPool = PoolRecord.pick({
  schemaVersion: true,
  name: true,
  granularityBytes: true,
});
export type SlurmPool = z.output<typeof SlurmPool>;

export const Brick = object({
  device: DeviceName,
  capacityBytes: Bytes,
  pool: PoolName,
});
export type Brick = z.output<typeof Brick>;

export const HostRecord = object({
  schemaVersion,
  name: HostName,
  /** False when an operator drained the host: it gets no new allocations. */
  enabled: flag,
  drainReason: textOf(500).optional(),
  /** Who drained it (`dacctl hosts drain`), and when (epoch seconds); absent in older records. */
  drainedBy: textOf(200).optional(),
  drainedAt: Epoch.optional(),
  bricks: listOf(Brick),
  updatedAt: Epoch,
});
export type HostRecord = z.output<typeof HostRecord>;

/** Bricks of one pool on one host, and how many of them are allocated. */
export const PoolUsage = object({
  bricks: Count,
  allocated: Count,
});
export type PoolUsage = z.output<typeof PoolUsage>;

/**
 * A host's bricks and allocations per pool, and whether it is enabled: all that `pools` and
 * `job_process` need of a host, in a few dozen bytes instead of the host record and one key per
 * allocated brick. The registry writes it in the same transactions as the host record and the
 * allocations, so it always agrees with them.
 */
export const HostUsageRecord = object({
  schemaVersion,
  host: HostName,
  enabled: flag,
  pools: z.record(PoolName, PoolUsage, { error: 'must be an object' }),
});
export type HostUsageRecord = z.output<typeof HostUsageRecord>;

/** Written by dacd on its lease: present while the host is alive. */
export const AliveRecord = object({
  schemaVersion,
  host: HostName,
  since: Epoch,
  pid: Id.optional(),
  /** The machine the daemon runs on (`os.hostname()`); absent in records of older versions. */
  machine: nonEmpty(255).optional(),
});
export type AliveRecord = z.output<typeof AliveRecord>;

/** Marks a brick as taken by a session. Its absence means the brick is free. */
export const AllocationRecord = object({
  schemaVersion,
  sessionId: Id,
  token: Token,
  /** Position in the session's volume; 0 is the primary brick. */
  index: Count,
  /**
   * Set when the session was torn down by force (`dacctl sessions teardown --force`): the
   * session is gone, and the brick stays allocated until the host's dacd has wiped it and
   * deleted this record. Who did it, why and when (epoch seconds); absent in older records.
   */
  wipe: object({ by: textOf(200), reason: nonEmpty(500), at: Epoch }).optional(),
});
export type AllocationRecord = z.output<typeof AllocationRecord>;

export const BrickRef = object({ host: HostName, device: DeviceName });
export type BrickRef = z.output<typeof BrickRef>;

/** The steps of a session's life, in the order Slurm drives them. */
export const Phase = oneOf(['Setup', 'DataIn', 'PreRun', 'PostRun', 'DataOut', 'Teardown']);
export type Phase = z.output<typeof Phase>;

export const PhaseStatus = oneOf(['InProgress', 'Completed', 'Error']);
export type PhaseStatus = z.output<typeof PhaseStatus>;

export const StageRequest = object({
  source: nonEmpty(),
  destination: nonEmpty(),
  type: oneOf(['file', 'directory', 'list']),
});
export type StageRequest = z.output<typeof StageRequest>;

export const AccessMode = oneOf(['striped', 'private', 'striped,private']);
export type AccessMode = z.output<typeof AccessMode>;

export const SessionRecord = object({
  schemaVersion,
  /** Integer id shown to Slurm (it ignores string ids); unique across the system. */
  id: Id,
  token: Token,
  kind: oneOf(['job', 'persistent']),
  owner: object({ uid: Count, gid: Count }),
  /** Epoch seconds. */
  createdAt: Epoch,
  pool: PoolName,
  requestedBytes: Bytes,
  /** The pool's granularity when the bricks were chosen. */
  granularityBytes: Bytes,
  accessMode: AccessMode,
  type: oneOf(['scratch', 'cache']),
  stageIn: listOf(StageRequest),
  stageOut: listOf(StageRequest),
  /** Names of persistent buffers this job uses. */
  persistentAttachments: listOf(Token),
  /** Allocated bricks, primary first. Empty for a zero-capacity session. */
  bricks: listOf(BrickRef),
  /**
   * The storage host whose dacd carries out this session's steps: the primary brick's host, or
   * for a session without bricks the primary host of its first persistent buffer; null when no
   * daemon has anything to do (the CLI then completes each step itself).
   */
  reconciler: HostName.nullable(),
  /** Slurm node names the buffer is mounted on (from pre_run). */
  computeHosts: listOf(HostName),
  /** What the CLI wants. */
  desired: Phase,
  /** What dacd last reported. */
  observed: object({
    phase: Phase,
    status: PhaseStatus,
    message: string().optional(),
    updatedAt: Epoch,
  }).nullable(),
  /** Milliseconds since the epoch at which each phase started and finished. */
  timings: z.partialRecord(
    Phase,
    object({ startedAt: Epoch.optional(), finishedAt: Epoch.optional() }),
    {
      // The other issue of a record of an enum is a key outside it (zod's unrecognized_keys).
      error: (issue) =>
        issue.code === 'invalid_type' ? 'must be an object' : 'has a key that is not a phase',
    },
  ),
  lastError: object({ message: string(), detail: string().optional(), at: Epoch }).nullable(),
  /** Teardown was requested with --hurry: skip stage-out. */
  hurry: flag,
  /**
   * Counts of the current or last stage-in/out, written by dacd while it copies; `done`: no
   * more counts come for it (it finished, or failed with what it had written by then). The
   * totals are what the stage copies in all, when they could be measured before it copied;
   * `startedAt` (epoch milliseconds) is when the stage started. All three are absent in
   * records of older versions.
   */
  transfer: object({
    phase: oneOf(['DataIn', 'DataOut']),
    bytes: Bytes,
    files: Count,
    totalBytes: Bytes.optional(),
    totalFiles: Count.optional(),
    startedAt: Epoch.optional(),
    done: flag,
    updatedAt: Epoch,
  }).optional(),
});
export type SessionRecord = z.output<typeof SessionRecord>;

/** What the read-only Slurm calls read of a session (their codec reads only these fields). */
export const SlurmSession = SessionRecord.pick({
  schemaVersion: true,
  id: true,
  token: true,
  kind: true,
  owner: true,
  createdAt: true,
  granularityBytes: true,
  accessMode: true,
  persistentAttachments: true,
  bricks: true,
  computeHosts: true,
});
export type SlurmSession = z.output<typeof SlurmSession>;

/**
 * One entry of the history `dacctl events` shows (event-log.ts): a change of a session's
 * state, a drain, an error, an operator's action. Kept for a bounded time, then deleted.
 */
export const EventRecord = object({
  schemaVersion,
  /** Milliseconds since the epoch. */
  at: Epoch,
  kind: oneOf([
    'session-created',
    'session-step',
    'session-state',
    'session-released',
    /** Torn down by an operator (`dacctl sessions teardown --force`); before, `session-released`. */
    'session-forced-teardown',
    'host-drained',
    'host-undrained',
    'host-removed',
    'pool-removed',
    'bricks-released',
  ]),
  /** The session it is about, and its owner's uid (a user sees only events of their own). */
  token: Token.optional(),
  uid: Count.optional(),
  host: HostName.optional(),
  /** Who did it, when an operator or a daemon did (`alice`, `dacd on dac1`). */
  by: textOf(200).optional(),
  message: textOf(2000),
});
export type EventRecord = z.output<typeof EventRecord>;

/**
 * What `show_sessions` and `show_instances` report of a session, in about 100 bytes instead of
 * the whole record (see `session-summary.ts`). Stored in a `SummaryBucketRecord`.
 */
export const SessionSummary = object({
  id: Id,
  token: Token,
  /** The owner's uid. */
  uid: Count,
  createdAt: Epoch,
  /** Bytes allocated: whole bricks, each one granule. */
  bytes: Bytes,
  /** Compute hosts the buffer is mounted on. */
  nodes: Count,
});
export type SessionSummary = z.output<typeof SessionSummary>;

/**
 * The summaries of the sessions whose tokens fall in one bucket (`summaryBucketOf`), sorted
 * by token: written by the registry in the same transaction as every write of a session that
 * changes its summary, guarded by the bucket's revision. A few dozen buckets instead of a key
 * per session: etcd answers `show_sessions` three times as fast, and there is less to decode.
 */
export const SummaryBucketRecord = object({
  schemaVersion,
  summaries: listOf(SessionSummary),
});
export type SummaryBucketRecord = z.output<typeof SummaryBucketRecord>;
