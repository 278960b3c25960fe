import { parseJobScript, type PoolInfo } from '../../../src/directives';

const GiB = 1024n ** 3n;
const TiB = 1024n ** 4n;
const pools = new Map<string, PoolInfo>([
  ['wlm_pool', { granularityBytes: GiB, totalBytes: 4n * TiB }],
  ['alt_pool', { granularityBytes: 16n * GiB }],
]);

function job(...lines: string[]): string {
  return ['#!/bin/bash', ...lines, 'srun ./app', ''].join('\n');
}

describe('parseJobScript with pools', () => {
  it('rounds the capacity up to the pool granularity (1500MB in 1 GiB granules is 2 GiB)', () => {
    const result = parseJobScript(job('#DW jobdw capacity=1500MB pool=wlm_pool'), { pools });
    expect(result).toEqual({
      directives: [
        {
          kind: 'jobdw',
          line: 2,
          capacityBytes: 1_500_000_000n,
          accessMode: 'striped',
          type: 'scratch',
          pool: 'wlm_pool',
          roundedCapacityBytes: 2n * GiB,
        },
      ],
      issues: [],
    });
  });

  it('uses the default pool when the directive names none', () => {
    const result = parseJobScript(job('#DW jobdw capacity=17GiB'), {
      pools,
      defaultPool: 'alt_pool',
    });
    expect(result.issues).toEqual([]);
    expect(result.directives).toEqual([
      expect.objectContaining({ roundedCapacityBytes: 32n * GiB }),
    ]);
  });

  it('rounds create_persistent capacity too', () => {
    const result = parseJobScript(job('#BB create_persistent name=p capacity=1 pool=wlm_pool'), {
      pools,
    });
    expect(result.issues).toEqual([]);
    expect(result.directives).toEqual([expect.objectContaining({ roundedCapacityBytes: GiB })]);
  });

  it('rejects an unknown pool and lists the known ones', () => {
    const result = parseJobScript(job('#DW jobdw capacity=1GiB pool=fast'), { pools });
    expect(result.issues).toEqual([
      {
        line: 2,
        directive: '#DW jobdw',
        code: 'unknown_pool',
        message: 'pool=fast: unknown pool; known pools: wlm_pool, alt_pool',
      },
    ]);
  });

  it('rejects a default pool that does not exist', () => {
    const result = parseJobScript(job('#DW jobdw capacity=1GiB'), { pools, defaultPool: 'gone' });
    expect(result.issues.map((issue) => [issue.line, issue.code, issue.message])).toEqual([
      [
        2,
        'unknown_pool',
        'the default pool "gone" does not exist; known pools: wlm_pool, alt_pool',
      ],
    ]);
  });

  it('rejects a capacity larger than the whole pool, in numbers', () => {
    const result = parseJobScript(job('#DW jobdw capacity=5TB pool=wlm_pool'), { pools });
    expect(result.issues).toEqual([
      {
        line: 2,
        directive: '#DW jobdw',
        code: 'exceeds_pool',
        message: 'capacity 4.5 TiB is more than pool wlm_pool holds in total (4 TiB)',
      },
    ]);
  });

  it('mentions the rounding when it changes the size shown', () => {
    const small = new Map<string, PoolInfo>([
      ['p', { granularityBytes: 4n * GiB, totalBytes: 4n * GiB }],
    ]);
    const result = parseJobScript(job('#DW jobdw capacity=4100MiB pool=p'), { pools: small });
    expect(result.issues.map((issue) => issue.message)).toEqual([
      'capacity 4 GiB (8 GiB in whole granules) is more than pool p holds in total (4 GiB)',
    ]);
  });

  it('rejects a capacity larger than one buffer can have, for jobdw and create_persistent', () => {
    const big = new Map<string, PoolInfo>([
      ['big', { granularityBytes: TiB, totalBytes: 16000n * TiB, maxBufferBytes: 112n * TiB }],
    ]);
    const message =
      'capacity 113 TiB is more than one buffer of pool big can have (112 TiB: a buffer is one ' +
      'etcd transaction, which bounds its number of bricks); ask for at most that';
    const result = parseJobScript(
      job(
        '#DW jobdw capacity=113TiB pool=big',
        '#BB create_persistent name=huge capacity=113TiB pool=big',
      ),
      { pools: big },
    );
    expect(result.issues).toEqual([
      { line: 2, directive: '#DW jobdw', code: 'exceeds_buffer_limit', message },
      { line: 3, directive: '#BB create_persistent', code: 'exceeds_buffer_limit', message },
    ]);
    const fits = parseJobScript(job('#DW jobdw capacity=112TiB pool=big'), { pools: big });
    expect(fits.issues).toEqual([]);
  });

  it('accepts a capacity equal to the whole pool', () => {
    const result = parseJobScript(job('#DW jobdw capacity=4TiB pool=wlm_pool'), { pools });
    expect(result.issues).toEqual([]);
  });

  it('does not check pools when none are given', () => {
    const result = parseJobScript(job('#DW jobdw capacity=1GiB pool=anything'));
    expect(result.issues).toEqual([]);
    expect(result.directives).toEqual([expect.not.objectContaining({ roundedCapacityBytes: 1n })]);
    expect(result.directives[0]).not.toHaveProperty('roundedCapacityBytes');
  });
});
