/**
 * Fuzzing benchmark of the directive parsers (issue 14): the properties the unit test
 * (test/unit/directives/fuzz.test.ts) runs with 10^4 cases each, run with 10^6 cases in all,
 * shared out in proportion to the unit test's counts. Prints, for each property, its cases,
 * time and result, and for a failure fast-check's report (seed, path, counterexample); adds
 * the table to the top of bench/RESULTS.md. Exits 1 if a property failed.
 *
 * Run with `npm run bench:fuzz`. `FUZZ_RUNS` sets the total number of cases (default
 * 1,000,000); `FUZZ_SEED` sets the seed (default: a random one, printed).
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as fc from 'fast-check';
import {
  directiveProperties,
  fuzzSeed,
  type FuzzOutcome,
  type FuzzProperty,
} from '../test/support/directive-fuzz/properties';
import { markdownTable, prependResult } from './report';

/** The repository root: this file runs as `<root>/.run/bench/bench/fuzz.js`. */
const ROOT = resolve(__dirname, '..', '..', '..');
const RESULTS = join(ROOT, 'bench', 'RESULTS.md');

/** Longest failure report kept in RESULTS.md. */
const MAX_REPORT = 3000;

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

function totalRuns(): number {
  const text = process.env.FUZZ_RUNS ?? '1000000';
  const runs = Number(text);
  if (!Number.isSafeInteger(runs) || runs < 1) {
    throw new Error(`FUZZ_RUNS must be a positive integer, not "${text}"`);
  }
  return runs;
}

/** `total` cases shared out in proportion to each property's unit-test count. */
function shareRuns(properties: readonly FuzzProperty[], total: number): number[] {
  const weight = properties.reduce((sum, property) => sum + property.runs, 0);
  const shares = properties.map((property) => Math.floor((total * property.runs) / weight));
  let left = total - shares.reduce((sum, share) => sum + share, 0);
  for (let i = 0; left > 0; i = (i + 1) % shares.length, left -= 1) shares[i]! += 1;
  return shares;
}

function thousands(value: number): string {
  return value.toLocaleString('en-US');
}

interface Measured {
  property: FuzzProperty;
  outcome: FuzzOutcome;
  seconds: number;
}

function main(): void {
  const properties = directiveProperties();
  const total = totalRuns();
  // One seed for the whole run, so that one number replays it.
  const seed = fuzzSeed() ?? Math.floor(Math.random() * 2 ** 31);
  const shares = shareRuns(properties, total);
  progress(`${thousands(total)} cases over ${properties.length} properties, seed ${seed}`);

  const started = performance.now();
  const measured: Measured[] = properties.map((property, i) => {
    const numRuns = shares[i]!;
    const begin = performance.now();
    const outcome = property.check({ numRuns, seed });
    const seconds = (performance.now() - begin) / 1000;
    progress(
      `${property.id}: ${thousands(outcome.numRuns)} cases in ${seconds.toFixed(1)} s, ` +
        (outcome.failed ? 'FAILED' : 'ok'),
    );
    if (outcome.failed) process.stderr.write(`${outcome.report ?? ''}\n`);
    return { property, outcome, seconds };
  });
  const seconds = (performance.now() - started) / 1000;
  const failures = measured.filter(({ outcome }) => outcome.failed);
  const cases = measured.reduce((sum, { outcome }) => sum + outcome.numRuns, 0);

  const table = markdownTable(
    ['property', 'cases', 'seconds', 'cases/s', 'result'],
    [
      ...measured.map(({ property, outcome, seconds: taken }) => [
        `\`${property.id}\``,
        thousands(outcome.numRuns),
        taken.toFixed(1),
        thousands(Math.round(outcome.numRuns / taken)),
        outcome.failed ? '**failed**' : 'ok',
      ]),
      [
        'all',
        thousands(cases),
        seconds.toFixed(1),
        thousands(Math.round(cases / seconds)),
        `${failures.length} failed`,
      ],
    ],
    [false, true, true, true, false],
  );
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const section = [
    `## fuzz (directive parsers), ${date}`,
    '',
    `- Machine: ${availableParallelism()} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ` +
      `${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Linux ${release()}.`,
    `- Software: node ${process.version}, fast-check ${fc.__version}, ` +
      `commit ${commit.stdout?.trim() || 'unknown'} (plus any uncommitted changes).`,
    `- ${thousands(cases)} cases (the unit test runs ${thousands(properties[0]?.runs ?? 0)} per ` +
      `property), seed ${seed}: replay with \`FUZZ_SEED=${seed} FUZZ_RUNS=${total} npm run bench:fuzz\`.`,
    '',
    table,
    ...failures.flatMap(({ property, outcome }) => [
      '',
      `\`${property.id}\` (${property.name}):`,
      '',
      '```text',
      (outcome.report ?? '').slice(0, MAX_REPORT),
      '```',
    ]),
  ].join('\n');
  process.stdout.write(`${table}\n`);
  prependResult(RESULTS, section);
  progress(`results added to ${RESULTS}`);
  if (failures.length > 0) process.exitCode = 1;
}

try {
  main();
} catch (error: unknown) {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
