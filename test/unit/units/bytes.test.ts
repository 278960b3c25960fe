import { ceilDiv, formatBytes } from '../../../src/units/bytes';

describe('formatBytes', () => {
  it.each([
    [0n, '0 B'],
    [512n, '512 B'],
    [1024n, '1 KiB'],
    [1536n, '1.5 KiB'],
    [1073741824n, '1 GiB'],
    [1717986918400n, '1.6 TiB'],
    [8589934592000n, '7.8 TiB'],
    [1048575n, '1 MiB'],
    [2n ** 60n * 3n, '3 EiB'],
  ])('formats %s as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('accepts plain numbers', () => {
    expect(formatBytes(2048)).toBe('2 KiB');
  });
});

describe('ceilDiv', () => {
  it('rounds up partial granules', () => {
    expect(ceilDiv(1500n * 1000n * 1000n, 1073741824n)).toBe(2n);
    expect(ceilDiv(0n, 1073741824n)).toBe(0n);
    expect(ceilDiv(1073741824n, 1073741824n)).toBe(1n);
  });
  it('rejects a zero denominator', () => {
    expect(() => ceilDiv(1n, 0n)).toThrow(RangeError);
  });
});
