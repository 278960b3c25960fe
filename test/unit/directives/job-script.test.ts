import { extractDirectiveLines } from '../../../src/directives';

describe('extractDirectiveLines', () => {
  it('keeps #DW and #BB lines with their line numbers and skips other comments', () => {
    const script = [
      '#!/bin/bash',
      '#SBATCH -N 2',
      '# DW jobdw capacity=1GiB',
      '#DW jobdw capacity=1GiB',
      '',
      '#BB create_persistent name=p1 capacity=1GiB',
      '#BB_LUA pool=x',
      'srun hostname',
      '#DW persistentdw name=late',
    ].join('\n');
    expect(extractDirectiveLines(script)).toEqual({
      lines: [
        { line: 4, prefix: 'DW', text: ' jobdw capacity=1GiB' },
        { line: 6, prefix: 'BB', text: ' create_persistent name=p1 capacity=1GiB' },
        { line: 7, prefix: 'BB', text: '_LUA pool=x' },
      ],
      issues: [],
    });
  });

  it('drops the leading spaces of a continuation when a space precedes the backslash', () => {
    const script = '#!/bin/sh\n#DW jobdw capacity=1GiB \\\n#DW    access_mode=private\n';
    expect(extractDirectiveLines(script).lines).toEqual([
      { line: 2, prefix: 'DW', text: ' jobdw capacity=1GiB access_mode=private' },
    ]);
  });

  it('keeps the leading spaces of a continuation when no space precedes the backslash', () => {
    const script = '#!/bin/sh\n#DW stage_in source=/data/a\\\n#DW  b.txt\n';
    expect(extractDirectiveLines(script).lines).toEqual([
      { line: 2, prefix: 'DW', text: ' stage_in source=/data/a  b.txt' },
    ]);
  });

  it('joins a path split without spaces', () => {
    const script = '#!/bin/sh\n#DW stage_in source=/data/long\\\n#DW/name.txt\n';
    expect(extractDirectiveLines(script).lines).toEqual([
      { line: 2, prefix: 'DW', text: ' stage_in source=/data/long/name.txt' },
    ]);
  });

  it('joins three continued lines into one logical line numbered by its first line', () => {
    const script =
      '#!/bin/sh\n#DW jobdw \\\n#DW capacity=1GiB \\\n\n#DW pool=a\n#DW persistentdw name=p\n';
    expect(extractDirectiveLines(script).lines).toEqual([
      { line: 2, prefix: 'DW', text: ' jobdw capacity=1GiB pool=a' },
      { line: 6, prefix: 'DW', text: ' persistentdw name=p' },
    ]);
  });

  it('ignores everything after the first NUL byte', () => {
    const script = '#!/bin/bash\n#DW jobdw capacity=1GiB\n\0#DW persistentdw name=p\n';
    expect(extractDirectiveLines(script).lines).toEqual([
      { line: 2, prefix: 'DW', text: ' jobdw capacity=1GiB' },
    ]);
  });

  it('stops at a line of spaces', () => {
    const script = '#!/bin/bash\n   \n#DW jobdw capacity=1GiB\n';
    expect(extractDirectiveLines(script)).toEqual({ lines: [], issues: [] });
  });

  it('stops at a blank CRLF line, as Slurm does', () => {
    const script = '#!/bin/bash\r\n\r\n#DW jobdw capacity=1GiB\r\n';
    expect(extractDirectiveLines(script)).toEqual({ lines: [], issues: [] });
  });

  it('reports a carriage return and removes it from the text', () => {
    const result = extractDirectiveLines('#!/bin/bash\r\n#DW jobdw capacity=1GiB\r\n');
    expect(result.lines).toEqual([{ line: 2, prefix: 'DW', text: ' jobdw capacity=1GiB' }]);
    expect(result.issues).toEqual([
      {
        line: 2,
        directive: '#DW jobdw',
        code: 'carriage_return',
        message:
          'the line ends with a carriage return (Windows line endings); convert the script with dos2unix',
      },
    ]);
  });

  it('reports a carriage return on a continuation at the first line of its directive', () => {
    const result = extractDirectiveLines('#!/bin/sh\n#DW jobdw \\\n#DW capacity=1GiB\r\n');
    expect(result.lines).toEqual([{ line: 2, prefix: 'DW', text: ' jobdw capacity=1GiB' }]);
    expect(result.issues).toEqual([
      {
        line: 2,
        directive: '#DW jobdw',
        code: 'carriage_return',
        message:
          'its continuation on line 3 ends with a carriage return (Windows line endings); convert the script with dos2unix',
      },
    ]);
  });

  it('reports a #DW line continued on a #BB line and keeps both lines', () => {
    const result = extractDirectiveLines(
      '#!/bin/sh\n#DW jobdw capacity=1GiB \\\n#BB destroy_persistent name=p\n',
    );
    expect(result.lines).toEqual([
      { line: 2, prefix: 'DW', text: ' jobdw capacity=1GiB ' },
      { line: 3, prefix: 'BB', text: ' destroy_persistent name=p' },
    ]);
    expect(result.issues).toEqual([
      {
        line: 3,
        directive: '#DW jobdw',
        code: 'mixed_continuation',
        message: 'a #DW line (line 2) cannot continue on a #BB line',
      },
    ]);
  });

  it('reports a continuation with nothing to continue on', () => {
    const result = extractDirectiveLines('#!/bin/sh\n#DW jobdw capacity=1GiB \\\necho hi\n');
    expect(result.lines).toEqual([{ line: 2, prefix: 'DW', text: ' jobdw capacity=1GiB ' }]);
    expect(result.issues.map((issue) => [issue.line, issue.code])).toEqual([
      [2, 'unterminated_continuation'],
    ]);
  });
});
