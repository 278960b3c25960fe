/**
 * Keeps the event history bounded: at start, every hour older than the retention is deleted;
 * then every ten minutes, the hours that have aged out since. Every dacd does it (deleting an
 * hour twice is harmless), so the history is trimmed while any storage host runs.
 */
import type { Logger } from '../logging/logger';
import type { EventLog } from '../registry/event-log';

const EVERY_MS = 10 * 60 * 1000;

export class EventTrim {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly events: EventLog,
    private readonly retentionHours: number,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<void> {
    await this.trim(true);
    this.timer = setInterval(() => void this.trim(false), EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass; a failure is logged and the next pass tries again. */
  async trim(everything: boolean): Promise<void> {
    try {
      const hours = await this.events.trim(
        this.retentionHours * 3600 * 1000,
        this.now(),
        everything,
      );
      if (hours > 0) this.log.info({ hours }, 'old history deleted');
    } catch (error) {
      this.log.warn({ err: error }, 'could not delete old history');
    }
  }
}
