/**
 * Property-based fuzzing of the directive and size parsers (issue 14), 10^4 cases per
 * property. A failure prints fast-check's seed and path; replay it with
 * `FUZZ_SEED=<seed> npx jest test/unit/directives/fuzz.test.ts`. bench/fuzz.ts runs the same
 * properties with 10^6 cases.
 */
import {
  formatIssues,
  parseJobScript,
  parseSize,
  type DirectiveIssue,
  type SizeResult,
} from '../../../src/directives';
import { directiveProperties, fuzzSeed } from '../../support/directive-fuzz/properties';
import { REAL_PARSERS, type DirectiveParsers } from '../../support/directive-fuzz/parsers';

const seed = fuzzSeed();

describe('the directive parsers under fuzzing', () => {
  it.each(directiveProperties().map((property) => [property.name, property] as const))(
    '%s',
    (_name, property) => {
      const outcome = property.check({ numRuns: property.runs, seed });
      if (outcome.failed) throw new Error(outcome.report);
    },
  );
});

const late = (issues: DirectiveIssue[]): DirectiveIssue[] =>
  issues.map((issue) => ({ ...issue, line: issue.line + 1 }));
const hint = (result: SizeResult): SizeResult =>
  result.ok ? result : { ...result, message: result.message.replace(/iB$/, 'B') };

/** For each property, a parser with a bug it must catch. */
const broken: Record<string, [string, Partial<DirectiveParsers>]> = {
  'any-text': [
    'issues one line late',
    {
      parseJobScript: (script) => {
        const result = parseJobScript(script);
        return { ...result, issues: late(result.issues) };
      },
    },
  ],
  'corrupted-scripts': [
    'a missing option not reported',
    {
      parseJobScript: (script) => {
        const result = parseJobScript(script);
        return { ...result, issues: result.issues.filter((i) => i.code !== 'missing_option') };
      },
    },
  ],
  'round-trip': [
    '\\ continuations not joined',
    { parseJobScript: (script) => parseJobScript(script.replace(/\\\n/g, '\n')) },
  ],
  'size-reference': [
    'units lower-cased with Unicode case folding',
    { parseSize: (text, options) => parseSize(text.toLowerCase(), options) },
  ],
  'size-units': [
    'KB read as KiB',
    { parseSize: (text, options) => parseSize(text.replace(/b$/i, 'iB'), options) },
  ],
  'fraction-hints': [
    'replacements suggested in the decimal unit',
    { parseSize: (text, options) => hint(parseSize(text, options)) },
  ],
  'pool-rounding': [
    'capacities not rounded to granules',
    {
      parseJobScript: (script, options) => {
        const result = parseJobScript(script, options);
        const directives = result.directives.map((d) =>
          'roundedCapacityBytes' in d ? { ...d, roundedCapacityBytes: d.capacityBytes } : d,
        );
        return { ...result, directives };
      },
    },
  ],
  'format-issues': [
    'one issue more than maxIssues spelt out',
    {
      formatIssues: (issues, options) =>
        formatIssues(issues, { maxIssues: (options?.maxIssues ?? 10) + 1 }),
    },
  ],
  granularity: [
    'sizes rounded down',
    { roundToGranularity: (bytes, granularity) => (bytes / granularity) * granularity },
  ],
};

describe('each fuzzing property fails on a broken parser', () => {
  const properties = directiveProperties();

  it('has a broken parser for every property', () => {
    expect(Object.keys(broken).sort()).toEqual(properties.map((p) => p.id).sort());
  });

  it.each(properties.map((property) => [property.id, broken[property.id]?.[0], property] as const))(
    '%s catches %s',
    (id) => {
      const [, override] = broken[id] ?? ['', {}];
      const parsers = { ...REAL_PARSERS, ...override };
      const property = directiveProperties(parsers).find((p) => p.id === id);
      const outcome = property?.check({ numRuns: property.runs, seed, endOnFailure: true });
      expect(outcome?.failed).toBe(true);
    },
  );
});
