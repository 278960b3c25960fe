/**
 * systemd's notify socket, stood in for by a small perl receiver (notify-socket.pl): what a
 * process started with NOTIFY_SOCKET=`path` sends, one message per entry, its fields by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export type NotifyMessage = Record<string, string>;

export class NotifySocket {
  readonly messages: NotifyMessage[] = [];

  private constructor(
    readonly path: string,
    private readonly child: ChildProcess,
  ) {}

  /** Listen on `path`; resolves once the socket exists. */
  static start(path: string): Promise<NotifySocket> {
    const child = spawn('perl', [join(__dirname, 'notify-socket.pl'), path], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const socket = new NotifySocket(path, child);
    return new Promise((resolve, reject) => {
      let buffered = '';
      let listening = false;
      child.once('error', reject);
      child.once('exit', (code) => {
        if (!listening) reject(new Error(`notify-socket.pl exited with ${code}`));
      });
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) {
          if (!listening && line === 'listening') {
            listening = true;
            resolve(socket);
          } else if (listening) {
            socket.messages.push(
              Object.fromEntries(
                line.split('|').map((field) => {
                  const at = field.indexOf('=');
                  return [field.slice(0, at), field.slice(at + 1)];
                }),
              ),
            );
          }
        }
      });
    });
  }

  /** Wait until a message satisfies `test`, or `timeoutMs` passes. */
  async waitFor(
    test: (message: NotifyMessage) => boolean,
    timeoutMs = 10000,
  ): Promise<NotifyMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(test);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `no such notification within ${timeoutMs} ms: ${JSON.stringify(this.messages)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}
