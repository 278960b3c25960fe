/**
 * scripts/gen-record-decoders.js writes src/registry/record-codecs.ts from the zod schemas of
 * model.ts. The committed file must be what it writes from today's schemas; it must refuse a
 * schema it cannot check exactly; and what it writes must agree with zod on any record: the
 * same records accepted with the same values, a refused one named by the same fields with the
 * same messages, and a record written as zod writes it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { z } from 'zod';
import { RecordError, ValidationError } from '../../../src/errors/errors';
import * as model from '../../../src/registry/model';
import * as generated from '../../../src/registry/record-codecs';
import { encodeRecord } from '../../../src/registry/record-codec';
import { schemaVersionMessage } from '../../../src/registry/record-patterns';
import type { RecordCodec, ValueSchema } from '../../../src/registry/record-reading';
import { sessionRecord } from '../../support/session-record';
import { zodEncodeRecord, zodProblems } from '../../support/zod-records';

interface Generator {
  CODECS: { schema: string }[];
  SCHEMAS: { schema: string }[];
  OUTPUT: string;
  generate(models: object, message: typeof schemaVersionMessage): string;
}
const SCRIPT = join(__dirname, '..', '..', '..', 'scripts', 'gen-record-decoders.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const generator = require(SCRIPT) as Generator;

/** Run the generator's check (on dist/, which jest's global set-up built from src/). */
function check(...args: string[]): { status: number; stderr: string } {
  const run = spawnSync(process.execPath, [SCRIPT, '--check', ...args], { encoding: 'utf8' });
  return { status: run.status ?? -1, stderr: run.stderr };
}

it('the committed decoders are what the generator writes from model.ts', () => {
  // On failure: run `npm run gen:records` and commit the result.
  expect(check()).toEqual({ status: 0, stderr: '' });
});

