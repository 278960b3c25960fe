import {
  MIN_RATE_ELAPSED_MS,
  formatTransfer,
  transferPercent,
  transferRate,
  transferStatus,
} from '../../../../src/cli/dwstat/transfer';
import { GiB } from './fixtures';

const MiB = 1024n ** 2n;
const T = 1_700_000_000; // epoch seconds of the last count

describe('transferPercent', () => {
  it('is the share of the bytes copied, rounded down', () => {
    expect(transferPercent(0n, 0, 4n * GiB, 400)).toBe(0);
    expect(transferPercent((12n * GiB) / 10n, 120, 4n * GiB, 400)).toBe(29); // 29.99...
    expect(transferPercent((12n * GiB) / 10n + 1n, 120, 4n * GiB, 400)).toBe(30);
    expect(transferPercent(4n * GiB - 1n, 399, 4n * GiB, 400)).toBe(99);
    expect(transferPercent(4n * GiB, 400, 4n * GiB, 400)).toBe(100);
  });

  it('is the share of the files when there are no bytes to copy', () => {
    expect(transferPercent(0n, 1, 0n, 3)).toBe(33);
    expect(transferPercent(0n, 1, undefined, 4)).toBe(25);
  });

  it('is 100 when there is nothing to copy, and never above 100', () => {
    expect(transferPercent(0n, 0, 0n, 0)).toBe(100);
    // The sources grew after they were measured.
    expect(transferPercent(5n * GiB, 500, 4n * GiB, 400)).toBe(100);
  });

  it('is unknown without totals', () => {
    expect(transferPercent(10n, 1, undefined, undefined)).toBeUndefined();
  });
});

describe('transferRate', () => {
  const start = (elapsedMs: number) => T * 1000 + 500 - elapsedMs;

  it('is the average from the start to the last count, in bytes per second', () => {
    expect(transferRate(85n * MiB * 10n, start(10_000), T)).toBe(Number(85n * MiB));
    expect(transferRate(1000n, start(3000), T)).toBe(333);
  });

  it('takes the last count in the middle of its second (updatedAt is whole seconds)', () => {
    // Started at T - 9.5 s, counted during second T: 10 s on average.
    expect(transferRate(1000n, (T - 10) * 1000 + 500, T)).toBe(100);
  });

  it('is unknown without a start, or over too short a time', () => {
    expect(transferRate(1000n, undefined, T)).toBeUndefined();
    expect(transferRate(1000n, start(MIN_RATE_ELAPSED_MS - 1), T)).toBeUndefined();
    expect(transferRate(1000n, start(MIN_RATE_ELAPSED_MS), T)).toBe(500);
  });
});

describe('transferStatus', () => {
  it('adds the percentage and the rate, and gives the start in epoch seconds', () => {
    expect(
      transferStatus({
        phase: 'DataIn',
        bytes: GiB,
        files: 100,
        totalBytes: 4n * GiB,
        totalFiles: 400,
        startedAt: start(),
        done: false,
        updatedAt: T,
      }),
    ).toEqual({
      phase: 'DataIn',
      done: false,
      bytes: GiB,
      files: 100,
      totalBytes: 4n * GiB,
      totalFiles: 400,
      percent: 25,
      bytesPerSecond: Number(GiB / 8n),
      startedAt: T - 8,
      updatedAt: T,
    });

    function start(): number {
      return (T - 8) * 1000 + 500; // 8 s before the middle of second T
    }
  });

  it('gives only the counts of a record of an older version', () => {
    expect(
      transferStatus({ phase: 'DataOut', bytes: 5n, files: 1, done: true, updatedAt: T }),
    ).toEqual({ phase: 'DataOut', done: true, bytes: 5n, files: 1, updatedAt: T });
  });
});

describe('formatTransfer', () => {
  const base = { phase: 'DataIn' as const, done: false, updatedAt: T };

  it('says how much of how much, the percentage, the files of how many and the rate', () => {
    expect(
      formatTransfer({
        ...base,
        bytes: (12n * GiB) / 10n,
        files: 120,
        totalBytes: 4n * GiB,
        totalFiles: 400,
        percent: 30,
        bytesPerSecond: 85 * 1024 ** 2,
      }),
    ).toBe('1.2 GiB of 4 GiB, 30%, 120 files of 400, 85 MiB/s');
  });

  it('leaves out a rate it does not know', () => {
    expect(
      formatTransfer({
        ...base,
        bytes: 0n,
        files: 0,
        totalBytes: 512n,
        totalFiles: 2,
        percent: 0,
      }),
    ).toBe('0 B of 512 B, 0%, 0 files of 2');
  });

  it('says "so far" without totals, with the rate when known', () => {
    expect(formatTransfer({ ...base, bytes: 3n * GiB, files: 120 })).toBe(
      '3 GiB in 120 files so far',
    );
    expect(formatTransfer({ ...base, bytes: 3n * GiB, files: 120, bytesPerSecond: 2048 })).toBe(
      '3 GiB in 120 files so far, 2 KiB/s',
    );
  });

  it('gives what it has when only one of the totals is known', () => {
    expect(formatTransfer({ ...base, bytes: 10n, files: 1, totalFiles: 4, percent: 25 })).toBe(
      '10 B, 25%, 1 file of 4',
    );
    expect(formatTransfer({ ...base, bytes: 10n, files: 1, totalBytes: 20n, percent: 50 })).toBe(
      '10 B of 20 B, 50%, 1 file',
    );
  });
});
