/**
 * `setup`: allocate a job's buffer and record what the job asked for, then wait until its
 * filesystem exists. Works for zero-capacity jobs (only `persistentdw`, or no `#DW` at all),
 * also when the pool is full.
 */
import { ConflictError, NotFoundError, ValidationError } from '../errors/errors';
import { formatBytes } from '../units/bytes';
import type { Directive } from '../directives';
import type { SessionRecord, StageRequest } from '../registry/model';
import type { Registry } from '../registry/registry';
import { waitForPhase, type WaitOptions } from './wait-for-phase';

export interface JobSetupRequest {
  token: string;
  owner: { uid: number; gid: number };
  pool: string;
  /** Already rounded by Slurm; 0 for no job buffer. */
  capacityBytes: bigint;
  /** The job script's directives (already validated). */
  directives: Directive[];
  /** Slurm node names, when Slurm already chose them. */
  computeHosts?: string[];
}

/** Set up a job's session; idempotent per token. */
export async function setupJob(
  registry: Registry,
  request: JobSetupRequest,
  options: WaitOptions,
): Promise<SessionRecord> {
  const jobdw = request.directives.find((d) => d.kind === 'jobdw');
  const stage = (kind: 'stage_in' | 'stage_out'): StageRequest[] =>
    request.directives.flatMap((d) =>
      d.kind === kind ? [{ source: d.source, destination: d.destination, type: d.type }] : [],
    );
  const attachments = request.directives.flatMap((d) =>
    d.kind === 'persistentdw' ? [{ name: d.name, line: d.line }] : [],
  );

  let reconciler: string | null = null;
  for (const { name, line } of attachments) {
    const buffer = await registry.getSession(name);
    if (!buffer || buffer.record.kind !== 'persistent') {
      throw new NotFoundError(
        `persistent buffer ${name} (line ${line}) does not exist; create it with #BB create_persistent first`,
      );
    }
    reconciler ??= buffer.record.reconciler;
  }
  if (request.capacityBytes === 0n && stage('stage_in').length + stage('stage_out').length > 0) {
    const onlyPersistent = request.directives.every(
      (d) => (d.kind !== 'stage_in' && d.kind !== 'stage_out') || d.buffer.kind === 'persistent',
    );
    if (!onlyPersistent) {
      throw new ValidationError(
        'the job stages data into $DW_JOB_STRIPED but has no #DW jobdw buffer',
      );
    }
  }

  const created = await registry.createSession({
    token: request.token,
    kind: 'job',
    owner: request.owner,
    pool: request.pool,
    requestedBytes: request.capacityBytes,
    ...(jobdw ? { accessMode: jobdw.accessMode, type: jobdw.type } : {}),
    stageIn: stage('stage_in'),
    stageOut: stage('stage_out'),
    persistentAttachments: attachments.map((a) => a.name),
    reconciler,
    ...(request.computeHosts ? { computeHosts: request.computeHosts } : {}),
  });
  if (!created.created) refuseDifferentRepeat(created.session, request);
  // The wait starts where the creation's transaction left it: nothing is read again.
  return waitForPhase(registry, request.token, 'Setup', options, created);
}

/**
 * A repeated setup (Slurm retries one that failed) is answered by the session that exists. One
 * that asks for another owner, pool or size would silently get what it did not ask for: refuse.
 */
function refuseDifferentRepeat(session: SessionRecord, request: JobSetupRequest): void {
  const existing = describe(session.owner, session.requestedBytes, session.pool);
  const asked = describe(request.owner, request.capacityBytes, request.pool);
  if (existing !== asked) {
    throw new ConflictError(
      `session ${session.token} exists already (${existing}); this setup asks for ${asked}: ` +
        'tear the session down first',
    );
  }
}

function describe(owner: { uid: number; gid: number }, bytes: bigint, pool: string): string {
  return `uid ${owner.uid} gid ${owner.gid}, ${formatBytes(bytes)} in pool ${pool}`;
}
