/**
 * The chaos run for ten minutes (CHAOS_MINUTES): runs test/solo/chaos.test.ts
 * through jest (which builds the binaries and starts its etcd) with CHAOS_DURATION_MS set,
 * and adds the report (runs, kills, calls, invariant checks, violations) to the top of
 * bench/RESULTS.md. Exits 1 if the run failed.
 *
 * Run with `npm run bench:chaos`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChaosReport } from '../test/support/chaos';
import { machineFacts, markdownTable, prependResult } from './report';

const ROOT = resolve(__dirname, '..', '..', '..');
const RESULTS = join(ROOT, 'bench', 'RESULTS.md');
const MINUTES = Number(process.env.CHAOS_MINUTES ?? 10);

function main(): number {
  const dir = mkdtempSync(join(tmpdir(), 'dac-bench-chaos-'));
  const reportFile = join(dir, 'report.json');
  const started = Date.now();
  const jest = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), 'test/solo/chaos.test.ts'],
    {
      cwd: ROOT,
      stdio: 'inherit',
      env: {
        ...process.env,
        CHAOS_DURATION_MS: String(Math.round(MINUTES * 60000)),
        CHAOS_REPORT_FILE: reportFile,
      },
    },
  );
  const wallSeconds = Math.round((Date.now() - started) / 1000);
  if (!existsSync(reportFile)) {
    process.stderr.write('chaos run ended without a report (see the jest output above)\n');
    rmSync(dir, { recursive: true, force: true });
    return 1;
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as ChaosReport;
  rmSync(dir, { recursive: true, force: true });
  const passed = jest.status === 0;
  const facts = machineFacts(process.execPath, process.env.ETCD_BINARY ?? 'etcd');
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const rows = [
    ['kills: dacd (kill -9, restarted)', String(report.kills.dacd)],
    ['kills: etcd members (kill -9, restarted)', String(report.kills.etcd)],
    ['CLI calls made', String(report.calls.made)],
    ['CLI calls killed part-way (then retried)', String(report.calls.killed)],
    ['CLI calls that failed (then retried)', String(report.calls.failed)],
    ['job lifecycles completed', String(report.lifecycles.completed)],
    ['jobs torn down before their end', String(report.lifecycles.tornDownEarly)],
    ['invariant checks (from etcd)', String(report.invariantChecks)],
    ['invariant violations', String(report.violations.length)],
    ['sessions left at the end', String(report.leftSessions.length)],
    ['files left on bricks or mount root', String(report.leftFiles.length)],
  ];
  const section = [
    `## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} chaos run`,
    '',
    `- Machine: ${facts.cpus} × ${facts.model.split(' ').slice(0, 2).join(' ')}, ${facts.memory} RAM, ${facts.kernel}.`,
    `- Software: node ${facts.node}, etcd ${facts.etcd}, commit ${commit.stdout.trim()} (plus any uncommitted changes).`,
    `- \`npm run bench:chaos\`: ${MINUTES} min of kills (seed ${report.seed}), ${wallSeconds} s in all; 3 etcd members, 3 dacd × 4 bricks, 4 job streams; ${passed ? 'passed' : 'FAILED'}.`,
    '',
    markdownTable(['what', 'count'], rows, [false, true]),
    ...(report.violations.length > 0
      ? ['', 'First violations:', '', ...report.violations.slice(0, 10).map((v) => `- ${v}`)]
      : []),
  ].join('\n');
  prependResult(RESULTS, section);
  process.stdout.write(`${section}\n\nresults added to ${RESULTS}\n`);
  return passed ? 0 : 1;
}

process.exitCode = main();
