/**
 * A child process's output as lines, and the last few of them for an error's detail.
 */
import { StringDecoder } from 'node:string_decoder';

/**
 * Cuts a stream's chunks into lines: decoded as UTF-8 across chunk boundaries (a character
 * split between two chunks stays whole), cut at `\n`, without the `\r` of a `\r\n`. The last
 * line comes with {@link end} if the output does not end with a newline.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  write(chunk: Buffer): void {
    this.split(this.decoder.write(chunk));
  }

  end(): void {
    this.split(this.decoder.end());
    if (this.partial !== '') this.emit(this.partial);
    this.partial = '';
  }

  private split(text: string): void {
    if (text === '') return;
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const part of parts) this.emit(part);
  }

  private emit(line: string): void {
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}

/** The last `limit` lines pushed, oldest first. */
export class LineTail {
  private readonly kept: string[] = [];

  constructor(private readonly limit: number) {}

  push(line: string): void {
    if (this.limit <= 0) return;
    this.kept.push(line);
    if (this.kept.length > this.limit) this.kept.shift();
  }

  lines(): string[] {
    return [...this.kept];
  }
}
