/**
 * Writing the answer: straight to file descriptor 1 with blocking writes, so that it is all
 * out when the call returns and the process can end without `process.exit`.
 *
 * Not through `process.stdout`: creating that stream for a pipe costs 1–4 ms, a few per cent
 * of a call Slurm makes every 30 s. If the descriptor turns out to be non-blocking and full
 * (EAGAIN), the rest goes through `process.stdout`, which waits for the reader.
 */
import { writeSync } from 'node:fs';

/** The reader has gone (or there never was one): nothing can be printed, and nobody to tell. */
const NO_READER = new Set(['EPIPE', 'EBADF']);

/** Print the answer (adds the final newline). */
export function printAnswer(text: string): void {
  const bytes = Buffer.from(text.endsWith('\n') ? text : `${text}\n`);
  let offset = 0;
  try {
    while (offset < bytes.length) offset += writeSync(1, bytes, offset);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (NO_READER.has(code)) return;
    if (code !== 'EAGAIN') throw error;
    process.stdout.write(bytes.subarray(offset));
  }
}
