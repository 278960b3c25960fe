/**
 * The zod-free decoders of the read-only Slurm calls must accept exactly what the zod schemas
 * accept for the fields they read, give the same values, and name the same field when a
 * record is bad.
 */
import { RecordError } from '../../../src/errors/errors';
import { PoolRecord, SessionRecord } from '../../../src/registry/model';
import { SlurmPool, SlurmSession } from '../../../src/registry/record-codecs';
import {
  zodDecodeRecord as decodeRecord,
  zodEncodeRecord as encodeRecord,
} from '../../support/zod-records';

const { decode: decodeSlurmPool } = SlurmPool;
const { decode: decodeSlurmSession } = SlurmSession;
import { sessionRecord } from '../../support/session-record';

const KEY = '/t/sessions/4242';

/** The stored JSON of a full session record, changed by `edit`. */
function storedSession(edit: (json: Record<string, unknown>) => void = () => undefined): string {
  const json = JSON.parse(
    encodeRecord(
      SessionRecord,
      sessionRecord({
        kind: 'persistent',
        token: 'scratch1',
        accessMode: 'striped,private',
        persistentAttachments: ['shared'],
        bricks: [
          { host: 'storage1', device: 'nvme0n1' },
          { host: 'storage2', device: 'nvme3n1' },
        ],
        computeHosts: ['node1', 'node2'],
        granularityBytes: 2n ** 60n,
      }),
    ),
  ) as Record<string, unknown>;
  edit(json);
  return JSON.stringify(json);
}

/** The message a decoder throws, or undefined if it accepts the text. */
function problemOf(decode: () => unknown): string | undefined {
  try {
    decode();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(RecordError);
    return (error as Error).message;
  }
}

describe('decodeSlurmSession', () => {
  it('reads the same values as the zod schema', () => {
    const text = storedSession();
    const full = decodeRecord(SessionRecord, KEY, text);
    expect(decodeSlurmSession(KEY, text)).toEqual({
      schemaVersion: 1,
      id: full.id,
      token: full.token,
      kind: full.kind,
      owner: full.owner,
      createdAt: full.createdAt,
      granularityBytes: full.granularityBytes,
      accessMode: full.accessMode,
      persistentAttachments: full.persistentAttachments,
      bricks: full.bricks,
      computeHosts: full.computeHosts,
    });
    expect(decodeSlurmSession(KEY, text).granularityBytes).toBe(2n ** 60n);
  });

  const edits: [string, (json: Record<string, unknown>) => void][] = [
    ['no schemaVersion', (j) => delete j.schemaVersion],
    ['schemaVersion 2', (j) => (j.schemaVersion = 2)],
    ['id 0', (j) => (j.id = 0)],
    ['id 1.5', (j) => (j.id = 1.5)],
    ['id as a string', (j) => (j.id = '7')],
    ['no token', (j) => delete j.token],
    ['token with a slash', (j) => (j.token = 'a/b')],
    ['kind unknown', (j) => (j.kind = 'scratch')],
    ['owner missing', (j) => delete j.owner],
    ['owner.uid negative', (j) => (j.owner = { uid: -1, gid: 0 })],
    ['owner.gid missing', (j) => (j.owner = { uid: 1 })],
    ['createdAt as text', (j) => (j.createdAt = 'yesterday')],
    ['granularityBytes a number', (j) => (j.granularityBytes = 1024)],
    ['granularityBytes a fraction', (j) => (j.granularityBytes = '1.5')],
    ['accessMode ldbalance', (j) => (j.accessMode = 'ldbalance')],
    ['persistentAttachments not a list', (j) => (j.persistentAttachments = 'shared')],
    ['persistentAttachments with a bad name', (j) => (j.persistentAttachments = ['$(x)'])],
    ['bricks not a list', (j) => (j.bricks = {})],
    ['a brick without a device', (j) => (j.bricks = [{ host: 'storage1' }])],
    ['a brick with a bad host', (j) => (j.bricks = [{ host: '-x', device: 'nvme0n1' }])],
    ['a brick that is not an object', (j) => (j.bricks = ['storage1'])],
    ['computeHosts with a number', (j) => (j.computeHosts = [5])],
    ['computeHosts with a space', (j) => (j.computeHosts = ['node 1'])],
  ];

  it.each(edits)('refuses a record with %s, naming the field zod names', (_what, edit) => {
    const text = storedSession(edit);
    const zod = problemOf(() => decodeRecord(SessionRecord, KEY, text));
    const light = problemOf(() => decodeSlurmSession(KEY, text));
    expect(light).toBeDefined();
    expect(zod).toBeDefined();
    // Same key and field path; zod may list several problems, we stop at the first.
    const field = (message: string) =>
      message.replace(`etcd record ${KEY} is invalid: `, '').split(':')[0];
    expect(field(light!)).toBe(field(zod!));
    expect(light!.startsWith(`etcd record ${KEY} is invalid: `)).toBe(true);
  });

  it('gives the same message as zod for the schema version', () => {
    for (const edit of [edits[0]![1], edits[1]![1]]) {
      const text = storedSession(edit);
      expect(problemOf(() => decodeSlurmSession(KEY, text))).toBe(
        problemOf(() => decodeRecord(SessionRecord, KEY, text)),
      );
    }
  });

  it.each(['', 'not json', '[1,2]', 'null', '"text"'])('refuses %j as a record', (text) => {
    expect(problemOf(() => decodeSlurmSession(KEY, text))).toMatch(
      new RegExp(`^etcd record ${KEY} is invalid: `),
    );
    expect(problemOf(() => decodeRecord(SessionRecord, KEY, text))).toBeDefined();
  });

  it('ignores the fields it does not read, as a newer writer may add some', () => {
    const text = storedSession((j) => {
      j.stageIn = 'not checked here';
      j.extra = { added: 'later' };
    });
    expect(decodeSlurmSession(KEY, text).token).toBe('scratch1');
  });
});

describe('decodeSlurmPool', () => {
  const key = '/t/inventory/pools/default';
  it('reads name and granularity as zod does', () => {
    const text = encodeRecord(PoolRecord, {
      schemaVersion: 1,
      name: 'default',
      granularityBytes: 1099511627776n,
    });
    expect(decodeSlurmPool(key, text)).toEqual({
      schemaVersion: 1,
      name: 'default',
      granularityBytes: 1099511627776n,
    });
  });

  it.each([
    [{ schemaVersion: 1, name: 'default', granularityBytes: '0' }, 'granularityBytes'],
    [{ schemaVersion: 1, name: 'default', granularityBytes: 5 }, 'granularityBytes'],
    [{ schemaVersion: 1, name: '9lives', granularityBytes: '5' }, 'name'],
    [{ schemaVersion: 1, granularityBytes: '5' }, 'name'],
  ])('refuses %j naming %s, as zod does', (record, field) => {
    const text = JSON.stringify(record);
    expect(problemOf(() => decodeSlurmPool(key, text))).toMatch(
      new RegExp(`^etcd record ${key} is invalid: ${field}: `),
    );
    expect(problemOf(() => decodeRecord(PoolRecord, key, text))).toMatch(
      new RegExp(`^etcd record ${key} is invalid: ${field}: `),
    );
  });
});
