#!/usr/bin/env node
// Prints jest's results (one or more JSON files) as one plain line, "N passed, M failed[, K
// skipped]", for CI. Exits non-zero when results are missing, something failed, or no test ran.
'use strict';
const { readFileSync } = require('node:fs');

function summarise(file) {
  let results;
  try {
    results = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    console.log(`jest produced no results (${error.message})`);
    return { passed: 0, failed: 1, skipped: 0, ok: false };
  }
  // A suite that failed to load has no test results but counts as a failure.
  const brokenSuites = results.testResults.filter(
    (suite) => suite.status === 'failed' && suite.assertionResults.length === 0,
  ).length;
  const passed = results.numPassedTests;
  const failed = results.numFailedTests + brokenSuites;
  const skipped = results.numPendingTests + results.numTodoTests;
  return { passed, failed, skipped, ok: failed === 0 && passed > 0 && results.success };
}

// Several result files (runs of one suite) are added up.
const runs = process.argv.slice(2).map(summarise);
const total = runs.reduce(
  (sum, run) => ({
    passed: sum.passed + run.passed,
    failed: sum.failed + run.failed,
    skipped: sum.skipped + run.skipped,
  }),
  { passed: 0, failed: 0, skipped: 0 },
);
const { passed, failed, skipped } = total;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (runs.length === 0 || !runs.every((run) => run.ok)) process.exitCode = 1;
