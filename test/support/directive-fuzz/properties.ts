/**
 * The properties of the directive parsers (issue 14), each with the cases the unit test
 * (test/unit/directives/fuzz.test.ts) runs; bench/fuzz.ts runs the same with 10^6 cases in
 * all. The parsers are passed in, so the unit test can show that every property fails on a
 * broken parser.
 */
import { strict as assert } from 'node:assert';
import * as fc from 'fast-check';
import { anyText, fuzzScript } from './corruption';
import { checkFormatIssues, checkParse, issue } from './parse-checks';
import { REAL_PARSERS, type DirectiveParsers } from './parsers';
import { checkPools, poolsCase } from './pool-checks';
import { scriptCase } from './scripts';
import {
  checkFraction,
  checkRounding,
  checkSizeCase,
  checkSizeText,
  poolLikeText,
} from './size-checks';
import { fractionCase, sizeCase, sizeLikeText } from './sizes';
import { poolName } from './values';

/** One run of a property. */
export interface FuzzRun {
  numRuns: number;
  /** Default: fast-check's own random seed. */
  seed?: number;
  /** Stop at the first counterexample without shrinking it. Default false. */
  endOnFailure?: boolean;
}

/** What a run found. */
export interface FuzzOutcome {
  failed: boolean;
  /** Cases run, including the failing one. */
  numRuns: number;
  seed: number;
  /** fast-check's report of a failure: seed, path, counterexample and error. */
  report: string | undefined;
}

/** A property of the directive parsers. */
export interface FuzzProperty {
  /** Short and stable, for tables. */
  id: string;
  /** The behaviour, as a test name. */
  name: string;
  /** Cases in the unit test. */
  runs: number;
  /** Run it; never throws, a failure is in the outcome. */
  check(run: FuzzRun): FuzzOutcome;
}

/** Cases per property in the unit test (issue 14: 10^4 in CI). */
export const UNIT_TEST_RUNS = 10_000;

function fuzzProperty<Ts>(
  id: string,
  name: string,
  property: fc.IPropertyWithHooks<Ts>,
): FuzzProperty {
  return {
    id,
    name,
    runs: UNIT_TEST_RUNS,
    check({ numRuns, seed, endOnFailure = false }) {
      const details = fc.check(property, {
        numRuns,
        endOnFailure,
        includeErrorInReport: true,
        ...(seed === undefined ? {} : { seed }),
      });
      return {
        failed: details.failed,
        numRuns: details.numRuns,
        seed: details.seed,
        report: fc.defaultReportMessage(details),
      };
    },
  };
}

/**
 * The seed from `FUZZ_SEED`, to replay a run fast-check reported; undefined when unset.
 * Throws if it is set but not an integer.
 */
export function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env.FUZZ_SEED;
  if (text === undefined || text === '') return undefined;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, not "${text}"`);
  return seed;
}

/** The properties, run against `parsers`. */
export function directiveProperties(parsers: DirectiveParsers = REAL_PARSERS): FuzzProperty[] {
  return [
    fuzzProperty(
      'any-text',
      'parseJobScript never throws on any text, and every issue names the first line of a directive',
      fc.property(anyText, (script) => checkParse(parsers, script)),
    ),
    fuzzProperty(
      'corrupted-scripts',
      'parseJobScript never throws on corrupted job scripts, names the line of every rejection and drops no directive line',
      fc.property(fuzzScript, (script) => checkParse(parsers, script)),
    ),
    fuzzProperty(
      'round-trip',
      'typed directives written out as a job script parse back to the same directives and lines',
      fc.property(scriptCase, ({ script, directives }) => {
        assert.deepStrictEqual(parsers.parseJobScript(script), { directives, issues: [] });
      }),
    ),
    fuzzProperty(
      'size-reference',
      'parseSize and the capacity arguments never throw and accept exactly the sizes of the reference grammar',
      fc.property(sizeLikeText, poolLikeText, (text, pool) => checkSizeText(parsers, text, pool)),
    ),
    fuzzProperty(
      'size-units',
      'a size written in any unit parses to its byte count, here and in the capacity arguments',
      fc.property(sizeCase, poolName, ({ text, expected }, pool) =>
        checkSizeCase(parsers, text, expected, pool),
      ),
    ),
    fuzzProperty(
      'fraction-hints',
      'a fractional size is refused with a replacement that parses to the same size',
      fc.property(fractionCase, (fraction) => checkFraction(parsers, fraction)),
    ),
    fuzzProperty(
      'pool-rounding',
      'pool checks round each capacity up to whole granules and refuse what the pool cannot hold',
      fc.property(poolsCase, (poolsScript) => checkPools(parsers, poolsScript)),
    ),
    fuzzProperty(
      'format-issues',
      'formatIssues spells out the first issues with their lines, on one line without apostrophes',
      fc.property(
        fc.array(issue, { maxLength: 15 }),
        fc.option(fc.nat(20), { nil: undefined }),
        (issues, maxIssues) => checkFormatIssues(parsers, issues, maxIssues),
      ),
    ),
    fuzzProperty(
      'granularity',
      'roundToGranularity gives the least multiple of the granularity not below the size',
      fc.property(
        fc.oneof(
          fc.bigInt({ min: 0n, max: 4n * 1024n ** 3n }),
          fc.bigInt({ min: 0n, max: 2n ** 70n }),
        ),
        fc.oneof(
          fc.bigInt({ min: -(2n ** 40n), max: 4096n }),
          fc.bigInt({ min: 1n, max: 2n ** 50n }),
        ),
        (bytes, granularity) => checkRounding(parsers, bytes, granularity),
      ),
    ),
  ];
}
