/** Records for dwstat's unit tests. */
import { SCHEMA_VERSION, type SessionRecord } from '../../../../src/registry/model';

export const GiB = 1024n ** 3n;

/** A session record with sensible defaults. */
export function session(overrides: Partial<SessionRecord>): SessionRecord {
  return {
    schemaVersion: SCHEMA_VERSION,
    id: 1,
    token: '1',
    kind: 'job',
    owner: { uid: 1001, gid: 1001 },
    createdAt: 1700000000,
    pool: 'default',
    requestedBytes: 0n,
    granularityBytes: GiB,
    accessMode: 'striped',
    type: 'scratch',
    stageIn: [],
    stageOut: [],
    persistentAttachments: [],
    bricks: [],
    reconciler: null,
    computeHosts: [],
    desired: 'Setup',
    observed: null,
    timings: {},
    lastError: null,
    hurry: false,
    ...overrides,
  };
}
