/**
 * The typed directives a job script can hold. Every directive keeps the line it came from, so
 * later stages (setup, data_in, paths) can still point the user at the right line.
 */

/** `striped` (one shared namespace), `private` (one per node), or both. */
export type AccessMode = 'striped' | 'private' | 'striped,private';

/** The only buffer type implemented. `cache` and `ldbalance` are rejected. */
export type BufferType = 'scratch';

/** What a stage directive copies: one file, a directory tree, or a list of pairs in a file. */
export type StageType = 'file' | 'directory' | 'list';

/** The buffer a stage path refers to: the job buffer, or a named persistent buffer. */
export type BufferRef = { kind: 'job' } | { kind: 'persistent'; name: string };

/** `#DW jobdw`: the job's own buffer. */
export interface JobBufferDirective {
  kind: 'jobdw';
  line: number;
  capacityBytes: bigint;
  /** Default `striped`. */
  accessMode: AccessMode;
  /** Default `scratch`. */
  type: BufferType;
  /** As written; absent means the default pool. */
  pool?: string;
  /** Capacity rounded up to the pool granularity; set only when the pool is known. */
  roundedCapacityBytes?: bigint;
}

/** `#DW persistentdw`: use an existing persistent buffer. */
export interface PersistentUseDirective {
  kind: 'persistentdw';
  line: number;
  name: string;
}

/** `#DW stage_in` / `#DW stage_out`. */
export interface StageDirective {
  kind: 'stage_in' | 'stage_out';
  line: number;
  /** As written, `$DW_...` unexpanded and `%` symbols raw. */
  source: string;
  destination: string;
  type: StageType;
  /** The buffer the buffer-side path refers to. */
  buffer: BufferRef;
}

/** `#BB create_persistent`: Slurm handles it; returned so create jobs can be inspected. */
export interface CreatePersistentDirective {
  kind: 'create_persistent';
  line: number;
  name: string;
  capacityBytes: bigint;
  /** As written (`access=` or `access_mode=`); absent means `striped`. */
  accessMode?: AccessMode;
  /** As written; absent means `scratch`. */
  type?: BufferType;
  pool?: string;
  /** Capacity rounded up to the pool granularity; set only when the pool is known. */
  roundedCapacityBytes?: bigint;
}

/** `#BB destroy_persistent`: Slurm handles it; returned for completeness. */
export interface DestroyPersistentDirective {
  kind: 'destroy_persistent';
  line: number;
  name: string;
  /** A bare `hurry` word: skip stage-out and release at once. */
  hurry: boolean;
}

/** Any directive this parser understands. */
export type Directive =
  | JobBufferDirective
  | PersistentUseDirective
  | StageDirective
  | CreatePersistentDirective
  | DestroyPersistentDirective;
