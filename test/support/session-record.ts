/** A complete session record for tests of pure code; pass what the test is about. */
import { SCHEMA_VERSION, type SessionRecord } from '../../src/registry/model';

export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    schemaVersion: SCHEMA_VERSION,
    id: 7,
    token: '4242',
    kind: 'job',
    owner: { uid: 1001, gid: 1002 },
    createdAt: 0,
    pool: 'default',
    requestedBytes: 1n,
    granularityBytes: 1n,
    accessMode: 'striped',
    type: 'scratch',
    stageIn: [],
    stageOut: [],
    persistentAttachments: [],
    bricks: [{ host: 'storage1', device: 'nvme0n1' }],
    reconciler: 'storage1',
    computeHosts: [],
    desired: 'Setup',
    observed: null,
    timings: {},
    lastError: null,
    hurry: false,
    ...overrides,
  };
}
