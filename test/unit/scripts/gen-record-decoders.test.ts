/**
 * scripts/gen-record-decoders.js writes src/registry/slurm-records.ts from the zod schemas of
 * model.ts. The committed file must be what it writes from today's schemas; it must refuse a
 * schema it cannot check exactly; and what it writes must agree with zod on any record: the
 * same records accepted with the same values, and a refused one named by the same field with
 * the same message.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { z } from 'zod';
import { RecordError } from '../../../src/errors/errors';
import * as model from '../../../src/registry/model';
import { encodeRecord } from '../../../src/registry/record-codec';
import { schemaVersionMessage } from '../../../src/registry/record-patterns';
import * as generated from '../../../src/registry/slurm-records';
import { sessionRecord } from '../../support/session-record';

interface Generator {
  DECODERS: { name: string; schema: string }[];
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
    const stale = join(dir, 'slurm-records.ts');
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
    ['an optional field', { d: model.PoolName.optional() }, /SlurmPool\.d: no decoder .* optional/],
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

/** Valid stored records of each generated decoder's schema. */
const storedSession = () =>
  JSON.parse(
    encodeRecord(
      model.SessionRecord,
      sessionRecord({
        persistentAttachments: ['shared'],
        bricks: [
          { host: 'storage1', device: 'nvme0n1' },
          { host: 'storage2', device: 'nvme1n1' },
        ],
        computeHosts: ['node1'],
      }),
    ),
  ) as unknown;
const VALID: Record<string, () => unknown> = {
  SlurmSession: storedSession,
  SlurmPool: () => ({ schemaVersion: 1, name: 'default', granularityBytes: '1048576' }),
  HostUsageRecord: () => ({
    schemaVersion: 1,
    host: 'storage1',
    enabled: true,
    pools: { default: { bricks: 4, allocated: 1 }, fast: { bricks: 2, allocated: 0 } },
  }),
  SummaryBucketRecord: () => ({
    schemaVersion: 1,
    summaries: [
      { id: 1, token: '17', uid: 1000, createdAt: 5, bytes: '1024', nodes: 2 },
      { id: 2, token: 'scratch', uid: 0, createdAt: 6, bytes: '0', nodes: 0 },
    ],
  }),
};

/** Every path to a value inside `json`, and every object key's position, for mutation. */
function pathsOf(json: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof json !== 'object' || json === null) return [at];
  const entries = Array.isArray(json) ? json.map((v, i) => [i, v] as const) : Object.entries(json);
  return [at, ...entries.flatMap(([k, v]) => pathsOf(v, [...at, k]))];
}

/** `json` with the value at `path` replaced (or, for `rename`, its key renamed). */
function mutate(
  json: unknown,
  path: (string | number)[],
  value: unknown,
  rename?: string,
): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(json) as Record<string | number, unknown>;
  let parent = copy;
  for (const step of path.slice(0, -1)) parent = parent[step] as typeof parent;
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

const junk = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('', '0', '-1', '1.5', 'nvme0n1', 'a b', '$(x)', 'job', 'striped'),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(1.5, -0.5, 2 ** 53, 1e21),
);

describe.each(generator.DECODERS)('$name agrees with zod on any record', ({ name, schema }) => {
  const decode = (generated as unknown as Record<string, (k: string, v: string) => unknown>)[name]!;
  const zodSchema = (model as unknown as Record<string, z.ZodType>)[schema]!;
  const KEY = '/t/record';

  it('on mutations of a valid record', () => {
    const valid = VALID[schema]!();
    const paths = pathsOf(valid);
    fc.assert(
      fc.property(
        fc.constantFrom(...paths),
        junk,
        fc.option(fc.string({ maxLength: 4 }), { nil: undefined }),
        (path, value, rename) => {
          fc.pre(path.length > 0 || value !== undefined);
          const json = mutate(valid, path, value, rename);
          const text = JSON.stringify(json) ?? 'undefined';
          const theirs = zodSchema.safeDecode(json);
          let ours: unknown;
          try {
            ours = { data: decode(KEY, text) };
          } catch (error) {
            if (!(error instanceof RecordError)) throw error;
            ours = { message: error.message };
          }
          if (theirs.success) {
            expect(ours).toEqual({ data: theirs.data });
            return;
          }
          // zod may list several problems; ours is one of them: same field, same words.
          const said = theirs.error.issues.flatMap((issue) => {
            const field = issue.path.length ? issue.path.join('.') : '(record)';
            const inner = issue.code === 'invalid_key' ? issue.issues : [issue];
            return inner.map((i) => `etcd record ${KEY} is invalid: ${field}: ${i.message}`);
          });
          expect(said).toContain((ours as { message: string }).message);
        },
      ),
      { numRuns: 2000, seed: 15 },
    );
  });
});