it('its check fails on a stale file, and says what to run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gen-records-'));
  try {
    const stale = join(dir, 'record-codecs.ts');
    writeFileSync(stale, readFileSync(generator.OUTPUT, 'utf8').replace("'must be", "'should be"));
    expect(check(stale)).toEqual({
      status: 1,
      stderr: `${stale} is not what the schemas of model.ts give: run npm run gen:records\n`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('refuses what it cannot check exactly, naming the field', () => {
  const version = model.PoolRecord.shape.schemaVersion;
  const withPool = (shape: z.ZodRawShape) => ({
    ...model,
    SlurmPool: z.object({ schemaVersion: version, ...shape }, { error: 'must be an object' }),
  });
  it.each<[string, z.ZodRawShape, RegExp]>([
    ['a check without its message', { n: z.number().int().min(0) }, /SlurmPool\.n.*own message/],
    [
      'a refinement',
      { name: model.PoolName.refine((s) => s !== 'x', 'no x') },
      /SlurmPool\.name: a string is generated only with exactly one regex check/,
    ],
    [
      'an optional list item',
      { d: z.array(model.PoolName.optional(), { error: 'must be an array' }) },
      /SlurmPool\.d\.item: no decoder .* optional/,
    ],
    [
      'a length check without its message',
      { d: z.string({ error: 'must be a string' }).max(5) },
      /SlurmPool\.d.*own message/,
    ],
    [
      'a record of an enum that needs every key',
      { d: z.record(model.Phase, model.PoolName, { error: 'must be an object' }) },
      /SlurmPool\.d: a record of an enum is generated only partial/,
    ],
    [
      'a codec with a check on the bigint',
      { b: model.Bytes.refine((b) => b > 1n, 'big') },
      /SlurmPool\.b: a codec is generated only/,
    ],
  ])('%s', (_what, shape, message) => {
    expect(() => generator.generate(withPool(shape), schemaVersionMessage)).toThrow(message);
  });

  it('a record without schemaVersion', () => {
    const models = { ...model, SlurmPool: z.object({ name: model.PoolName }) };
    expect(() => generator.generate(models, schemaVersionMessage)).toThrow(
      /SlurmPool: a record needs schemaVersion/,
    );
  });
});

/** `value` as zod stores it, parsed. */
const stored = <S extends z.ZodType>(schema: S, value: z.output<S>) =>
  JSON.parse(zodEncodeRecord(schema, value)) as unknown;

const fullSession = () =>
  stored(
    model.SessionRecord,
    sessionRecord({
      kind: 'persistent',
      token: 'scratch1',
      accessMode: 'striped,private',
      persistentAttachments: ['shared'],
      bricks: [
        { host: 'storage1', device: 'nvme0n1' },
        { host: 'storage2', device: 'nvme1n1' },
      ],
      computeHosts: ['node1'],
      stageIn: [{ source: '/in', destination: '$DW_JOB_STRIPED/in', type: 'directory' }],
      stageOut: [{ source: '$DW_JOB_STRIPED/out', destination: '/out', type: 'file' }],
      observed: { phase: 'DataIn', status: 'InProgress', message: 'copying', updatedAt: 9 },
      timings: { Setup: { startedAt: 1, finishedAt: 2 }, DataIn: { startedAt: 3 } },
      lastError: { message: 'failed', detail: 'why', at: 4 },
      transfer: {
        phase: 'DataIn',
        bytes: 2n ** 60n,
        files: 3,
        totalBytes: 2n ** 61n,
        totalFiles: 9,
        startedAt: 5,
        done: false,
        updatedAt: 6,
      },
      granularityBytes: 2n ** 60n,
    }),
  );
const pool = () => ({ schemaVersion: 1, name: 'default', granularityBytes: '1048576' });
const summary = () => ({ id: 1, token: '17', uid: 1000, createdAt: 5, bytes: '1024', nodes: 2 });

/** Valid stored records of each codec's schema, as JSON: the mutations start from these. */
const VALID: Record<string, (() => unknown)[]> = {
  PoolRecord: [pool],
  HostRecord: [
    () => ({
      schemaVersion: 1,
      name: 'dac1',
      enabled: false,
      drainReason: 'disk replacement',
      drainedBy: 'alice',
      drainedAt: 5,
      bricks: [
        { device: 'nvme0n1', capacityBytes: '1099511627776', pool: 'default' },
        { device: 'nvme1n1', capacityBytes: '0', pool: 'fast' },
      ],
      updatedAt: 7,
    }),
  ],
  HostUsageRecord: [
    () => ({
      schemaVersion: 1,
      host: 'storage1',
      enabled: true,
      pools: { default: { bricks: 4, allocated: 1 }, fast: { bricks: 2, allocated: 0 } },
    }),
  ],
  AliveRecord: [() => ({ schemaVersion: 1, host: 'dac1', since: 5, pid: 4242, machine: 'dac1.x' })],
  AllocationRecord: [
    () => ({
      schemaVersion: 1,
      sessionId: 7,
      token: '4242',
      index: 1,
      wipe: { by: 'root', reason: 'stuck', at: 5 },
    }),
  ],
  SessionRecord: [fullSession, () => stored(model.SessionRecord, sessionRecord())],
  EventRecord: [
    () => ({
      schemaVersion: 1,
      at: 5,
      kind: 'host-drained',
      token: '17',
      uid: 1000,
      host: 'dac1',
      by: 'alice',
      message: 'drained: disk',
    }),
  ],
  SummaryBucketRecord: [
    () => ({
      schemaVersion: 1,
      summaries: [
        summary(),
        { id: 2, token: 'scratch', uid: 0, createdAt: 6, bytes: '0', nodes: 0 },
      ],
    }),
  ],
  SlurmSession: [fullSession],
  SlurmPool: [pool],
  SessionSummary: [summary],
};

type Path = (string | number)[];

/** Every path to a value inside `json`, for mutation. */
function pathsOf(json: unknown, at: Path = []): Path[] {
  if (typeof json !== 'object' || json === null) return [at];
  const entries = Array.isArray(json) ? json.map((v, i) => [i, v] as const) : Object.entries(json);
  return [at, ...entries.flatMap(([k, v]) => pathsOf(v, [...at, k]))];
}

/** `json` with the value at `path` replaced (deleted if undefined; or, for `rename`, its key renamed). */
function mutate(json: unknown, path: Path, value: unknown, rename?: string): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(json) as Record<string | number, unknown>;
  let parent = copy;
  for (const step of path.slice(0, -1)) {
    if (typeof parent !== 'object' || parent === null) break;
    parent = parent[step] as typeof parent;
  }
  // An earlier mutation replaced what this one would change: it changes nothing.
  if (typeof parent !== 'object' || parent === null) return json;
  const last = path[path.length - 1]!;
  if (rename !== undefined && !Array.isArray(parent)) {
    const kept = parent[last];
    delete parent[last];
    parent[rename] = kept;
  } else if (value === undefined) {
    delete parent[last];
  } else {
    parent[last] = value;
  }
  return copy;
}

/** Values at the edges of the checks, each tried at every field of the valid records. */
const EDGES: unknown[] = [
  undefined,
  null,
  ...['', '0', '-1', '1.5', 'nvme0n1', 'a b', '$(x)', 'job', 'striped', 'Setup', '__proto__'],
  ...[0, 1, -1, 1.5, -0.5, 2 ** 53, -(2 ** 53), 1e21, true],
  // Around the length limits, counted in code points as zod counts them; and lengths that
  // are not strings, which zod's length checks look at too.
  ...[200, 201, 255, 256, 500, 501, 2000, 2001].map((n) => 'x'.repeat(n)),
  ...[
    '😀'.repeat(150),
    '😀'.repeat(300),
    '😀'.repeat(501),
    '😀'.repeat(1500),
    '\ud83d'.repeat(300),
  ],
  ...[[], ['x'], {}, { length: 3 }, { length: 'x' }, { length: 600 }],
];

const junk = fc.oneof(fc.constantFrom(...EDGES), fc.jsonValue({ maxDepth: 2 }));

/** What decoding gives: the value, or the RecordError's message. */
function outcome(decode: () => unknown): { data: unknown } | { message: string } {
  try {
    return { data: decode() };
  } catch (error) {
    if (!(error instanceof RecordError)) throw error;
    return { message: error.message };
  }
}

const KEY = '/t/record';
const codecs = generated as unknown as Record<string, RecordCodec<unknown>>;
const schemas = generated as unknown as Record<string, ValueSchema<unknown>>;
const zodSchemas = model as unknown as Record<string, z.ZodType>;

/** The decoder of a codec, or of a value schema (its problems as a record's). */
function decoderOf(name: string, isCodec: boolean): (key: string, text: string) => unknown {
  if (isCodec) return codecs[name]!.decode;
  return (key, text) => {
    const result = schemas[name]!.safeParse(JSON.parse(text));
    if (!result.success) throw new RecordError(key, result.error);
    return result.data;
  };
}

it('has valid records for every codec and schema it generates', () => {
  const names = [...generator.CODECS, ...generator.SCHEMAS].map((spec) => spec.schema);
  expect(Object.keys(VALID).sort()).toEqual(names.sort());
});

describe.each([
  ...generator.CODECS.map(({ schema }) => ({ schema, isCodec: true })),
  ...generator.SCHEMAS.map(({ schema }) => ({ schema, isCodec: false })),
])('$schema agrees with zod on any record', ({ schema, isCodec }) => {
  const decode = decoderOf(schema, isCodec);
  const zodSchema = zodSchemas[schema]!;

  /** Our verdict on `json` is zod's: the same value, or the same problems. */
  function agrees(json: unknown): void {
    const text = JSON.stringify(json);
    // zod reads what is stored: the JSON text, without the keys whose value is undefined.
    const theirs = zodSchema.safeDecode(JSON.parse(text));
    const ours = outcome(() => decode(KEY, text));
    if (!theirs.success) {
      const problems = zodProblems(theirs.error.issues).slice(0, 3).join('; ');
      expect(ours).toEqual({ message: `etcd record ${KEY} is invalid: ${problems}` });
      return;
    }
    // Strictly: an optional field that is absent is absent, not undefined.
    expect(ours).toStrictEqual({ data: theirs.data });
    if (!isCodec) return;
    // Written as zod writes it, and read back as it was.
    const written = codecs[schema]!.encode(theirs.data);
    expect(written).toBe(zodEncodeRecord(zodSchema, theirs.data));
    expect(decode(KEY, written)).toStrictEqual(theirs.data);
  }
  const valids = VALID[schema]!.map((make) => make());

  it('on each edge value at each field of a valid record', () => {
    for (const valid of valids) {
      agrees(valid);
      for (const path of pathsOf(valid).filter((p) => p.length > 0)) {
        for (const value of EDGES) agrees(mutate(valid, path, value));
      }
    }
  });

  it('on random mutations of valid records: verdict, value, fields and messages', () => {
    const mutation = (json: unknown) =>
      fc.tuple(
        fc.constantFrom(...pathsOf(json)),
        junk,
        fc.option(fc.string({ maxLength: 4 }), { nil: undefined }),
      );
    const cases = fc.integer({ min: 0, max: valids.length - 1 }).chain((i) =>
      fc.tuple(
        fc.constant(valids[i]),
        // Up to three at once, so that a refused record can have several problems.
        fc.array(mutation(valids[i]), { minLength: 0, maxLength: 3 }),
      ),
    );
    fc.assert(
      fc.property(cases, ([valid, mutations]) => {
        fc.pre(mutations.every(([path, value]) => path.length > 0 || value !== undefined));
        agrees(
          mutations.reduce((j, [path, value, rename]) => mutate(j, path, value, rename), valid),
        );
      }),
      { numRuns: 1000, seed: 15 },
    );
  });
});

describe('encode', () => {
  const host = () => generated.HostRecord.decode(KEY, JSON.stringify(VALID.HostRecord![0]!()));

  it('refuses a record that others could not read, naming the record and the field', () => {
    const long = { ...host(), drainReason: 'x'.repeat(501) };
    const refusal = 'not writing a HostRecord: drainReason: must be at most 500 characters';
    expect(() => encodeRecord(generated.HostRecord, long)).toThrow(new ValidationError(refusal));
    expect(() => encodeRecord(generated.HostRecord, long)).toThrow(ValidationError);
    // As zod's encode refused it.
    expect(() => zodEncodeRecord(model.HostRecord, long)).toThrow();
  });

  it('leaves out the fields the schema does not know, and an absent optional field', () => {
    const { drainReason: _, ...rest } = host();
    const written = encodeRecord(generated.HostRecord, { ...rest, extra: 1 } as typeof rest);
    expect(JSON.parse(written)).not.toHaveProperty('extra');
    expect(JSON.parse(written)).not.toHaveProperty('drainReason');
    expect(written).toBe(zodEncodeRecord(model.HostRecord, rest));
    expect('drainReason' in generated.HostRecord.decode(KEY, written)).toBe(false);
  });

  it('writes byte counts as decimal strings', () => {
    const written = JSON.parse(
      encodeRecord(generated.PoolRecord, {
        schemaVersion: 1,
        name: 'big',
        granularityBytes: 2n ** 70n,
      }),
    ) as { granularityBytes: unknown };
    expect(written.granularityBytes).toBe('1180591620717411303424');
  });
});
