/**
 * Pool checks against a model: each capacity rounded up to its pool's granules, and one issue
 * for a pool that does not exist or cannot hold the request.
 */
import { strict as assert } from 'node:assert';
import * as fc from 'fast-check';
import type { IssueCode, PoolInfo } from '../../../src/directives';
import { checkFormattedIssue } from './parse-checks';
import type { DirectiveParsers } from './parsers';
import { scriptCase, type ScriptCase } from './scripts';

/** A script written from typed directives, with pools for some of the pool names it uses. */
interface PoolsCase extends ScriptCase {
  pools: Map<string, PoolInfo>;
  defaultPool: string | undefined;
}

const GiB = 1024n ** 3n;
const poolInfo: fc.Arbitrary<PoolInfo> = fc.record(
  {
    granularityBytes: fc.oneof(
      fc.constantFrom(0n, 1n, GiB, 1_500_000_000n, 16n * GiB),
      fc.bigInt({ min: 1n, max: 2n ** 44n }),
    ),
    totalBytes: fc.oneof(
      fc.bigInt({ min: 1n, max: 2n ** 44n }),
      fc.bigInt({ min: 1n, max: 2n ** 66n }),
    ),
    maxBufferBytes: fc.oneof(
      fc.bigInt({ min: 1n, max: 2n ** 44n }),
      fc.bigInt({ min: 1n, max: 2n ** 66n }),
    ),
  },
  { requiredKeys: ['granularityBytes'] },
);

export const poolsCase: fc.Arbitrary<PoolsCase> = scriptCase.chain((written) => {
  const named = written.directives.flatMap((d) =>
    (d.kind === 'jobdw' || d.kind === 'create_persistent') && d.pool !== undefined ? [d.pool] : [],
  );
  const names = [...new Set([...named, 'default'])];
  return fc
    .record({
      known: fc.tuple(
        ...names.map((name) =>
          fc.option(poolInfo, { freq: 5 }).map((info) => [name, info] as const),
        ),
      ),
      defaultPool: fc.option(fc.constantFrom(...names, 'missing'), { nil: undefined }),
    })
    .map(({ known, defaultPool }) => ({
      ...written,
      pools: new Map(
        known.flatMap(([name, info]) => (info === null ? [] : [[name, info] as const])),
      ),
      defaultPool,
    }));
});

/** The pools model: each capacity rounded up in its pool, or one issue saying why it cannot run. */
export function checkPools(
  parsers: DirectiveParsers,
  { script, directives, pools, defaultPool }: PoolsCase,
): void {
  const expectedIssues: Array<[number, IssueCode]> = [];
  const expected = directives.map((directive) => {
    if (directive.kind !== 'jobdw' && directive.kind !== 'create_persistent') return directive;
    const name = directive.pool ?? defaultPool;
    if (name === undefined) return directive;
    const pool = pools.get(name);
    if (pool === undefined) {
      expectedIssues.push([directive.line, 'unknown_pool']);
      return directive;
    }
    const granule = pool.granularityBytes;
    const capacity = directive.capacityBytes;
    const rounded =
      granule <= 0n || capacity % granule === 0n
        ? capacity
        : capacity - (capacity % granule) + granule;
    if (pool.totalBytes !== undefined && rounded > pool.totalBytes) {
      expectedIssues.push([directive.line, 'exceeds_pool']);
    } else if (pool.maxBufferBytes !== undefined && rounded > pool.maxBufferBytes) {
      expectedIssues.push([directive.line, 'exceeds_buffer_limit']);
    }
    return { ...directive, roundedCapacityBytes: rounded };
  });
  const result = parsers.parseJobScript(script, {
    pools,
    ...(defaultPool === undefined ? {} : { defaultPool }),
  });
  assert.deepStrictEqual(result.directives, expected);
  assert.deepStrictEqual(
    result.issues.map((issue): [number, IssueCode] => [issue.line, issue.code]),
    expectedIssues,
  );
  for (const issue of result.issues) checkFormattedIssue(parsers, issue);
}
