/**
 * The counts of a copy and their throttled reports, on a fake clock.
 */
import type { TransferProgress } from '../../../src/pfsprovider/provider';
import { CopyProgress, PROGRESS_INTERVAL_MS } from '../../../src/pfsprovider/stage/copy-progress';

describe('CopyProgress', () => {
  let reports: TransferProgress[];
  let progress: CopyProgress;

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    reports = [];
    progress = new CopyProgress((p) => reports.push(p));
  });

  afterEach(() => jest.useRealTimers());

  it('reports the first file at once, then at most once per interval', () => {
    progress.count(10);
    progress.count(20);
    jest.setSystemTime(1_000_000 + PROGRESS_INTERVAL_MS - 1);
    progress.count(30);
    expect(reports).toEqual([{ files: 1, bytes: 10 }]);
    jest.setSystemTime(1_000_000 + PROGRESS_INTERVAL_MS);
    progress.count(0);
    expect(reports).toEqual([
      { files: 1, bytes: 10 },
      { files: 4, bytes: 60 },
    ]);
  });

  it('counts the bytes a failed copy left behind, but not as a file', () => {
    progress.count(5);
    progress.countLeftBehind(100);
    expect(progress.report()).toEqual({ files: 1, bytes: 105 });
  });

  it('reports the counts on demand, however recent the last report', () => {
    progress.count(1);
    progress.count(2);
    expect(progress.report()).toEqual({ files: 2, bytes: 3 });
    expect(progress.report()).toEqual({ files: 2, bytes: 3 });
    expect(reports).toEqual([
      { files: 1, bytes: 1 },
      { files: 2, bytes: 3 },
      { files: 2, bytes: 3 },
    ]);
  });

  it('reports nothing before anything is counted', () => {
    progress.countLeftBehind(7);
    expect(reports).toEqual([]);
  });
});
