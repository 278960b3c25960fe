import { poolChecks } from '../../../src/cli/commands/job-process';
import type { PoolCapacity } from '../../../src/registry/pool-table';

const GiB = 1024n ** 3n;

function view(
  name: string,
  quantity: number,
  granularityBytes = GiB,
  largestSessionBricks = quantity,
): PoolCapacity {
  return { name, granularityBytes, quantity, largestSessionBricks };
}

describe('job_process pool checks', () => {
  it('gives each pool its granularity, its total size and its largest buffer in bytes', () => {
    const checks = poolChecks([view('wlm_pool', 4), view('zeta', 300, 2n * GiB, 112)], {});
    expect([...(checks.pools ?? new Map()).entries()]).toEqual([
      ['wlm_pool', { granularityBytes: GiB, totalBytes: 4n * GiB, maxBufferBytes: 4n * GiB }],
      ['zeta', { granularityBytes: 2n * GiB, totalBytes: 600n * GiB, maxBufferBytes: 224n * GiB }],
    ]);
  });

  it('takes the first pool as default, as Slurm does without DefaultPool', () => {
    expect(poolChecks([view('alpha', 1), view('beta', 1)], {}).defaultPool).toBe('alpha');
  });

  it('takes DAC_DEFAULT_POOL as default when it is set', () => {
    const env = { DAC_DEFAULT_POOL: 'beta' };
    expect(poolChecks([view('alpha', 1), view('beta', 1)], env).defaultPool).toBe('beta');
  });

  it('checks no pools when they could not be read or none exist', () => {
    expect(poolChecks(undefined, {})).toEqual({});
    expect(poolChecks([], {})).toEqual({});
    expect(poolChecks(undefined, { DAC_DEFAULT_POOL: 'beta' })).toEqual({ defaultPool: 'beta' });
  });
});
