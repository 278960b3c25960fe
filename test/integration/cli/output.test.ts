/**
 * printAnswer writes to file descriptor 1 itself. Through a pipe whose reader is slow, a
 * non-blocking pipe that fills up, or a pipe nobody reads any more, the answer must arrive
 * whole or the process end quietly: never a lost tail, never a stack trace.
 */
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';

const OUTPUT = join(__dirname, '..', '..', '..', 'dist', 'cli', 'output.js');
const SIZE = 1 << 20; // far more than a pipe holds (64 KiB)
const PRINT = `require(${JSON.stringify(OUTPUT)}).printAnswer('x'.repeat(${SIZE}))`;

/** Run `node -e PRINT`, start reading its output only after `delayMs`; output and exit code. */
function readSlowly(delayMs: number): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', PRINT], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pause();
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    setTimeout(() => child.stdout.resume(), delayMs);
    child.on('error', reject);
    child.on('close', (code) => resolve({ out: Buffer.concat(chunks).toString(), code }));
  });
}

describe('printAnswer', () => {
  it('writes the whole answer and its newline through a pipe its reader drains late', async () => {
    const { out, code } = await readSlowly(300);
    expect(code).toBe(0);
    expect(out.length).toBe(SIZE + 1);
    expect(out).toBe(`${'x'.repeat(SIZE)}\n`);
  });

  it('hands the rest to process.stdout when a non-blocking pipe is full', () => {
    // Python makes the pipe non-blocking (Node cannot), and reads it only after a pause.
    const script = [
      'import os, fcntl, subprocess, sys, time',
      'r, w = os.pipe()',
      'fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)',
      'child = subprocess.Popen([sys.argv[1], "-e", sys.argv[2]], stdout=w)',
      'os.close(w)',
      'time.sleep(0.3)',
      'data = b""',
      'while True:',
      '    chunk = os.read(r, 65536)',
      '    if not chunk: break',
      '    data += chunk',
      'print(child.wait(), len(data), data == b"x" * int(sys.argv[3]) + b"\\n")',
    ].join('\n');
    const report = execFileSync('python3', ['-c', script, process.execPath, PRINT, String(SIZE)], {
      encoding: 'utf8',
    });
    expect(report.trim()).toBe(`0 ${SIZE + 1} True`);
  });

  it('ends quietly when nobody reads the answer any more', async () => {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>(
      (resolve) => {
        const child = spawn(process.execPath, ['-e', PRINT], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout.destroy(); // the reader is gone before the answer comes
        let err = '';
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        child.on('close', (exit) => resolve({ code: exit, stderr: err }));
      },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
