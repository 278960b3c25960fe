/**
 * systemd's notification protocol, for dacd run by `packaging/systemd/dacd.service`
 * (`Type=notify`): READY=1 once it serves its host, WATCHDOG=1 while its event loop runs,
 * STOPPING=1 when it stops. Node cannot send a datagram on a unix socket, so each message is
 * sent by systemd's own `systemd-notify` (an argv, never a shell), with `--pid` naming this
 * process as the sender and main pid. systemd-notify waits until systemd has taken the message
 * (its barrier), so none is lost to the helper's exit. Without NOTIFY_SOCKET (dacd not started
 * by systemd) nothing is sent.
 *
 * The watchdog shows what it can honestly show: that the event loop still runs timers. It does
 * not depend on etcd: dacd rides out an etcd outage with its steps running (liveness.ts), and a
 * watchdog restart would abort them.
 */
import { execFile } from 'node:child_process';

/** Sends one message; its arguments are systemd-notify's. */
export interface NotifyChannel {
  send(args: readonly string[]): Promise<void>;
}

/** The channel of the running system: `systemd-notify`, with a deadline. */
export const SYSTEMD_NOTIFY: NotifyChannel = {
  send: (args) =>
    new Promise((resolve, reject) => {
      execFile('systemd-notify', [...args], { timeout: 5000 }, (error, _stdout, stderr) => {
        if (error)
          reject(new Error(`systemd-notify ${args.join(' ')}: ${stderr.trim() || error.message}`));
        else resolve();
      });
    }),
};

export interface ServiceNotifierOptions {
  env?: NodeJS.ProcessEnv;
  channel?: NotifyChannel;
  /** This process's pid (default process.pid). */
  pid?: number;
  /** A message could not be sent: logged, never fatal. */
  onError?: (error: unknown) => void;
}

export class ServiceNotifier {
  private readonly env: NodeJS.ProcessEnv;
  private readonly channel: NotifyChannel;
  private readonly pid: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ServiceNotifierOptions = {}) {
    this.env = options.env ?? process.env;
    this.channel = options.channel ?? SYSTEMD_NOTIFY;
    this.pid = options.pid ?? process.pid;
  }

  /** True when systemd waits for our messages. */
  get enabled(): boolean {
    return (this.env.NOTIFY_SOCKET ?? '') !== '';
  }

  /**
   * How often to send WATCHDOG=1: half of systemd's `WATCHDOG_USEC`, when it is set for this
   * process (`WATCHDOG_PID`, if set, is ours); undefined when there is no watchdog.
   */
  watchdogIntervalMs(): number | undefined {
    if (!this.enabled) return undefined;
    const usec = this.env.WATCHDOG_USEC;
    const pid = this.env.WATCHDOG_PID;
    if (usec === undefined || !/^[1-9][0-9]*$/.test(usec)) return undefined;
    if (pid !== undefined && pid !== String(this.pid)) return undefined;
    return Math.max(1, Math.floor(Number(usec) / 2000));
  }

  /** READY=1 with a status line, then the watchdog's pings if systemd asked for them. */
  async ready(status: string): Promise<void> {
    await this.send(['--ready', `--status=${status}`]);
    const interval = this.watchdogIntervalMs();
    if (interval !== undefined && !this.timer) {
      this.timer = setInterval(() => void this.send(['WATCHDOG=1']), interval);
      this.timer.unref();
    }
  }

  /** STOPPING=1, and no more pings. */
  async stopping(status: string): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.send(['STOPPING=1', `--status=${status}`]);
  }

  private async send(args: string[]): Promise<void> {
    if (!this.enabled) return;
    try {
      await this.channel.send([`--pid=${this.pid}`, ...args]);
    } catch (error) {
      this.options.onError?.(error);
    }
  }
}
