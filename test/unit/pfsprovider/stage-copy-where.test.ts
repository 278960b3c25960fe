/**
 * The paths of a copy step: real ones for the copy, and as the user wrote them for messages.
 */
import { childPath, trimSlashes, Where } from '../../../src/pfsprovider/stage/copy-where';

const transfer = {
  type: 'directory' as const,
  source: '/real/home/data',
  destination: '/real/buffer/in/',
  request: { type: 'directory' as const, source: '~/data', destination: '$DW_JOB_STRIPED/in/' },
};

describe('Where', () => {
  it('keeps both paths of a transfer', () => {
    const where = Where.of(transfer);
    expect([where.source, where.destination]).toEqual(['/real/home/data', '/real/buffer/in/']);
    expect([where.sourceWritten, where.destinationWritten]).toEqual([
      '~/data',
      '$DW_JOB_STRIPED/in/',
    ]);
  });

  it('gives entries deep in a tree both paths, on both sides', () => {
    const deep = Where.of(transfer).child('a').child('b.dat');
    expect([deep.source, deep.destination]).toEqual([
      '/real/home/data/a/b.dat',
      '/real/buffer/in/a/b.dat',
    ]);
    expect([deep.sourceWritten, deep.destinationWritten]).toEqual([
      '~/data/a/b.dat',
      '$DW_JOB_STRIPED/in/a/b.dat',
    ]);
  });

  it('puts the written paths of entries together from their parent as it is then', () => {
    const root = Where.of(transfer);
    const child = root.child('x');
    root.sourceWritten = '~/data-trimmed';
    root.destinationWritten = '$DW_JOB_STRIPED/in';
    expect(child.sourceWritten).toBe('~/data-trimmed/x');
    expect(child.destinationWritten).toBe('$DW_JOB_STRIPED/in/x');
  });
});

describe('childPath and trimSlashes', () => {
  it('joins with exactly one slash', () => {
    expect(childPath('/a', 'b')).toBe('/a/b');
    expect(childPath('/a/', 'b')).toBe('/a/b');
    expect(childPath('/', 'b')).toBe('/b');
  });

  it('drops trailing slashes but keeps the root', () => {
    expect(trimSlashes('/a/b//')).toBe('/a/b');
    expect(trimSlashes('/a/b')).toBe('/a/b');
    expect(trimSlashes('///')).toBe('/');
    expect(trimSlashes('$DW_JOB_STRIPED/')).toBe('$DW_JOB_STRIPED');
  });
});
