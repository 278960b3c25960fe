/**
 * The chaos run, short (45 s of kills; `npm run bench:chaos` runs it for ten minutes): job
 * lifecycles while dacd processes, etcd members and CLI calls are killed at random, then the
 * invariants (test/support/chaos.ts). CHAOS_SEED repeats a run (every failure names its
 * seed); CHAOS_DURATION_MS sets the length; CHAOS_REPORT_FILE receives the report as JSON.
 */
import { writeFileSync } from 'node:fs';
import { runChaos } from '../support/chaos';

const DURATION_MS = Number(process.env.CHAOS_DURATION_MS ?? 45000);

it(
  'loses nothing and leaves nothing behind when processes are killed at random',
  async () => {
    const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : undefined;
    const report = await runChaos({
      durationMs: DURATION_MS,
      ...(seed !== undefined ? { seed } : {}),
    });
    if (process.env.CHAOS_REPORT_FILE) {
      writeFileSync(process.env.CHAOS_REPORT_FILE, JSON.stringify(report, null, 2));
    }
    const outcome = {
      seed: report.seed,
      violations: report.violations.slice(0, 10),
      leftSessions: report.leftSessions,
      leftFiles: report.leftFiles,
    };
    expect(outcome).toEqual({ seed: report.seed, violations: [], leftSessions: [], leftFiles: [] });
    // The run did what it is for: kills of each kind, and jobs that ran through them.
    const minutes = DURATION_MS / 60000;
    expect(report.kills.dacd).toBeGreaterThanOrEqual(Math.floor(4 * minutes));
    expect(report.kills.etcd).toBeGreaterThanOrEqual(Math.floor(4 * minutes));
    expect(report.calls.killed).toBeGreaterThanOrEqual(1);
    expect(report.lifecycles.completed).toBeGreaterThanOrEqual(Math.floor(10 * minutes));
    expect(report.invariantChecks).toBeGreaterThanOrEqual(Math.floor(10 * minutes));
  },
  DURATION_MS + 240000,
);
