#!/usr/bin/env node
// Prints jest's result as one plain line, "N passed, M failed[, K skipped]", for CI.
// Exits non-zero when the results are missing, something failed, or no test ran.
'use strict';
const { readFileSync } = require('node:fs');

function summarise(file) {
  let results;
  try {
    results = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    console.log(`jest produced no results (${error.message})`);
    return { line: '0 passed, 1 failed', ok: false };
  }
  // A suite that failed to load has no test results but counts as a failure.
  const brokenSuites = results.testResults.filter(
    (suite) => suite.status === 'failed' && suite.assertionResults.length === 0,
  ).length;
  const passed = results.numPassedTests;
  const failed = results.numFailedTests + brokenSuites;
  const skipped = results.numPendingTests + results.numTodoTests;
  return {
    line: `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`,
    ok: failed === 0 && passed > 0 && results.success,
  };
}

const { line, ok } = summarise(process.argv[2]);
console.log(line);
if (!ok) process.exitCode = 1;
