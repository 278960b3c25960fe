import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  pathFileContent,
  pathFileLines,
  PathFileError,
  writeFileAtomically,
  type PathFileSession,
} from '../../../src/cli/path-file';

const brick = { host: 'storage1', device: 'nvme0n1' };

function session(overrides: Partial<PathFileSession> = {}): PathFileSession {
  return {
    token: '1234',
    bricks: [brick],
    accessMode: 'striped',
    persistentAttachments: [],
    ...overrides,
  };
}

describe('path file lines', () => {
  it('gives DW_JOB_STRIPED for a striped job buffer', () => {
    expect(pathFileLines(session(), '/mnt/dw')).toEqual([
      'DW_JOB_STRIPED=/mnt/dw/job/1234/striped/',
    ]);
  });

  it('gives DW_JOB_PRIVATE for a private job buffer', () => {
    expect(pathFileLines(session({ accessMode: 'private' }), '/mnt/dw')).toEqual([
      'DW_JOB_PRIVATE=/mnt/dw/job/1234/private/',
    ]);
  });

  it('gives both, striped first, for striped,private', () => {
    expect(pathFileLines(session({ accessMode: 'striped,private' }), '/mnt/dw')).toEqual([
      'DW_JOB_STRIPED=/mnt/dw/job/1234/striped/',
      'DW_JOB_PRIVATE=/mnt/dw/job/1234/private/',
    ]);
  });

  it('gives no job variables for a session without bricks, only its persistent buffers', () => {
    const lines = pathFileLines(
      session({ bricks: [], accessMode: 'striped,private', persistentAttachments: ['p1', 'b_2'] }),
      '/mnt/dw',
    );
    expect(lines).toEqual([
      'DW_PERSISTENT_STRIPED_p1=/mnt/dw/persistent/p1/striped/',
      'DW_PERSISTENT_STRIPED_b_2=/mnt/dw/persistent/b_2/striped/',
    ]);
  });

  it('ends every line with a newline and writes nothing for no lines', () => {
    expect(pathFileContent(['A=1', 'B=2'])).toBe('A=1\nB=2\n');
    expect(pathFileContent([])).toBe('');
  });
});

describe('writeFileAtomically', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dac-path-file-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces an existing file with mode 0644 and leaves no temporary file', () => {
    const path = join(dir, 'path');
    writeFileSync(path, 'OLD=1\nOLDER=2\nOLDEST=3\n', { mode: 0o600 });
    writeFileAtomically(path, 'NEW=1\n');
    expect(readFileSync(path, 'utf8')).toBe('NEW=1\n');
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir)).toEqual(['path']);
  });

  it('fails with one line naming the path when the directory does not exist', () => {
    const path = join(dir, 'missing', 'path');
    const attempt = () => writeFileAtomically(path, 'A=1\n');
    expect(attempt).toThrow(PathFileError);
    expect(attempt).toThrow(`cannot write the path file ${path}: ENOENT`);
  });

  it('leaves no temporary file behind when the rename fails', () => {
    const path = join(dir, 'a-directory');
    mkdirSync(join(path, 'not-empty'), { recursive: true });
    expect(() => writeFileAtomically(path, 'A=1\n')).toThrow(
      `cannot write the path file ${path}: EISDIR`,
    );
    expect(readdirSync(dir)).toEqual(['a-directory']);
  });

  it('writes each time under a new temporary name', () => {
    const path = join(dir, 'path');
    for (let i = 0; i < 20; i += 1) writeFileAtomically(path, `N=${i}\n`);
    expect(readFileSync(path, 'utf8')).toBe('N=19\n');
    expect(readdirSync(dir)).toEqual(['path']);
  });
});
